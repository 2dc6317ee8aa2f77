/**
 * liblib-v1 mode: LiblibAI's Bearer-token "custom model / Kontext" API (specs 000 and 001).
 *
 * - `POST /v1/workflows/run` (Bearer) → `{ code: 0, msg: '', data: { task_id } }`. A body with
 *   `image` is an img2img task, otherwise text2img (000 §4.1.3 / §4.1.4 share the path).
 * - `GET /v1/tasks/{task_id}` (Bearer) → `data.status`: `pending` → `running` → `success`
 *   (`data.output.images[].url`) | `failed` (`data.error_message`).
 * - Errors as 001 §6 describes them: 401 bad key, 400 bad parameters, 500 internal; QPS breaches
 *   are HTTP 429. 000/001 document no concurrency error: the mode answers 002's code 100054 (the
 *   same vendor), in the body by default (`limitErrorForm`).
 *
 * Review-blocked tasks answer `success` with no images (the 002 pitfall, so clients must cope);
 * timed-out tasks answer `failed`.
 */
import type { ServerResponse } from 'node:http';
import type { CredentialsOf } from '@genqueue/providers';
import { sendReply } from '../internal/http.ts';
import {
  type ModeContext,
  type ModeEntry,
  type ModeFactory,
  retryAfterHeader,
  type SimMode,
  Reply as SimReply,
  type SimRequest,
} from '../mode.ts';
import type { TaskPhase, TaskRecord } from '../tasks.ts';

const SUBMIT_PATH = '/v1/workflows/run';
const TASK_PATH = /^\/v1\/tasks\/([^/]+)$/;

const STATUS: Record<TaskPhase, string> = {
  queued: 'pending',
  running: 'running',
  generated: 'running',
  reviewing: 'running',
  succeeded: 'success',
  failed: 'failed',
  timeout: 'failed',
  canceled: 'failed',
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** liblib-v1's envelope `{code, msg, data}` with its HTTP status (001 §6). */
class Reply extends SimReply {
  constructor(httpStatus: number, code: number, msg: string, data: unknown = null) {
    super(httpStatus, { code, msg, data }, retryAfterHeader(httpStatus));
  }
}

/** Most outputs one task renders. */
const MAX_OUTPUTS = 16;

/** Checks a submission; answers the operation and prompt or throws a 400 `Reply`. */
function validate(body: unknown): { operation: 'text2img' | 'img2img'; prompt: string; count: number } {
  if (!isObject(body)) throw new Reply(400, 400, 'body must be a JSON object');
  const { prompt, model_id: modelId, n_iter: nIter, image, strength } = body;
  // 000 / 001 §4.1.3–§4.1.4: prompt and model_id 是 (required), image 是 for img2img. They give no
  // prompt length and no n_iter range (001's "例如 1 或 4" is an example), so neither is bounded
  // here: 002's limits belong to another API. strength is "通常在 0 到 1 之间" (001), the one range.
  if (typeof prompt !== 'string' || prompt.trim() === '') throw new Reply(400, 400, 'prompt is required');
  if (typeof modelId !== 'string' || modelId === '') throw new Reply(400, 400, 'model_id is required');
  // Moderation stand-in, as in the liblib mode: the word "forbidden" (002 code 100052).
  if (/\bforbidden\b/i.test(prompt)) throw new Reply(400, 100052, 'prompt contains sensitive content');
  const count = nIter ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new Reply(400, 400, 'n_iter must be a positive integer');
  }
  if (image !== undefined) {
    if (typeof image !== 'string' || image === '') throw new Reply(400, 400, 'image must be a URL or base64');
    if (strength !== undefined && (typeof strength !== 'number' || strength < 0 || strength > 1)) {
      throw new Reply(400, 400, 'strength must be 0–1');
    }
  }
  // Any n_iter is taken; at most MAX_OUTPUTS are rendered, so a test tool stays bounded.
  return {
    operation: image === undefined ? 'text2img' : 'img2img',
    prompt,
    count: Math.min(count, MAX_OUTPUTS),
  };
}

/** The `liblib-v1` mode factory. */
export const liblibV1Mode: ModeFactory = (ctx: ModeContext): SimMode => {
  const envelope = (
    res: ServerResponse,
    httpStatus: number,
    code: number,
    msg: string,
    data: unknown = null,
  ) => sendReply(res, new Reply(httpStatus, code, msg, data));

  const limitReply = (res: ServerResponse, kind: 'qps' | 'in-flight', form?: 'http' | 'body') => {
    const configured = ctx.options.limitErrorForm;
    const chosen = form ?? (configured === 'auto' ? (kind === 'qps' ? 'http' : 'body') : configured);
    const code = kind === 'qps' ? 429 : 100054;
    const msg = kind === 'qps' ? 'too many requests' : 'concurrent task limit reached';
    envelope(res, chosen === 'http' ? 429 : 200, code, msg);
  };

  const submit = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const fault = ctx.faults.take('submit');
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    if (fault?.kind === 'rate-limit') return limitReply(res, 'qps', fault.form);
    if (fault?.kind === 'concurrency-limit') return limitReply(res, 'in-flight', fault.form);
    const body = await req.json();
    const verdict = ctx.admit(req);
    if (verdict === 'qps') return limitReply(res, 'qps');
    if (verdict === 'in-flight') return limitReply(res, 'in-flight');
    const { operation, prompt, count } = validate(body);
    const task = ctx.accept({ operation, prompt, outputCount: count, data: { input: body } }, req);
    envelope(res, 200, 0, '', { task_id: task.id });
  };

  const status = async (req: SimRequest, res: ServerResponse, id: string): Promise<void> => {
    ctx.statusQuery();
    const task = ctx.taskOf(req, id);
    const fault = ctx.faults.take('status', task ? undefined : ['5xx', 'malformed-json', 'hang', 'reset']);
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    if (!task) throw new Reply(404, 404, 'task not found');
    const at = ctx.now();
    let phase = ctx.tasks.phase(task, at);
    if (fault?.kind === 'status-backwards') phase = backwards(phase);
    const value = STATUS[phase];
    const ended = value === 'success' || value === 'failed';
    ctx.tasks.recordQuery(task, at, ended);
    const images = value === 'success' ? ctx.tasks.servedOutputs(task, at) : [];
    envelope(res, 200, 0, '', {
      task_id: task.id,
      status: value,
      progress: ctx.tasks.progress(task, at),
      output: value === 'success' ? { images: images.map((o) => ({ url: o.url, seed: o.seed })) } : null,
      error_message: value === 'failed' ? errorMessage(task, phase) : null,
    });
  };

  return {
    async handle(req, res) {
      const taskMatch = TASK_PATH.exec(req.path);
      if (req.path !== SUBMIT_PATH && !taskMatch) return false;
      const method = taskMatch ? 'GET' : 'POST';
      if (req.method !== method) throw new Reply(405, 405, 'method not allowed');
      if (!ctx.checkBearer(req)) throw new Reply(401, 401, 'Unauthorized: invalid or missing API key');
      if (taskMatch) await status(req, res, decodeURIComponent(taskMatch[1]!));
      else await submit(req, res);
      return true;
    },
  };
};

function errorMessage(task: TaskRecord, phase: TaskPhase): string {
  if (phase === 'canceled') return 'task canceled';
  return task.message || 'generation failed';
}

/** An earlier phase, for the status-backwards fault. */
function backwards(phase: TaskPhase): TaskPhase {
  return phase === 'queued' ? 'queued' : phase === 'running' ? 'queued' : 'running';
}

/** This provider's entry of the mode registry, loaded by `registry.ts` from the catalog's name. */
export const mode = {
  create: liblibV1Mode,
  credentials: (o) => ({ apiKey: o.token }),
} satisfies ModeEntry<CredentialsOf<'liblib-v1'>>;
