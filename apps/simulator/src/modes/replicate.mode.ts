/**
 * replicate mode: Replicate's predictions API (spec 003), with or without the proxy's `/replicate`
 * path prefix.
 *
 * - `POST [/replicate]/v1/models/{owner}/{name}/predictions` (Bearer) with `{ input }` → 201 and a
 *   prediction: `id`, `status` (`starting` → `processing` → `succeeded` | `failed` | `canceled` |
 *   `aborted`), `urls.get`, `urls.cancel`, `output` (one URL, or a list when the task has several),
 *   `error`. `Prefer: wait[=N]` holds the answer until the prediction ends or N seconds (default 60).
 * - `GET [/replicate]/v1/predictions/{id}` and `POST [/replicate]/v1/predictions/{id}/cancel`; cancel
 *   ends the task at once, which frees its in-flight slot.
 * - Option `replicateAnswerStyle: 'openai'` answers spec 003's response example instead: the request
 *   is held until the task ends and answered `{ created, data: [{ url }] }`.
 * - Errors are problem details `{ title, detail, status }`: 401, 404, 422 (input validation), and
 *   429 with `Retry-After` for both limits (Replicate has no separate concurrency error).
 *
 * Outcomes: `failed` → `failed`; review-blocked → `failed` with an NSFW message (what Replicate's
 * safety checker does); simulated timeouts → `aborted`.
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
import type { TaskPhase, TaskRecord } from '../tasks.ts';

/** How the mode answers a creation (read live from the options, so `configure` can change it). */
export type ReplicateAnswerStyle = 'prediction' | 'openai';

/**
 * flux-kontext-dev's `aspect_ratio` values. 003's table names only the default
 * (`match_input_image`); the list is the model's own page, which 003 gives as its official
 * document (官方文档: https://replicate.com/black-forest-labs/flux-kontext-dev), as is
 * `output_format`'s webp | jpg | png. The other bounds are 003's: guidance 0–10,
 * num_inference_steps 4–50, output_quality 0–100, input_image jpeg / png / gif / webp.
 */
const ASPECT_RATIOS = new Set([
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
]);

const CREATE_PATH = /^(\/replicate)?\/v1\/models\/([\w.-]+)\/([\w.-]+)\/predictions$/;
const GET_PATH = /^(\/replicate)?\/v1\/predictions\/([\w-]+)$/;
const CANCEL_PATH = /^(\/replicate)?\/v1\/predictions\/([\w-]+)\/cancel$/;
/**
 * `replicatePredictionPaths: 'proxy'`: a proxy that keeps predictions under a path of its own. 003
 * documents only the creation path and the prediction's `urls.get` / `urls.cancel`, so a client
 * must follow those rather than rebuild Replicate's paths.
 */
const PROXY_GET_PATH = /^\/proxy-api\/tasks\/([\w-]+)$/;
const PROXY_CANCEL_PATH = /^\/proxy-api\/tasks\/([\w-]+)\/cancel$/;

/** Longest `Prefer: wait` Replicate honours, in seconds. */
const MAX_WAIT_SECONDS = 60;
/** Longest an OpenAI-style answer is held, in ms. */
const MAX_SYNC_HOLD_MS = 10 * 60_000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Replicate's problem detail `{title, detail, status}` (RFC 7807). */
class Problem extends Reply {
  constructor(status: number, title: string, detail: string, extra: Record<string, unknown> = {}) {
    super(status, { title, detail, status, ...extra }, retryAfterHeader(status));
  }
}

/** Checks a creation body for `owner/name`; throws a 422 `Problem` like Replicate's validation. */
function validate(model: string, body: unknown): { input: Record<string, unknown>; prompt?: string } {
  if (!isObject(body) || !isObject(body.input)) {
    throw new Problem(422, 'Input validation failed', 'input: Invalid type. Expected: object');
  }
  const input = body.input;
  const invalid: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) invalid.push(message);
  };
  const { prompt } = input;
  if (prompt !== undefined)
    check(typeof prompt === 'string' && prompt.trim() !== '', 'prompt: must be a non-empty string');
  if (model === 'black-forest-labs/flux-kontext-dev') {
    check(typeof prompt === 'string', 'prompt is required');
    const image = input.input_image;
    check(
      typeof image === 'string' && /^(https?:\/\/|data:image\/(png|jpeg|gif|webp);base64,)/.test(image),
      'input_image: must be an http(s) URL or a data:image/...;base64 URL',
    );
    const num = (field: string, min: number, max: number, integer = false) => {
      const v = input[field];
      if (v === undefined) return;
      check(
        typeof v === 'number' && v >= min && v <= max && (!integer || Number.isInteger(v)),
        `${field}: must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`,
      );
    };
    num('guidance', 0, 10);
    num('num_inference_steps', 4, 50, true);
    num('output_quality', 0, 100, true);
    if (input.aspect_ratio !== undefined) {
      check(
        typeof input.aspect_ratio === 'string' && ASPECT_RATIOS.has(input.aspect_ratio),
        'aspect_ratio: not allowed',
      );
    }
    if (input.output_format !== undefined) {
      check(
        ['webp', 'jpg', 'png'].includes(String(input.output_format)),
        'output_format: must be webp, jpg or png',
      );
    }
    if (input.go_fast !== undefined) check(typeof input.go_fast === 'boolean', 'go_fast: must be a boolean');
  }
  if (invalid.length > 0) {
    throw new Problem(422, 'Input validation failed', invalid.join('; '), { invalid_fields: invalid });
  }
  return typeof prompt === 'string' ? { input, prompt } : { input };
}

/** Seconds asked by `Prefer: wait` / `Prefer: wait=N`, or undefined. */
function preferWait(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  const match = /(?:^|[,;\s])wait(?:=(\d+))?(?:$|[,;\s])/.exec(value ?? '');
  if (!match) return undefined;
  return Math.min(MAX_WAIT_SECONDS, Math.max(1, match[1] ? Number(match[1]) : MAX_WAIT_SECONDS));
}

/** The `replicate` mode factory. */
export const replicateMode: ModeFactory = (ctx: ModeContext): SimMode => {
  const answerStyle = (): ReplicateAnswerStyle => ctx.options.replicateAnswerStyle;

  const throttled = () =>
    new Problem(429, 'Request was throttled', 'Request was throttled. Expected available in 1 second.');

  const statusOf = (task: TaskRecord, phase: TaskPhase): string => {
    switch (phase) {
      case 'queued':
        return 'starting';
      case 'running':
      case 'generated':
      case 'reviewing':
        return 'processing';
      case 'succeeded':
        return task.outcome === 'review-blocked' ? 'failed' : 'succeeded';
      case 'timeout':
        return 'aborted';
      default:
        return phase;
    }
  };

  const prediction = (task: TaskRecord, prefix: string, phase = ctx.tasks.phase(task, ctx.now())) => {
    const status = statusOf(task, phase);
    const outputs = status === 'succeeded' ? ctx.tasks.servedOutputs(task, ctx.now()).map((o) => o.url) : [];
    const base =
      ctx.options.replicatePredictionPaths === 'proxy'
        ? `${ctx.url}/proxy-api/tasks/${task.id}`
        : `${ctx.url}${prefix}/v1/predictions/${task.id}`;
    const error =
      status === 'failed'
        ? task.outcome === 'review-blocked'
          ? 'NSFW content detected. Try running it again, or try a different prompt. (simulated)'
          : task.message
        : status === 'aborted'
          ? 'Prediction deadline exceeded (simulated)'
          : null;
    const ended = ['succeeded', 'failed', 'canceled', 'aborted'].includes(status);
    return {
      id: task.id,
      model: task.operation,
      version: 'sim',
      input: task.data.input,
      logs: '',
      output: outputs.length === 0 ? null : outputs.length === 1 ? outputs[0] : outputs,
      data_removed: false,
      error,
      status,
      created_at: new Date(task.createdAt).toISOString(),
      ...(ended ? { completed_at: new Date(task.endedAt ?? task.endsAt).toISOString() } : {}),
      urls: { get: base, cancel: `${base}/cancel`, web: `https://replicate.com/p/${task.id}` },
    };
  };

  /** Sleeps until the task ends (by the clock) or `capMs` passed, whichever comes first. */
  const waitForEnd = async (task: TaskRecord, capMs: number, res: ServerResponse): Promise<void> => {
    const deadline = Date.now() + capMs;
    for (;;) {
      const remaining = task.canceledAt !== undefined ? 0 : task.endsAt - ctx.now();
      const left = deadline - Date.now();
      if (remaining <= 0 || left <= 0 || res.destroyed) return;
      // Short steps so a cancel or a closed client is noticed.
      await new Promise((resolve) => setTimeout(resolve, Math.min(remaining, left, 250)).unref());
    }
  };

  const create = async (
    req: SimRequest,
    res: ServerResponse,
    model: string,
    prefix: string,
  ): Promise<void> => {
    const fault = ctx.faults.take('submit');
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    if (fault?.kind === 'rate-limit' || fault?.kind === 'concurrency-limit') throw throttled();
    const body = await req.json();
    const verdict = ctx.admit(req);
    if (verdict !== 'ok') throw throttled();
    const { input, prompt } = validate(model, body);
    const task = ctx.accept(
      {
        operation: model,
        ...(prompt !== undefined ? { prompt } : {}),
        data: { input },
      },
      req,
    );
    if (answerStyle() === 'openai') {
      await waitForEnd(task, MAX_SYNC_HOLD_MS, res);
      if (res.destroyed) return;
      const p = prediction(task, prefix);
      if (p.status !== 'succeeded') {
        sendJson(res, 500, {
          error: { message: p.error ?? `prediction ${p.status}`, type: 'server_error', code: p.status },
        });
        return;
      }
      const urls = Array.isArray(p.output) ? p.output : [p.output];
      sendJson(res, 200, { created: Math.floor(ctx.now() / 1000), data: urls.map((url) => ({ url })) });
      return;
    }
    const wait = preferWait(req.raw.headers.prefer);
    if (wait !== undefined) await waitForEnd(task, wait * 1000, res);
    if (res.destroyed) return;
    sendJson(res, 201, prediction(task, prefix));
  };

  const get = async (req: SimRequest, res: ServerResponse, id: string, prefix: string): Promise<void> => {
    ctx.statusQuery();
    const task = ctx.taskOf(req, id);
    const fault = ctx.faults.take('status', task ? undefined : ['5xx', 'malformed-json', 'hang', 'reset']);
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    if (!task) throw new Problem(404, 'Not found', 'The requested resource could not be found.');
    const at = ctx.now();
    let phase = ctx.tasks.phase(task, at);
    if (fault?.kind === 'status-backwards')
      phase = phase === 'queued' ? 'queued' : phase === 'running' ? 'queued' : 'running';
    const p = prediction(task, prefix, phase);
    ctx.tasks.recordQuery(task, at, 'completed_at' in p);
    sendJson(res, 200, p);
  };

  const cancel = async (req: SimRequest, res: ServerResponse, id: string, prefix: string): Promise<void> => {
    const task = ctx.taskOf(req, id);
    if (!task) throw new Problem(404, 'Not found', 'The requested resource could not be found.');
    // Replicate answers the prediction whether or not it was still running.
    ctx.tasks.cancel(task, ctx.now());
    sendJson(res, 200, prediction(task, prefix));
  };

  return {
    async handle(req, res) {
      const proxyPaths = ctx.options.replicatePredictionPaths === 'proxy';
      const createMatch = CREATE_PATH.exec(req.path);
      // Each regex yields [whole, prefix?, id]; the proxy's paths have no prefix group.
      const proxied = (m: RegExpExecArray | null) => (m ? [m[0], '', m[1]!] : null);
      const cancelMatch = proxyPaths ? proxied(PROXY_CANCEL_PATH.exec(req.path)) : CANCEL_PATH.exec(req.path);
      const getMatch = proxyPaths ? proxied(PROXY_GET_PATH.exec(req.path)) : GET_PATH.exec(req.path);
      if (!createMatch && !cancelMatch && !getMatch) return false;
      const method = getMatch ? 'GET' : 'POST';
      if (req.method !== method) throw new Problem(405, 'Method not allowed', `use ${method}`);
      if (!ctx.checkBearer(req)) {
        throw new Problem(401, 'Unauthenticated', 'You did not pass a valid authentication token');
      }
      if (createMatch) await create(req, res, `${createMatch[2]}/${createMatch[3]}`, createMatch[1] ?? '');
      else if (cancelMatch) await cancel(req, res, cancelMatch[2]!, cancelMatch[1] ?? '');
      else await get(req, res, getMatch![2]!, getMatch![1] ?? '');
      return true;
    },
  };
};

/** This provider's entry of the mode registry, loaded by `registry.ts` from the catalog's name. */
export const mode = {
  create: replicateMode,
  credentials: (o) => ({ apiToken: o.token }),
} satisfies ModeEntry<CredentialsOf<'replicate'>>;
