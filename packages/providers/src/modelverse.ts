/**
 * modelverse: an OpenAI-compatible, synchronous image generation API (spec 004).
 *
 * Wire format: `POST {baseUrl}/v1/images/generations` with `Authorization: Bearer …` and
 * `{ model, prompt, ... }`. The request is held open while the image is generated; the answer
 * already carries `data[].url` and/or `data[].b64_json` (URLs expire after 7 days). Errors are
 * `{ error: { code, message, param, type } }` (`param` is the request id).
 *
 * So `submit` answers the ended task at once under a generated task id, and there is nothing to
 * poll: `status` is refused.
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
  type StatusVerdict,
} from '@genqueue/provider-http';
import { z } from 'zod';
import { base64ToDataUrl, toImageReference } from './internal/images.ts';

const PROVIDER = 'modelverse';

/** Options of {@link createModelverseProvider}. */
export interface ModelverseProviderOptions extends AdapterIoOptions {
  /** API origin, e.g. `https://api.modelverse.cn` (without `/v1`). A trailing slash is ignored. */
  baseUrl: string;
  /** API key, sent as `Authorization: Bearer …`. Never logged. */
  apiKey: string;
  /**
   * Connect and request timeouts. Default 10 s to connect and 300 s per request, because the
   * request lasts as long as the generation.
   */
  timeouts?: HttpTimeouts;
  /** Task id generator (the API answers none). Default: `mv-` + a random UUID. */
  generateId?: () => string;
}

/** 004: `aspect_ratio` values of the `/text-to-image` models. */
export const MODELVERSE_ASPECT_RATIOS = [
  '21:9',
  '16:9',
  '4:3',
  '3:2',
  '1:1',
  '2:3',
  '3:4',
  '9:16',
  '9:21',
] as const;

const notSupported = (field: string, model: string) =>
  z.undefined({
    errorMap: () => ({ message: `${field} is not supported by ${model} (004 parameter table)` }),
  });

/** 004: `size` is `WIDTHxHEIGHT`, each side within 256–1536. */
const size = z
  .string()
  .regex(/^\d+x\d+$/, 'size must be WIDTHxHEIGHT, e.g. 1024x1024')
  .refine((value) => value.split('x').every((side) => Number(side) >= 256 && Number(side) <= 1536), {
    message: 'size must be between 256x256 and 1536x1536',
  });

/** An image: an http(s) URL or base64 (004 asks for `data:image/<format>;base64,…`; raw base64 is wrapped). */
const image = z.string().trim().min(1);

// 004 marks `prompt` "conditionally required"; every listed model needs one to do anything, so it
// is required here.
const base = {
  prompt: z.string().trim().min(1),
  /** 004: -1…9999999999, -1 random. */
  seed: z.number().int().min(-1).max(9_999_999_999).optional(),
  /** 004: 1–10, default 2.5. */
  guidance_scale: z.number().min(1).max(10).optional(),
};
// 004 gives no range for `steps` (default 28): any positive integer goes, the provider decides.
const steps = z.number().int().min(1).optional();
const n = z.number().int().min(1).max(4).optional();

/**
 * 004's "支持模型" column gives `response_format`, `size` and `strength` to flux.1-dev only: sent to
 * another model they would be ignored or refused, so they are refused at arrival.
 */
const devOnly = (model: string) => ({
  response_format: notSupported('response_format', model),
  size: notSupported('size', model),
  strength: notSupported('strength', model),
});

function schemaFor(model: string, kind: 'dev' | 'edit' | 'multi' | 'text' | 'step1x') {
  const no = (field: string) => notSupported(field, model);
  switch (kind) {
    case 'dev':
      return z
        .object({
          ...base,
          n,
          image: image.optional(),
          images: no('images'),
          response_format: z.enum(['url', 'b64_json']).optional(),
          size: size.optional(),
          strength: z.number().min(0).max(1).optional(),
          steps,
          aspect_ratio: no('aspect_ratio'),
          negative_prompt: no('negative_prompt'),
        })
        .passthrough();
    case 'edit':
      return z
        .object({
          ...base,
          image,
          images: no('images'),
          n: no('n'),
          negative_prompt: no('negative_prompt'),
          aspect_ratio: no('aspect_ratio'),
          ...devOnly(model),
          steps: no('steps'),
        })
        .passthrough();
    case 'multi':
      return z
        .object({
          ...base,
          // 004 gives no maximum number of references.
          images: z.array(image).min(1),
          image: no('image'),
          n: no('n'),
          negative_prompt: no('negative_prompt'),
          aspect_ratio: no('aspect_ratio'),
          ...devOnly(model),
          steps: no('steps'),
        })
        .passthrough();
    case 'text':
      return z
        .object({
          ...base,
          n,
          aspect_ratio: z.enum(MODELVERSE_ASPECT_RATIOS).optional(),
          image: no('image'),
          images: no('images'),
          negative_prompt: no('negative_prompt'),
          ...devOnly(model),
          steps: no('steps'),
        })
        .passthrough();
    case 'step1x':
      return z
        .object({
          ...base,
          image,
          steps,
          // 004 gives no length limit.
          negative_prompt: z.string().optional(),
          images: no('images'),
          n: no('n'),
          aspect_ratio: no('aspect_ratio'),
          ...devOnly(model),
        })
        .passthrough();
  }
}

function op(model: string, kind: Parameters<typeof schemaFor>[1], description: string): OperationSpec {
  return { schema: schemaFor(model, kind), output: 'image', description };
}

/**
 * The operations of modelverse: one per model of 004's model list, named by the model id sent in
 * `model`.
 */
export const modelverseOperations: Readonly<Record<string, OperationSpec>> = Object.freeze({
  'black-forest-labs/flux.1-dev': op(
    'black-forest-labs/flux.1-dev',
    'dev',
    'FLUX.1 [dev] text to image (optional reference image)',
  ),
  'black-forest-labs/flux-kontext-pro': op(
    'black-forest-labs/flux-kontext-pro',
    'edit',
    'FLUX.1 Kontext [pro] image editing',
  ),
  'black-forest-labs/flux-kontext-pro/multi': op(
    'black-forest-labs/flux-kontext-pro/multi',
    'multi',
    'FLUX.1 Kontext [pro] multi-reference editing',
  ),
  'black-forest-labs/flux-kontext-pro/text-to-image': op(
    'black-forest-labs/flux-kontext-pro/text-to-image',
    'text',
    'FLUX.1 Kontext [pro] text to image',
  ),
  'black-forest-labs/flux-kontext-max': op(
    'black-forest-labs/flux-kontext-max',
    'edit',
    'FLUX.1 Kontext [max] image editing',
  ),
  'black-forest-labs/flux-kontext-max/multi': op(
    'black-forest-labs/flux-kontext-max/multi',
    'multi',
    'FLUX.1 Kontext [max] multi-reference editing',
  ),
  'black-forest-labs/flux-kontext-max/text-to-image': op(
    'black-forest-labs/flux-kontext-max/text-to-image',
    'text',
    'FLUX.1 Kontext [max] text to image',
  ),
  'stepfun-ai/step1x-edit': op('stepfun-ai/step1x-edit', 'step1x', 'Step1X-Edit image editing'),
});

/** Operation names of modelverse (004 model list). */
export const MODELVERSE_MODELS = Object.keys(modelverseOperations);

function classOfCode(code: string): StatusVerdict | undefined {
  const c = code.toLowerCase();
  if (/quota|balance|billing|insufficient|unauthorized|invalid_api_key|forbidden/.test(c)) {
    return { errorClass: 'account' };
  }
  if (/concurren/.test(c)) return { errorClass: 'retry_later', limit: 'in_flight' };
  if (/rate.?limit|too.?many/.test(c)) return { errorClass: 'retry_later', limit: 'qps' };
  if (/moderation|sensitive|content.?policy|safety|invalid|param|not.?found|unsupported/.test(c)) {
    return { errorClass: 'invalid_job' };
  }
  if (/internal|server|timeout|unavailable|busy|overload/.test(c)) return { errorClass: 'transient' };
  return undefined;
}

/**
 * Maps a modelverse error (an error status, or a 200 carrying `error`) to a classified error.
 * Pure; table-tested. Quota exhaustion is `account` even when it comes as a 429, as OpenAI does.
 */
export function modelverseErrorFor(
  response: JsonResponse & { text: string },
  now: number = Date.now(),
): ProviderError {
  const error = asRecord(asRecord(response.body)?.error);
  const code = typeof error?.code === 'string' || typeof error?.code === 'number' ? String(error.code) : '';
  const type = typeof error?.type === 'string' ? error.type : '';
  const byCode = classOfCode(`${code} ${type}`.trim());
  const byStatus = classifyStatus(response.status);
  let verdict: StatusVerdict;
  // Quota exhaustion is `account` even as a 429; a 2xx carrying `error` has only its code to go by.
  if (byStatus.errorClass === 'account' || byCode?.errorClass === 'account')
    verdict = { errorClass: 'account' };
  else if (response.status === 429) verdict = byCode?.errorClass === 'retry_later' ? byCode : byStatus;
  else if (response.status >= 200 && response.status < 300) verdict = byCode ?? { errorClass: 'invalid_job' };
  else verdict = byStatus;
  const { errorClass, limit } = verdict;
  const message =
    typeof error?.message === 'string' && error.message.trim()
      ? clip(error.message.trim())
      : response.text && !response.text.trimStart().startsWith('<')
        ? clip(response.text.trim())
        : `HTTP ${response.status}`;
  const requestId =
    typeof error?.param === 'string' && error.param ? ` (request ${clip(error.param, 64)})` : '';
  return new ProviderError({
    provider: PROVIDER,
    errorClass,
    limit,
    status: response.status,
    code: code || `http_${response.status}`,
    message: `${message}${requestId}`,
    retryAfterMs:
      errorClass === 'retry_later'
        ? parseRetryAfter(header(response.headers, 'retry-after'), now)
        : undefined,
  });
}

/** Creates the modelverse adapter. Synchronous: `submit` answers the ended task. */
export function createModelverseProvider(options: ModelverseProviderOptions): Provider {
  const now = options.now ?? Date.now;
  const generateId = options.generateId ?? (() => `mv-${randomUUID()}`);
  const http = createHttpClient({
    provider: PROVIDER,
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.apiKey}` },
    dispatcher: options.dispatcher,
    timeouts: options.timeouts,
    defaultRequestMs: 300_000,
    now,
    logger: options.logger,
  });
  const errorFor = (response: JsonResponse & { text: string }) => modelverseErrorFor(response, now());

  function requireOperation(operation: string): void {
    if (!Object.hasOwn(modelverseOperations, operation)) {
      throw new ProviderError({
        provider: PROVIDER,
        errorClass: 'invalid_job',
        code: 'unknown_operation',
        message: `unknown operation "${operation}" (expected one of ${MODELVERSE_MODELS.join(', ')})`,
      });
    }
  }

  async function prepare(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const prepared = { ...input };
    const reference = (value: string, field: string) =>
      toImageReference(value, { provider: PROVIDER, field });
    if (typeof prepared.image === 'string') prepared.image = await reference(prepared.image, 'image');
    if (Array.isArray(prepared.images)) {
      prepared.images = await Promise.all(
        prepared.images.map((value, i) =>
          typeof value === 'string' ? reference(value, `images[${i}]`) : value,
        ),
      );
    }
    return prepared;
  }

  return {
    name: PROVIDER,
    operations: modelverseOperations,

    async submit(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<SubmitResult> {
      requireOperation(operation);
      const response = await http.call({
        method: 'POST',
        path: '/v1/images/generations',
        // `model` is the operation: an input cannot redirect the job to another (pricier) model.
        json: { ...(await prepare(input)), model: operation },
        signal: ctx.signal,
        mayCreate: true,
        errorFor,
        // The answer comes when the generation ends; the QPS window counts from the send.
        requestSent: ctx.requestSent,
      });
      const body = asRecord(response.body);
      if (body?.error !== undefined && body.error !== null) {
        throw errorFor({ ...response, text: '' });
      }
      if (!body || !Array.isArray(body.data)) {
        throw malformed(PROVIDER, 'no data[] in the answer', response.status, true);
      }
      const preferB64 = input.response_format === 'b64_json';
      const outputs = body.data.flatMap((item): ProviderOutput[] => {
        const record = asRecord(item);
        const url = typeof record?.url === 'string' && record.url ? record.url : undefined;
        const b64 = typeof record?.b64_json === 'string' && record.b64_json ? record.b64_json : undefined;
        const chosen = preferB64
          ? b64
            ? base64ToDataUrl(b64)
            : url
          : (url ?? (b64 ? base64ToDataUrl(b64) : undefined));
        return chosen ? [{ url: chosen, kind: 'image' }] : [];
      });
      const taskId = generateId();
      const status: TaskStatus =
        outputs.length > 0
          ? { state: 'succeeded', providerStatus: 'succeeded', outputs }
          : {
              state: 'failed',
              providerStatus: 'succeeded',
              error: { code: 'no_outputs', message: 'the answer held no image' },
            };
      return { taskId, status };
    },

    async status(_operation: string, taskId: string): Promise<TaskStatus> {
      throw new ProviderError({
        provider: PROVIDER,
        errorClass: 'invalid_job',
        code: 'synchronous',
        message: `modelverse is synchronous: task ${taskId} ended when it was submitted and cannot be polled`,
      });
    },

    close: () => http.close(),
  };
}
