/**
 * modelverse mode: the OpenAI-compatible, synchronous `POST /v1/images/generations` (spec 004).
 *
 * The request is held open for the whole generation latency, so the task counts in flight for the
 * duration of the request (and after it, if the client gives up early: the provider keeps
 * generating). The answer carries `data[].url`, plus `data[].b64_json` (a data URL, as in 004's
 * example) when `response_format` is `b64_json`; both name the same PNG bytes.
 *
 * Errors are `{ error: { code, message, param, type } }` with `param` the request id: 401 bad key,
 * 400 invalid parameters or moderation (the word "forbidden" in the prompt, or a review-blocked
 * result), 429 for both limits (with `Retry-After`), 500 for simulated failures, 504 for simulated
 * timeouts.
 */
import type { ServerResponse } from 'node:http';
import type { CredentialsOf } from '@genqueue/providers';
import { sendJson } from '../internal/http.ts';
import {
  type ModeContext,
  type ModeEntry,
  type ModeFactory,
  Reply,
  retryAfterHeader,
  type SimMode,
  type SimRequest,
} from '../mode.ts';
import { renderPng } from '../png.ts';
import type { TaskRecord } from '../tasks.ts';

const PATH = '/v1/images/generations';

/** What each model of 004 takes (parameter table). */
interface ModelRule {
  n?: boolean;
  image?: 'required' | 'optional';
  images?: boolean;
  devOnly?: boolean;
  aspectRatio?: boolean;
  steps?: boolean;
  negativePrompt?: boolean;
}

/** 004's model list with each model's parameters. */
const MODELS: Record<string, ModelRule> = {
  'black-forest-labs/flux.1-dev': { n: true, image: 'optional', devOnly: true, steps: true },
  'black-forest-labs/flux-kontext-pro': { image: 'required' },
  'black-forest-labs/flux-kontext-pro/multi': { images: true },
  'black-forest-labs/flux-kontext-pro/text-to-image': { n: true, aspectRatio: true },
  'black-forest-labs/flux-kontext-max': { image: 'required' },
  'black-forest-labs/flux-kontext-max/multi': { images: true },
  'black-forest-labs/flux-kontext-max/text-to-image': { n: true, aspectRatio: true },
  'stepfun-ai/step1x-edit': { image: 'required', steps: true, negativePrompt: true },
};

const ASPECT_RATIOS = new Set(['21:9', '16:9', '4:3', '3:2', '1:1', '2:3', '3:4', '9:16', '9:21']);
const IMAGE = /^(https?:\/\/|data:image\/[a-z]+;base64,)/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** An OpenAI-style error `{error: {message, type, param, code}}` (004: `param` is the request id). */
class ApiError extends Reply {
  constructor(
    status: number,
    readonly code: string,
    readonly detail: string,
    readonly type = 'invalid_request_error',
    requestId?: string,
  ) {
    super(status, { error: { message: detail, type, param: requestId, code } }, retryAfterHeader(status));
  }

  /** The same error, naming the request it answers. */
  forRequest(requestId: string): ApiError {
    return new ApiError(this.status, this.code, this.detail, this.type, requestId);
  }
}

const bad = (message: string) => new ApiError(400, 'invalid_parameter', message);

/** Checks a body against 004; answers the model, prompt, count and format. */
function validate(body: unknown): { model: string; prompt: string; n: number; b64: boolean } {
  if (!isObject(body)) throw bad('body must be a JSON object');
  const { model, prompt } = body;
  if (typeof model !== 'string' || model === '') throw bad('model is required');
  const rule = MODELS[model];
  if (!rule) throw new ApiError(404, 'model_not_found', `model ${model} does not exist`);
  if (typeof prompt !== 'string' || prompt.trim() === '') throw bad('prompt is required');
  if (/\bforbidden\b/i.test(prompt)) {
    throw new ApiError(
      400,
      'content_moderation',
      'the prompt was rejected by moderation',
      'moderation_error',
    );
  }
  const unsupported = (field: string, allowed: boolean | undefined) => {
    if (body[field] !== undefined && !allowed) throw bad(`${field} is not supported by ${model}`);
  };
  unsupported('n', rule.n);
  unsupported('image', rule.image !== undefined);
  unsupported('images', rule.images);
  unsupported('size', rule.devOnly);
  unsupported('strength', rule.devOnly);
  unsupported('response_format', rule.devOnly);
  unsupported('aspect_ratio', rule.aspectRatio);
  unsupported('steps', rule.steps);
  unsupported('negative_prompt', rule.negativePrompt);
  const n = body.n ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 4)
    throw bad('n must be an integer in [1, 4]');
  if (rule.image === 'required' && body.image === undefined) throw bad(`image is required by ${model}`);
  if (body.image !== undefined && (typeof body.image !== 'string' || !IMAGE.test(body.image))) {
    throw bad('image must be a URL or data:image/<format>;base64,<data>');
  }
  if (rule.images) {
    const images = body.images;
    if (
      !Array.isArray(images) ||
      images.length === 0 ||
      !images.every((i) => typeof i === 'string' && IMAGE.test(i))
    ) {
      throw bad(`images must be a non-empty list of URLs or base64 data URLs for ${model}`);
    }
  }
  if (body.size !== undefined) {
    const m = typeof body.size === 'string' ? /^(\d+)x(\d+)$/.exec(body.size) : null;
    if (!m || [m[1], m[2]].some((s) => Number(s) < 256 || Number(s) > 1536)) {
      throw bad('size must be between 256x256 and 1536x1536');
    }
  }
  const range = (field: string, min: number, max: number, integer = false) => {
    const v = body[field];
    if (v === undefined) return;
    if (typeof v !== 'number' || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw bad(`${field} must be in [${min}, ${max}]`);
    }
  };
  range('strength', 0, 1);
  // 004 gives `steps` no range (default 28): any positive integer is taken.
  range('steps', 1, Number.MAX_SAFE_INTEGER, true);
  range('seed', -1, 9_999_999_999, true);
  range('guidance_scale', 1, 10);
  if (body.aspect_ratio !== undefined && !ASPECT_RATIOS.has(String(body.aspect_ratio))) {
    throw bad('aspect_ratio is not supported');
  }
  const format = body.response_format ?? 'url';
  if (format !== 'url' && format !== 'b64_json') throw bad('response_format must be url or b64_json');
  return { model, prompt, n, b64: format === 'b64_json' };
}

/** The `modelverse` mode factory. */
export const modelverseMode: ModeFactory = (ctx: ModeContext): SimMode => {
  const throttled = () =>
    new ApiError(429, 'rate_limit_exceeded', 'too many requests, please retry later', 'rate_limit_error');

  /** The PNG served at a task output's URL (same key as the simulator's output route). */
  const pngOf = (task: TaskRecord, index: number): Buffer => {
    const output = task.outputs[index]!;
    const { width, height } = ctx.options.imageSize;
    return renderPng(`${task.id}/${index}/${output.seed}`, width, height, {
      padBytes: ctx.options.outputPadBytes,
    });
  };

  /** Holds the request until the task ends by the clock (the synchronous generation). */
  const generate = async (task: TaskRecord, res: ServerResponse): Promise<void> => {
    for (;;) {
      const remaining = task.endsAt - ctx.now();
      if (remaining <= 0 || res.destroyed) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(remaining, 250)).unref());
    }
  };

  const submit = async (req: SimRequest, res: ServerResponse, requestId: string): Promise<void> => {
    const fault = ctx.faults.take('submit');
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    if (fault?.kind === 'rate-limit' || fault?.kind === 'concurrency-limit') throw throttled();
    const body = await req.json();
    const verdict = ctx.admit(req);
    if (verdict !== 'ok') throw throttled();
    const { model, prompt, n, b64 } = validate(body);
    const task = ctx.accept({ operation: model, prompt, outputCount: n, data: { requestId } }, req);
    await generate(task, res);
    if (res.destroyed) return;
    switch (task.outcome) {
      case 'succeeded':
        break;
      case 'review-blocked':
        throw new ApiError(
          400,
          'content_moderation',
          'the generated image was flagged by moderation',
          'moderation_error',
        );
      case 'timeout':
        throw new ApiError(504, 'timeout', 'generation timed out (simulated)', 'server_error');
      default:
        throw new ApiError(500, 'internal_error', task.message || 'generation failed', 'server_error');
    }
    ctx.tasks.recordQuery(task, ctx.now(), true);
    sendJson(res, 200, {
      created: Math.floor(ctx.now() / 1000),
      data: task.outputs.map((output, index) =>
        b64
          ? { url: output.url, b64_json: `data:image/png;base64,${pngOf(task, index).toString('base64')}` }
          : { url: output.url },
      ),
      usage: { input_tokens_details: {} },
    });
  };

  return {
    async handle(req, res) {
      if (req.path !== PATH) return false;
      const requestId = ctx.random.hex(32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
      try {
        if (req.method !== 'POST') throw new ApiError(405, 'method_not_allowed', 'use POST');
        if (!ctx.checkBearer(req)) {
          throw new ApiError(401, 'invalid_api_key', 'Incorrect API key provided', 'authentication_error');
        }
        await submit(req, res, requestId);
      } catch (err) {
        throw err instanceof ApiError ? err.forRequest(requestId) : err;
      }
      return true;
    },
  };
};

/** This provider's entry of the mode registry, loaded by `registry.ts` from the catalog's name. */
export const mode = {
  create: modelverseMode,
  credentials: (o) => ({ apiKey: o.token }),
} satisfies ModeEntry<CredentialsOf<'modelverse'>>;
