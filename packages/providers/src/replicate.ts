/**
 * replicate: Replicate's predictions API, or a Replicate-compatible proxy (spec 003).
 *
 * Wire format:
 * - `POST {baseUrl}/v1/models/{owner}/{name}/predictions` with `Authorization: Bearer …` and
 *   `{ input: {...} }`. Spec 003's proxy puts `/replicate` before `/v1`: its base URL ends in
 *   `/replicate`. `Prefer: wait=N` asks the server to hold the answer until the prediction ends.
 * - The answer is a prediction: `id`, `status` (`starting` → `processing` → `succeeded` | `failed` |
 *   `canceled` | `aborted`), `output` (a URL or an array of URLs), `error`, `urls.get`, `urls.cancel`.
 *   We keep only the id and rebuild `/v1/predictions/{id}` from our own base URL: a provider URL is
 *   never followed to another host (it could point anywhere, and would carry our token there).
 * - Spec 003's "response example" is OpenAI-style instead: `{ created, data: [{ url }] }`. We
 *   accept it as a prediction that ended at once.
 * - Errors are problem details (`{ title, detail, status }`); 429 comes with `Retry-After`.
 */
import { randomUUID } from 'node:crypto';
import type {
  CallContext,
  OperationSpec,
  Provider,
  ProviderOutput,
  SubmitResult,
  TaskStatus,
} from '@genqueue/core';
import { ProviderError, parseRetryAfter } from '@genqueue/core';
import { z } from 'zod';
import {
  type AdapterIoOptions,
  asRecord,
  classOfStatus,
  clip,
  createHttpClient,
  header,
  type JsonResponse,
  malformed,
  type ProviderTimeouts,
} from './internal/http.ts';
import { base64ToDataUrl, toImageReference } from './internal/images.ts';

const PROVIDER = 'replicate';

/** Replicate's public API origin, the default base URL. */
export const REPLICATE_DEFAULT_BASE_URL = 'https://api.replicate.com';

/** Task ids of answers that ended at once without a prediction id (OpenAI-style answers). */
const IMMEDIATE_PREFIX = 'immediate-';

/** Options of {@link createReplicateProvider}. */
export interface ReplicateProviderOptions extends AdapterIoOptions {
  /**
   * API base, without `/v1`. Default {@link REPLICATE_DEFAULT_BASE_URL}; for spec 003's proxy,
   * `https://<host>/replicate`. A trailing slash is ignored.
   */
  baseUrl?: string;
  /** API token, sent as `Authorization: Bearer …`. Never logged. */
  apiToken: string;
  /** Connect and request timeouts. Default 10 s to connect, 30 s per request (plus `preferWait`). */
  timeouts?: ProviderTimeouts;
  /**
   * Seconds to hold the submission open with `Prefer: wait=N` (1–60) so a fast prediction answers
   * with its output at once. Default: unset (answer at once, then poll).
   */
  preferWait?: number;
  /**
   * Absolute directory from which local image paths in inputs may be read (sent as data URLs).
   * Default: unset, local paths are refused as `invalid_job`.
   */
  localFileRoot?: string;
  /**
   * More models to expose as operations (`owner/name`), with a permissive schema (`prompt`
   * optional, everything passes through). Default: none.
   */
  extraModels?: readonly string[];
}

/** `aspect_ratio` values of flux-kontext-dev (`match_input_image` is the default). */
export const FLUX_KONTEXT_DEV_ASPECT_RATIOS = [
  'match_input_image',
  '1:1',
  '16:9',
  '9:16',
  '4:3',
  '3:4',
  '3:2',
  '2:3',
  '4:5',
  '5:4',
  '21:9',
  '9:21',
  '2:1',
  '1:2',
] as const;

/** `black-forest-labs/flux-kontext-dev` input (003 body table). Unknown fields pass through. */
export const fluxKontextDevSchema = z
  .object({
    /** Required: the image to generate, or the edit to make to `input_image`. */
    prompt: z.string().trim().min(1),
    /** Required by 003: jpeg, png, gif or webp; an http(s) URL, a data URL, base64 or a local path. */
    input_image: z.string().trim().min(1),
    /** Default `match_input_image`. */
    aspect_ratio: z.enum(FLUX_KONTEXT_DEV_ASPECT_RATIOS).optional(),
    /** 0–10, default 2.5. */
    guidance: z.number().min(0).max(10).optional(),
    /** 4–50, default 28. */
    num_inference_steps: z.number().int().min(4).max(50).optional(),
    /** Default `webp`. */
    output_format: z.enum(['webp', 'jpg', 'png']).optional(),
    /** 0–100, default 80; ignored for png. */
    output_quality: z.number().int().min(0).max(100).optional(),
    /** Default true. */
    go_fast: z.boolean().optional(),
    /** Not in 003's table but accepted by the model on Replicate; random when absent. */
    seed: z.number().int().optional(),
  })
  .passthrough();

/** Schema of models added through `extraModels`: anything goes; the provider validates. */
const genericModelSchema = z.object({ prompt: z.string().min(1).optional() }).passthrough();

/** Operations always present: the model name is the operation name. */
export const replicateOperations = {
  'black-forest-labs/flux-kontext-dev': {
    schema: fluxKontextDevSchema,
    output: 'image',
    description: 'FLUX.1 Kontext [dev] image editing on Replicate (or a Replicate-compatible proxy)',
  },
} as const satisfies Record<string, OperationSpec>;

/** Input fields that hold images and are normalized to URLs or data URLs before submission. */
const IMAGE_FIELDS = ['input_image', 'image', 'mask'];

function messageOf(body: unknown, text: string, fallback: string): string {
  const record = asRecord(body);
  const error = record?.error;
  for (const candidate of [record?.detail, asRecord(error)?.message, error, record?.title, record?.message]) {
    if (typeof candidate === 'string' && candidate.trim()) return clip(candidate.trim());
  }
  return text && !text.trimStart().startsWith('<') ? clip(text.trim()) : fallback;
}

/** Maps a Replicate error answer to a classified error. Pure; table-tested. */
export function replicateErrorFor(
  response: JsonResponse & { text: string },
  now: number = Date.now(),
): ProviderError {
  const errorClass = classOfStatus(response.status);
  const code = asRecord(asRecord(response.body)?.error)?.code;
  return new ProviderError({
    provider: PROVIDER,
    errorClass,
    status: response.status,
    code: typeof code === 'string' && code ? code : `http_${response.status}`,
    message: messageOf(response.body, response.text, `HTTP ${response.status}`),
    retryAfterMs:
      errorClass === 'retry_later'
        ? parseRetryAfter(header(response.headers, 'retry-after'), now)
        : undefined,
  });
}

function outputsOf(output: unknown): ProviderOutput[] {
  const values = Array.isArray(output) ? output : [output];
  return values
    .filter((value): value is string => typeof value === 'string' && /^(https?:|data:)/i.test(value))
    .map((url) => ({ url, kind: 'image' as const }));
}

function predictionError(error: unknown, fallback: string): string {
  if (typeof error === 'string' && error.trim()) return clip(error.trim());
  const message = asRecord(error)?.message;
  return typeof message === 'string' && message.trim() ? clip(message.trim()) : fallback;
}

/** Normalizes a prediction object (`POST` answer, `GET` answer) to a task status. */
export function predictionStatus(prediction: Record<string, unknown>): TaskStatus {
  const providerStatus = typeof prediction.status === 'string' ? prediction.status : 'unknown';
  switch (providerStatus) {
    case 'starting':
      return { state: 'queued', providerStatus };
    case 'succeeded': {
      const outputs = outputsOf(prediction.output);
      if (outputs.length === 0) {
        return {
          state: 'failed',
          providerStatus,
          error: { code: 'no_outputs', message: 'the prediction succeeded without any output URL' },
        };
      }
      return { state: 'succeeded', providerStatus, outputs };
    }
    case 'failed':
      return {
        state: 'failed',
        providerStatus,
        error: { code: 'failed', message: predictionError(prediction.error, 'the prediction failed') },
      };
    // `aborted`: the prediction was stopped by Replicate before it could run (deadline), not by us.
    case 'aborted':
      return {
        state: 'failed',
        providerStatus,
        error: { code: 'aborted', message: predictionError(prediction.error, 'the prediction was aborted') },
      };
    case 'canceled':
      return { state: 'canceled', providerStatus };
    default:
      return { state: 'running', providerStatus };
  }
}

/** Creates the Replicate adapter. Polled; cancel supported; no upload (images go as data URLs). */
export function createReplicateProvider(options: ReplicateProviderOptions): Provider {
  const now = options.now ?? Date.now;
  const preferWait = options.preferWait;
  if (preferWait !== undefined && (!Number.isInteger(preferWait) || preferWait < 1 || preferWait > 60)) {
    throw new RangeError('preferWait must be an integer number of seconds between 1 and 60');
  }
  const http = createHttpClient({
    provider: PROVIDER,
    baseUrl: options.baseUrl ?? REPLICATE_DEFAULT_BASE_URL,
    token: options.apiToken,
    dispatcher: options.dispatcher,
    timeouts: options.timeouts,
    defaultRequestMs: 30_000,
    now,
    logger: options.logger,
  });
  const requestMs = options.timeouts?.requestMs ?? 30_000;
  const errorFor = (response: JsonResponse & { text: string }) => replicateErrorFor(response, now());

  const operations: Record<string, OperationSpec> = { ...replicateOperations };
  for (const model of options.extraModels ?? []) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(model)) throw new RangeError(`extraModels: "${model}" is not owner/name`);
    operations[model] ??= {
      schema: genericModelSchema,
      output: 'image',
      description: `${model} on Replicate`,
    };
  }

  function modelPath(operation: string): string {
    if (!Object.hasOwn(operations, operation)) {
      throw new ProviderError({
        provider: PROVIDER,
        errorClass: 'invalid_job',
        code: 'unknown_operation',
        message: `unknown operation "${operation}" (expected one of ${Object.keys(operations).join(', ')})`,
      });
    }
    const [owner, name] = operation.split('/') as [string, string];
    return `/v1/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/predictions`;
  }

  function requirePollable(taskId: string): void {
    if (taskId.startsWith(IMMEDIATE_PREFIX)) {
      throw new ProviderError({
        provider: PROVIDER,
        errorClass: 'invalid_job',
        code: 'not_pollable',
        message: `task ${taskId} ended when it was submitted; there is nothing to poll or cancel`,
      });
    }
  }

  async function prepare(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const prepared = { ...input };
    for (const field of IMAGE_FIELDS) {
      const value = prepared[field];
      if (typeof value === 'string') {
        prepared[field] = await toImageReference(value, {
          provider: PROVIDER,
          field,
          localFileRoot: options.localFileRoot,
        });
      }
    }
    return prepared;
  }

  return {
    name: PROVIDER,
    capabilities: { mode: 'polled', cancel: true, upload: false },
    operations,

    async submit(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<SubmitResult> {
      const path = modelPath(operation);
      const response = await http.call({
        method: 'POST',
        path,
        body: { input: await prepare(input) },
        headers: preferWait ? { prefer: `wait=${preferWait}` } : undefined,
        requestMs: requestMs + (preferWait ?? 0) * 1000,
        signal: ctx.signal,
        mayCreate: true,
        errorFor,
      });
      const body = asRecord(response.body);
      if (body && Array.isArray(body.data) && body.id === undefined) {
        // 003's response example: an OpenAI-style answer that already holds the images.
        const outputs = body.data.flatMap((item): ProviderOutput[] => {
          const record = asRecord(item);
          if (typeof record?.url === 'string' && record.url) return [{ url: record.url, kind: 'image' }];
          if (typeof record?.b64_json === 'string' && record.b64_json) {
            return [{ url: base64ToDataUrl(record.b64_json), kind: 'image' }];
          }
          return [];
        });
        const taskId = `${IMMEDIATE_PREFIX}${randomUUID()}`;
        if (outputs.length === 0) {
          return {
            taskId,
            status: {
              state: 'failed',
              providerStatus: 'succeeded',
              error: { code: 'no_outputs', message: 'the answer held no image URL' },
            },
          };
        }
        return { taskId, status: { state: 'succeeded', providerStatus: 'succeeded', outputs } };
      }
      if (!body || typeof body.id !== 'string' || body.id === '') {
        throw malformed(PROVIDER, 'no prediction id in the submission answer', response.status, true);
      }
      const status = predictionStatus(body);
      const ended = status.state !== 'queued' && status.state !== 'running';
      return ended ? { taskId: body.id, status } : { taskId: body.id };
    },

    async status(operation: string, taskId: string, ctx: CallContext): Promise<TaskStatus> {
      modelPath(operation);
      requirePollable(taskId);
      const response = await http.call({
        method: 'GET',
        path: `/v1/predictions/${encodeURIComponent(taskId)}`,
        signal: ctx.signal,
        mayCreate: false,
        errorFor,
      });
      const body = asRecord(response.body);
      if (!body || typeof body.status !== 'string') {
        throw malformed(PROVIDER, 'no status in the prediction', response.status);
      }
      return predictionStatus(body);
    },

    async cancel(operation: string, taskId: string, ctx: CallContext): Promise<void> {
      modelPath(operation);
      // An immediate answer has already ended: nothing to cancel.
      if (taskId.startsWith(IMMEDIATE_PREFIX)) return;
      await http.call({
        method: 'POST',
        path: `/v1/predictions/${encodeURIComponent(taskId)}/cancel`,
        signal: ctx.signal,
        mayCreate: false,
        errorFor,
      });
    },

    close: () => http.close(),
  };
}
