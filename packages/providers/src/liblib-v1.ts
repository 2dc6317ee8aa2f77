/**
 * liblib-v1: LiblibAI's Bearer-token "custom model / Kontext" API (specs 000 and 001).
 *
 * Wire format (000 §4.1.3–4.1.5, 001 §3–5):
 * - `POST {baseUrl}/v1/workflows/run` with `Authorization: Bearer {apiKey}` and a snake_case body;
 *   the answer carries `data.task_id`.
 * - `GET {baseUrl}/v1/tasks/{task_id}`: `data.status` is `success` (images in
 *   `data.output.images[].url`), `failed` (`data.error_message`), anything else means running.
 * - Errors (001 §6): 401 bad key, 400 bad parameters, 500 internal; 429 when over the QPS limit.
 *
 * The specs do not document the text2img/img2img distinction on the wire (both post to the same
 * path): the operation only selects the schema, and the body is the parsed input as is.
 */

import { classifyLiblibCode } from '@genqueue/liblib';
import type { CallContext, OperationSpec, Provider, SubmitResult, TaskStatus } from '@genqueue/model';
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

const PROVIDER = 'liblib-v1';

/** Options of {@link createLiblibV1Provider}. */
export interface LiblibV1ProviderOptions extends AdapterIoOptions {
  /** API origin, e.g. `https://api.liblib.art` (000 §4.1.4). A trailing slash is ignored. */
  baseUrl: string;
  /** The account's API key, sent as `Authorization: Bearer …`. Never logged. */
  apiKey: string;
  /** Connect and request timeouts. Default 10 s to connect, 30 s per request. */
  timeouts?: HttpTimeouts;
}

// Ranges: 000/001 give none (only "0 to 1, usually" for strength, and example values), so none are
// enforced: the value goes through and the provider answers. 002's ranges for the signed API's
// custom-model endpoints are another API and are not borrowed.
const common = {
  /** 000 §4.1.3: required. */
  prompt: z.string().trim().min(1),
  negative_prompt: z.string().optional(),
  /** 000 §4.1.3: the custom model's id (a Kontext-based model for Kontext). */
  model_id: z.string().trim().min(1),
  steps: z.number().int().optional(),
  // 000 says `sampler` is a string (`"DPM++ SDE Karras"`); 002 uses enum integers. Accept both.
  sampler: z.union([z.string().min(1), z.number().int().nonnegative()]).optional(),
  cfg_scale: z.number().optional(),
  seed: z.number().int().optional(),
  n_iter: z.number().int().optional(),
  // 001 shows `{ lora: [{ model_id, weight }] }`, 002 an array of `{ modelId, weight }`: both pass.
  additionalNetwork: z.union([z.record(z.unknown()), z.array(z.record(z.unknown()))]).optional(),
};

/** A URL or base64 image (000 §4.1.4: "Base64 编码字符串或URL"). */
const imageInput = z.string().trim().min(1);

/** `text2img` input (000 §4.1.3). Unknown fields pass through. */
export const liblibV1Text2ImgSchema = z
  .object({
    ...common,
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    hiResFixInfo: z.record(z.unknown()).optional(),
  })
  .passthrough();

/** `img2img` input (000 §4.1.4). Unknown fields pass through. */
export const liblibV1Img2ImgSchema = z
  .object({
    ...common,
    image: imageInput,
    /** 001 §4: 0–1; smaller stays closer to the source image. */
    strength: z.number().min(0).max(1).optional(),
    mask: imageInput.optional(),
    controlnet: z.array(z.record(z.unknown())).optional(),
  })
  .passthrough();

/** The operations of liblib-v1, by name. */
export const liblibV1Operations = {
  text2img: {
    schema: liblibV1Text2ImgSchema,
    output: 'image',
    description: 'LiblibAI custom model (e.g. Kontext-based) text to image, Bearer-token API',
  },
  img2img: {
    schema: liblibV1Img2ImgSchema,
    output: 'image',
    description: 'LiblibAI custom model image to image / inpaint, Bearer-token API',
  },
} as const satisfies Record<string, OperationSpec>;

/** Operation names of liblib-v1. */
export type LiblibV1Operation = keyof typeof liblibV1Operations;

function messageOf(body: unknown, text: string, fallback: string): string {
  const record = asRecord(body);
  const error = record?.error;
  const candidates = [
    record?.msg,
    record?.message,
    record?.error_message,
    asRecord(record?.data)?.error_message,
    asRecord(error)?.message,
    error,
  ];
  for (const candidate of candidates) {
    if (typeof candidate === 'string' && candidate.trim()) return clip(candidate.trim());
  }
  return text && !text.trimStart().startsWith('<') ? clip(text.trim()) : fallback;
}

function bodyCode(body: unknown): string | undefined {
  const code = asRecord(body)?.code;
  if (typeof code === 'number' || (typeof code === 'string' && code !== '')) return String(code);
  return undefined;
}

/** Maps a liblib-v1 error answer (any status) to a classified error. Pure; table-tested. */
export function liblibV1ErrorFor(
  response: JsonResponse & { text: string },
  now: number = Date.now(),
): ProviderError {
  const code = bodyCode(response.body);
  // 000/001 document no codes in the body. The same vendor's 002 §13 does; a Bearer-API server
  // that answers one of them (in a 200 envelope or with an error status) is classified the same way.
  const numeric = code !== undefined && /^\d+$/.test(code) ? Number(code) : undefined;
  const { errorClass, limit } =
    numeric !== undefined && (numeric >= 100_000 || response.status < 300)
      ? classifyLiblibCode(numeric)
      : classifyStatus(response.status);
  const retryAfterMs =
    errorClass === 'retry_later' ? parseRetryAfter(header(response.headers, 'retry-after'), now) : undefined;
  return new ProviderError({
    provider: PROVIDER,
    errorClass,
    status: response.status,
    code: code ?? `http_${response.status}`,
    message: messageOf(response.body, response.text, `HTTP ${response.status}`),
    retryAfterMs,
    limit,
  });
}

/** Creates the liblib-v1 adapter. Polled; no cancel; no upload (images go inline as URL or base64). */
export function createLiblibV1Provider(options: LiblibV1ProviderOptions): Provider {
  const now = options.now ?? Date.now;
  const http = createHttpClient({
    provider: PROVIDER,
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.apiKey}` },
    dispatcher: options.dispatcher,
    timeouts: options.timeouts,
    defaultRequestMs: 30_000,
    now,
    logger: options.logger,
  });
  const errorFor = (response: JsonResponse & { text: string }) => liblibV1ErrorFor(response, now());

  /** A 200 envelope with a non-zero `code` is an error too (same vendor as 002 §1). */
  function checkEnvelope(response: JsonResponse): Record<string, unknown> {
    const body = asRecord(response.body);
    if (!body) throw malformed(PROVIDER, 'the answer is not a JSON object', response.status);
    const code = bodyCode(body);
    if (code !== undefined && code !== '0' && code !== '200') {
      throw errorFor({ ...response, text: '' });
    }
    return body;
  }

  function requireOperation(operation: string): void {
    if (!Object.hasOwn(liblibV1Operations, operation)) {
      throw new ProviderError({
        provider: PROVIDER,
        errorClass: 'invalid_job',
        code: 'unknown_operation',
        message: `unknown operation "${operation}" (expected one of ${Object.keys(liblibV1Operations).join(', ')})`,
      });
    }
  }

  return {
    name: PROVIDER,
    operations: liblibV1Operations,

    async submit(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<SubmitResult> {
      requireOperation(operation);
      const response = await http.call({
        method: 'POST',
        path: '/v1/workflows/run',
        json: input,
        signal: ctx.signal,
        mayCreate: true,
        errorFor,
      });
      const body = checkEnvelope(response);
      const taskId = asRecord(body.data)?.task_id ?? body.task_id;
      if ((typeof taskId !== 'string' || taskId === '') && typeof taskId !== 'number') {
        // The request was accepted (2xx) but we cannot follow it: count it as a possible duplicate.
        throw malformed(PROVIDER, 'no data.task_id in the submission answer', response.status, true);
      }
      return { taskId: String(taskId) };
    },

    async status(operation: string, taskId: string, ctx: CallContext): Promise<TaskStatus> {
      requireOperation(operation);
      const response = await http.call({
        method: 'GET',
        path: `/v1/tasks/${encodeURIComponent(taskId)}`,
        signal: ctx.signal,
        mayCreate: false,
        errorFor,
      });
      const data = asRecord(checkEnvelope(response).data);
      if (!data) throw malformed(PROVIDER, 'no data in the task answer', response.status);
      const providerStatus = typeof data.status === 'string' ? data.status : String(data.status ?? 'unknown');
      if (providerStatus === 'success') {
        const images = asRecord(data.output)?.images;
        const outputs = (Array.isArray(images) ? images : [])
          .map((image) => asRecord(image))
          .filter(
            (image): image is Record<string, unknown> => typeof image?.url === 'string' && image.url !== '',
          )
          .map((image) => ({
            url: image.url as string,
            kind: 'image' as const,
            ...(typeof image.seed === 'number' ? { seed: image.seed } : {}),
          }));
        if (outputs.length === 0) {
          // A success without images is not a success (README pitfall: images blocked by review).
          return {
            state: 'failed',
            providerStatus,
            error: {
              code: 'no_outputs',
              message: 'the task succeeded without any image (blocked by review?)',
            },
          };
        }
        return { state: 'succeeded', providerStatus, outputs };
      }
      if (providerStatus === 'failed') {
        const message =
          typeof data.error_message === 'string' && data.error_message ? data.error_message : 'failed';
        return { state: 'failed', providerStatus, error: { code: 'failed', message: clip(message) } };
      }
      // 001 §5: anything else is still in progress.
      return { state: 'running', providerStatus };
    },

    close: () => http.close(),
  };
}
