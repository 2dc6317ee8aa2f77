/**
 * replicate: Replicate's predictions API, or a Replicate-compatible proxy (spec 003).
 *
 * Wire format:
 * - `POST {baseUrl}/v1/models/{owner}/{name}/predictions` with `Authorization: Bearer …` and
 *   `{ input: {...} }`. Spec 003's proxy puts `/replicate` before `/v1`: its base URL ends in
 *   `/replicate`. `Prefer: wait=N` asks the server to hold the answer until the prediction ends.
 * - The answer is a prediction: `id`, `status` (`starting` → `processing` → `succeeded` | `failed` |
 *   `canceled` | `aborted`), `output` (a URL or an array of URLs), `error`, `urls.get`, `urls.cancel`.
 *   003 documents only the creation path and these `urls`, so status and cancel follow the
 *   prediction's own `urls.get` / `urls.cancel` (a proxy may keep predictions under a path of its
 *   own). They are followed only on the base URL's origin: a URL on another host could point
 *   anywhere and would carry our token there, so then we fall back to `{base}/v1/predictions/{id}`.
 *   When the urls differ from that default they travel inside the task id (see `encodeTaskId`).
 * - 003's proxy may answer synchronously, holding the creation request until the images exist. The
 *   submission therefore gets a long deadline of its own (`submitTimeoutMs`, default 5 min), and a
 *   submission whose answer was lost (timeout, reset, cut or malformed body, 502/504 from a gateway)
 *   is never sent again: the prediction may exist and be paid, so the job fails with a reason that
 *   says so (code `submission_unconfirmed`).
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
} from '@genqueue/model';
import { ProviderError, parseRetryAfter } from '@genqueue/model';
import {
  type AdapterIoOptions,
  asRecord,
  classifyStatus,
  clip,
  createHttpClient,
  type HttpTimeouts,
  header,
  type JsonResponse,
  malformed,
} from '@genqueue/provider-http';
import { z } from 'zod';
import { base64ToDataUrl, toImageReference } from './internal/images.ts';

const PROVIDER = 'replicate';

/** Replicate's public API origin, the default base URL. */
export const REPLICATE_DEFAULT_BASE_URL = 'https://api.replicate.com';

/** Default submission deadline, in ms (see `submitTimeoutMs`). */
export const REPLICATE_DEFAULT_SUBMIT_TIMEOUT_MS = 5 * 60_000;

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
  timeouts?: HttpTimeouts;
  /**
   * Deadline of a submission request, in ms. Default {@link REPLICATE_DEFAULT_SUBMIT_TIMEOUT_MS}
   * (5 min): 003's proxy answers synchronously, when the generation has ended, so the submission
   * must outlast the longest generation (and any `preferWait`). A submission that runs out of it
   * fails its job as `submission_unconfirmed` instead of being sent again.
   */
  submitTimeoutMs?: number;
  /**
   * Seconds to hold the submission open with `Prefer: wait=N` (1–60) so a fast prediction answers
   * with its output at once. Default: unset (answer at once, then poll).
   */
  preferWait?: number;
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
    /** Required by 003: jpeg, png, gif or webp; an http(s) URL, a data URL or base64. */
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

/** The operations, one per model: the model name is the operation name. */
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
  const { errorClass, limit } = classifyStatus(response.status);
  const code = asRecord(asRecord(response.body)?.error)?.code;
  return new ProviderError({
    provider: PROVIDER,
    errorClass,
    limit,
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

/** Where a prediction is read and canceled: paths (with query) on the base URL's origin. */
export interface PredictionPaths {
  id: string;
  get: string;
  cancel: string;
}

/**
 * The task id of a prediction: its plain id when its urls are the default ones
 * (`{basePath}/v1/predictions/{id}[/cancel]`), else `{id};get=…&cancel=…` so the poller, which
 * only keeps the task id, still follows the prediction's own urls.
 */
export function encodeTaskId(paths: PredictionPaths, basePath: string): string {
  const fallback = defaultPaths(paths.id, basePath);
  if (paths.get === fallback.get && paths.cancel === fallback.cancel) return paths.id;
  return `${paths.id};${new URLSearchParams({ get: paths.get, cancel: paths.cancel }).toString()}`;
}

/** Inverse of {@link encodeTaskId}. */
export function decodeTaskId(taskId: string, basePath: string): PredictionPaths {
  const split = taskId.indexOf(';');
  if (split < 0) return defaultPaths(taskId, basePath);
  const id = taskId.slice(0, split);
  const params = new URLSearchParams(taskId.slice(split + 1));
  const fallback = defaultPaths(id, basePath);
  const path = (value: string | null, other: string) => (value?.startsWith('/') ? value : other);
  return {
    id,
    get: path(params.get('get'), fallback.get),
    cancel: path(params.get('cancel'), fallback.cancel),
  };
}

function defaultPaths(id: string, basePath: string): PredictionPaths {
  const get = `${basePath}/v1/predictions/${encodeURIComponent(id)}`;
  return { id, get, cancel: `${get}/cancel` };
}

/**
 * The path (with query) of a provider-given URL when it is on `origin`, else undefined: our token
 * never goes to another host.
 */
function sameOriginPath(value: unknown, origin: string): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    const url = new URL(value, origin);
    return url.origin === origin ? `${url.pathname}${url.search}` : undefined;
  } catch {
    return undefined;
  }
}

/** HTTP statuses a gateway answers when it gave up waiting: the request may still have created a task. */
const GATEWAY_GAVE_UP = new Set([502, 504]);

/**
 * A submission whose outcome is unknown becomes a job failure: sending it again could create (and
 * pay for) a second prediction. Other errors pass through.
 */
function unconfirmed(error: unknown, submitTimeoutMs: number): unknown {
  if (!(error instanceof ProviderError) || error.errorClass !== 'transient') return error;
  const gaveUp = error.status !== undefined && GATEWAY_GAVE_UP.has(error.status);
  if (!error.ambiguous && !gaveUp) return error;
  return new ProviderError({
    provider: PROVIDER,
    // invalid_job: the queue fails the job for good, which is what an unconfirmed paid call needs.
    errorClass: 'invalid_job',
    status: error.status,
    code: 'submission_unconfirmed',
    message:
      `${error.message}. The prediction may have been created (and charged) without its answer reaching us, ` +
      `so it was not submitted again; check the provider's dashboard before resubmitting. ` +
      `A synchronous proxy answers only when the images exist: raise REPLICATE_SUBMIT_TIMEOUT_MS ` +
      `(now ${submitTimeoutMs} ms) if its generations take longer.`,
    ambiguous: true,
    cause: error,
  });
}

/** Creates the Replicate adapter. Polled; cancel supported; no upload (images go as data URLs). */
export function createReplicateProvider(options: ReplicateProviderOptions): Provider {
  const now = options.now ?? Date.now;
  const preferWait = options.preferWait;
  if (preferWait !== undefined && (!Number.isInteger(preferWait) || preferWait < 1 || preferWait > 60)) {
    throw new RangeError('preferWait must be an integer number of seconds between 1 and 60');
  }
  const submitTimeoutMs = options.submitTimeoutMs ?? REPLICATE_DEFAULT_SUBMIT_TIMEOUT_MS;
  if (!Number.isInteger(submitTimeoutMs) || submitTimeoutMs < 1) {
    throw new RangeError('submitTimeoutMs must be a positive integer number of ms');
  }
  // One client on the base URL's origin: submissions go below the base path, status and cancel to
  // the prediction's own urls (same origin only).
  const base = new URL((options.baseUrl ?? REPLICATE_DEFAULT_BASE_URL).replace(/\/+$/, ''));
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, '');
  const http = createHttpClient({
    provider: PROVIDER,
    baseUrl: origin,
    headers: { authorization: `Bearer ${options.apiToken}` },
    dispatcher: options.dispatcher,
    timeouts: options.timeouts,
    defaultRequestMs: 30_000,
    now,
    logger: options.logger,
  });
  const errorFor = (response: JsonResponse & { text: string }) => replicateErrorFor(response, now());

  const operations: Record<string, OperationSpec> = replicateOperations;

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
    return `${basePath}/v1/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/predictions`;
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
        prepared[field] = await toImageReference(value, { provider: PROVIDER, field });
      }
    }
    return prepared;
  }

  return {
    name: PROVIDER,
    operations,

    async submit(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<SubmitResult> {
      const path = modelPath(operation);
      let response: JsonResponse;
      try {
        response = await http.call({
          method: 'POST',
          path,
          json: { input: await prepare(input) },
          headers: preferWait ? { prefer: `wait=${preferWait}` } : undefined,
          requestMs: submitTimeoutMs,
          signal: ctx.signal,
          mayCreate: true,
          // The answer may take as long as the generation: the QPS window counts from the send.
          requestSent: ctx.requestSent,
          errorFor,
        });
      } catch (error) {
        throw unconfirmed(error, submitTimeoutMs);
      }
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
        throw unconfirmed(
          malformed(PROVIDER, 'no prediction id in the submission answer', response.status, true),
          submitTimeoutMs,
        );
      }
      const urls = asRecord(body.urls);
      const fallback = defaultPaths(body.id, basePath);
      const get = sameOriginPath(urls?.get, origin) ?? fallback.get;
      const taskId = encodeTaskId(
        { id: body.id, get, cancel: sameOriginPath(urls?.cancel, origin) ?? `${get}/cancel` },
        basePath,
      );
      if (urls?.get !== undefined && sameOriginPath(urls.get, origin) === undefined) {
        options.logger?.warn(
          { provider: PROVIDER, taskId: body.id },
          'replicate: urls.get is on another host; polling the base URL instead',
        );
      }
      const status = predictionStatus(body);
      const ended = status.state !== 'queued' && status.state !== 'running';
      return ended ? { taskId, status } : { taskId };
    },

    async status(operation: string, taskId: string, ctx: CallContext): Promise<TaskStatus> {
      modelPath(operation);
      requirePollable(taskId);
      const response = await http.call({
        method: 'GET',
        path: decodeTaskId(taskId, basePath).get,
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
        path: decodeTaskId(taskId, basePath).cancel,
        signal: ctx.signal,
        mayCreate: false,
        errorFor,
      });
    },

    close: () => http.close(),
  };
}
