/**
 * LiblibAI OpenAPI mode (spec 002): signed POSTs, every submission endpoint of the digest table,
 * the three status endpoints, model version lookup, and the upload flow (signature call + a fake
 * Aliyun OSS PostObject endpoint).
 *
 * Strictness chosen on purpose, so client bugs show up here rather than in production:
 * - each task answers only on the status endpoint the manual gives for its operation
 *   (webui → `/api/generate/webui/status`, ComfyUI → `/api/generate/comfy/status`, everything else
 *   including Qwen-Image → `/api/generate/status`); elsewhere it is 100051 (task does not exist);
 * - `templateUuid` must be one the manual lists for the path (the manual's `templateUUID` spelling
 *   in two img2img tables is a typo: the API takes `templateUuid`, so the other spelling is 100000).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { CredentialsOf } from '@genqueue/providers';
import { type FormPart, parseMultipart, sendReply } from '../internal/http.ts';
import { hash32 } from '../internal/random.ts';
import {
  type ModeContext,
  type ModeEntry,
  type ModeFactory,
  Reply,
  type SimMode,
  type SimRequest,
} from '../mode.ts';
import type { TaskPhase, TaskRecord } from '../tasks.ts';
import { LIBLIB_PARAM_RULES, QWEN_TEMPLATE } from './liblib-rules.ts';

/** Signatures are valid 5 minutes around the server's clock (002 §2.4.1). */
export const SIGNATURE_WINDOW_MS = 5 * 60 * 1000;

/** 002 §6.2.2: IMG1 inpaint's image and mask are at most 4 MB. */
const IMG1_INPAINT_MAX_BYTES = 4 * 1024 * 1024;

/** Points on a fresh account. */
export const INITIAL_BALANCE = 100_000;

/** Path of the fake OSS bucket; upload URLs are `{url}{OSS_BUCKET_PATH}/{key}`. */
export const OSS_BUCKET_PATH = '/oss/liblibai-tmp-image';

const WEBUI_STATUS = '/api/generate/webui/status';
const GENERIC_STATUS = '/api/generate/status';
const COMFY_STATUS = '/api/generate/comfy/status';
const STATUS_PATHS = new Set([WEBUI_STATUS, GENERIC_STATUS, COMFY_STATUS]);

/** Upload extensions and the content type each file is served with. */
const UPLOAD_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

/** One submission endpoint of 002. */
interface SubmitRoute {
  /** Templates the manual lists for this path. */
  templates: readonly string[];
  /** Used when the body has no templateUuid (ComfyUI only, 002 §8.1). */
  defaultTemplate?: string;
  kind: 'image' | 'video';
  /** Whether a submission without a prompt is refused; `option` defers to `customPromptRequired`. */
  promptRequired: boolean | 'option';
  /** Kontext prices per image by model (002 §5). */
  kontext?: true;
  statusPath: (template: string) => string;
}

const webui = () => WEBUI_STATUS;
const generic = () => GENERIC_STATUS;

/** Submission endpoints and their templates (002 §3, §4.4.1, §5–§11; digest table). */
const SUBMIT_ROUTES: Record<string, SubmitRoute> = {
  '/api/generate/webui/text2img/ultra': {
    templates: ['5d7e67009b344550bc1aa6ccbfa1d7f4'],
    kind: 'image',
    promptRequired: true,
    statusPath: webui,
  },
  '/api/generate/webui/img2img/ultra': {
    templates: ['07e00af4fc464c7ab55ff906f8acf1b7'],
    kind: 'image',
    promptRequired: true,
    statusPath: webui,
  },
  '/api/generate/webui/text2img': {
    // F.1, 1.5/XL, ControlNet inpaint, InstantID (§4.4.1), Star-3 subject reference (§4.4.2), Qwen (§11).
    templates: [
      '6f7c4652458d4802969f8d089cf5b91f',
      'e10adc3949ba59abbe56e057f20f883e',
      'b689de89e8c9407a874acd415b3aa126',
      '7d888009f81d4252a7c458c874cd017f',
      '5d7e67009b344550bc1aa6ccbfa1d7f4',
      QWEN_TEMPLATE,
    ],
    kind: 'image',
    // 002 disagrees with itself: the tables (§4.2.1, §11.1.2) mark prompt 是 (required), the
    // examples on this path (§4.1.3.1, §4.4.2, §11.1.2) say 选填 (optional). Both readings are
    // served: optional by default, required with `customPromptRequired`.
    promptRequired: 'option',
    // Qwen-Image is submitted on the webui path but polled on the generic one (002 §11).
    statusPath: (template) => (template === QWEN_TEMPLATE ? GENERIC_STATUS : WEBUI_STATUS),
  },
  '/api/generate/webui/img2img': {
    templates: [
      '63b72710c9574457ba303d9d9b8df8bd',
      '9c7d531dc75f476aa833b3d452b8f7ad',
      '74509e1b072a4c45a7f1843a963c8462',
    ],
    kind: 'image',
    // 002 §4.2.4: prompt 必填 (required).
    promptRequired: true,
    statusPath: webui,
  },
  '/api/generate/kontext/text2img': {
    templates: ['fe9928fde1b4491c9b360dd24aa2b115'],
    kind: 'image',
    promptRequired: true,
    kontext: true,
    statusPath: generic,
  },
  '/api/generate/kontext/img2img': {
    templates: ['1c0a9712b3d84e1b8a9f49514a46d88c'],
    kind: 'image',
    promptRequired: true,
    kontext: true,
    statusPath: generic,
  },
  '/api/generate/smart-img1/generate': {
    templates: ['86c58ea26e9a45bd9f562c6306c17c0f'],
    kind: 'image',
    promptRequired: true,
    statusPath: generic,
  },
  '/api/generate/smart-img1/inpaint': {
    templates: ['0fb3ddb15a094e74b1241fbda5db3199'],
    kind: 'image',
    promptRequired: true,
    statusPath: generic,
  },
  '/api/generate/libDream': {
    templates: ['aa835a39c1a14cfca47c6fc941137c51'],
    kind: 'image',
    promptRequired: true,
    statusPath: generic,
  },
  '/api/generate/libEdit': {
    templates: ['cd3a6751086b4483ba5f0523aef53a79'],
    kind: 'image',
    promptRequired: true,
    statusPath: generic,
  },
  '/api/generate/libEditV2': {
    // 002 §9.3's request example, then §9.3.1's table (which repeats libEdit's UUID): the manual
    // gives both, so a server following either reading takes them.
    templates: ['c92f91c771db42e2b5dbff66e2e4f7a2', 'cd3a6751086b4483ba5f0523aef53a79'],
    kind: 'image',
    promptRequired: true,
    statusPath: generic,
  },
  '/api/generate/seedreamV4': {
    templates: ['0b6bad2fd350433ebb5abc7eb91f2ec9'],
    kind: 'image',
    promptRequired: true,
    statusPath: generic,
  },
  '/api/generate/comfyui/app': {
    templates: ['4df2efa0f18d46dc9758803e478eb51c'],
    defaultTemplate: '4df2efa0f18d46dc9758803e478eb51c',
    kind: 'image',
    promptRequired: false,
    statusPath: () => COMFY_STATUS,
  },
  '/api/generate/video/kling/text2video': {
    templates: ['61cd8b60d340404394f2a545eeaf197a'],
    kind: 'video',
    promptRequired: true,
    statusPath: generic,
  },
  '/api/generate/video/kling/img2video': {
    templates: ['180f33c6748041b48593030156d2a71d'],
    kind: 'video',
    // 002 §10.2.2 / §10.3.2: prompt 必填 (required).
    promptRequired: true,
    statusPath: generic,
  },
  '/api/generate/video/kling/multiImg2video': {
    templates: ['ca01e798b4424587b0dfdb98b089da05'],
    kind: 'video',
    // 002 §10.2.2 / §10.3.2: prompt 必填 (required).
    promptRequired: true,
    statusPath: generic,
  },
};

/** Every submission path of the LiblibAI mode, for tests and docs. */
export const LIBLIB_SUBMIT_PATHS = Object.keys(SUBMIT_ROUTES);

/** The first template the manual lists for each submission path. */
export const LIBLIB_TEMPLATES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(SUBMIT_ROUTES).map(([path, route]) => [path, route.templates[0]!]),
);

/** LiblibAI's own error messages (002 §13). */
const MESSAGES: Record<number, string> = {
  401: '签名验证失败',
  429: '请求太多，请稍后重试',
  100000: '参数无效',
  100021: '用户积分不足',
  100030: '图片地址无法访问，或大小超出限制',
  100051: '生图任务不存在',
  100052: '提示词中包含敏感内容，请修改',
  100054: '当前进行中任务数量已达到并发任务上限',
  100120: '参数模板不存在',
  200001: '模型不存在',
};

const STATUS_CODE: Record<TaskPhase, number> = {
  queued: 1,
  running: 2,
  generated: 3,
  reviewing: 4,
  succeeded: 5,
  failed: 6,
  timeout: 7,
  canceled: 6,
};

/** An upload-signature grant, checked by the OSS endpoint. */
interface UploadGrant {
  key: string;
  policy: string;
  date: string;
  expires: number;
  signature: string;
  credential: string;
  version: string;
  expiresAt: number;
  contentType: string;
}

/** LiblibAI's envelope `{code, msg, data}` (002 §1, §13), with its HTTP status (200 unless 401/429). */
class LiblibReply extends Reply {
  constructor(code: number, detail?: string, httpStatus = 200, data: unknown = null) {
    super(httpStatus, { code, msg: code === 0 ? '' : (detail ?? MESSAGES[code] ?? 'error'), data });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `liblib` mode factory. */
export const liblibMode: ModeFactory = (ctx: ModeContext): SimMode => {
  const usedNonces = new Map<string, number>();
  const grants = new Map<string, UploadGrant>();
  /** Points left per account (each account has its own balance). */
  const balances = new Map<string, number>();
  const balanceOf = (account: string) => balances.get(account) ?? INITIAL_BALANCE;
  const refunded = new WeakSet<TaskRecord>();

  /** Refunds failed and timed-out tasks once they end (002: points are refunded on timeout). */
  const settle = (task: TaskRecord, phase: TaskPhase) => {
    if ((phase === 'failed' || phase === 'timeout') && !refunded.has(task)) {
      refunded.add(task);
      balances.set(task.account, balanceOf(task.account) + Number(task.data.pointsCost ?? 0));
    }
  };
  const settleAll = () => {
    const at = ctx.now();
    for (const task of ctx.tasks.all()) if (at >= task.endsAt) settle(task, ctx.tasks.phase(task, at));
  };

  /**
   * An approved output's `auditStatus`: 3 (passed, 002 §4.3.2), or left out for a share of tasks,
   * since 002 §3.2 says the list holds only approved images.
   */
  const audit = (task: TaskRecord): { auditStatus?: number } =>
    hash32(`${task.id}:audit`) / 2 ** 32 < ctx.options.auditStatusMissingRate ? {} : { auditStatus: 3 };

  const reply = (res: ServerResponse, code: number, data: unknown = null, httpStatus = 200, msg?: string) =>
    sendReply(res, new LiblibReply(code, msg, httpStatus, data));

  /** 002 §2.4: HMAC-SHA1 over `path&timestamp&nonce`, base64url without padding; 5-minute window; one-time nonce. */
  const verifySignature = (req: SimRequest): boolean => {
    const q = req.query;
    const accessKey = q.get('AccessKey');
    const signature = q.get('Signature');
    const timestamp = q.get('Timestamp');
    const nonce = q.get('SignatureNonce');
    if (!accessKey || !signature || !timestamp || !nonce) return false;
    const account = ctx.accounts.byAccessKey(accessKey);
    if (!account) return false;
    if (!/^\d+$/.test(timestamp)) return false;
    const at = ctx.now();
    if (Math.abs(at - Number(timestamp)) > SIGNATURE_WINDOW_MS) return false;
    const expected = createHmac('sha1', account.secretKey)
      .update(`${req.path}&${timestamp}&${nonce}`)
      .digest('base64url');
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) return false;
    // Nonces only need remembering while their timestamp is valid; prune the oldest first.
    for (const [seen, until] of usedNonces) {
      if (until > at) break;
      usedNonces.delete(seen);
    }
    if (usedNonces.has(nonce)) return false;
    usedNonces.set(nonce, at + 2 * SIGNATURE_WINDOW_MS);
    req.account = account;
    return true;
  };

  /** Answers a limit breach (real or injected) in the configured or requested form. */
  const limitReply = (
    res: ServerResponse,
    code: 429 | 100054,
    form?: 'http' | 'body',
    retryAfter?: string,
  ) => {
    const configured = ctx.options.limitErrorForm;
    const chosen = form ?? (configured === 'auto' ? (code === 429 ? 'http' : 'body') : configured);
    // The manual names no Retry-After; a fault may send one to try how the client treats it.
    if (retryAfter !== undefined) res.setHeader('retry-after', retryAfter);
    reply(res, code, null, chosen === 'http' ? 429 : 200);
  };

  const submit = async (req: SimRequest, res: ServerResponse, route: SubmitRoute): Promise<void> => {
    const fault = ctx.faults.take('submit');
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    if (fault?.kind === 'rate-limit') return limitReply(res, 429, fault.form, fault.retryAfter);
    if (fault?.kind === 'concurrency-limit') return limitReply(res, 100054, fault.form, fault.retryAfter);
    const body = await req.json();
    const verdict = ctx.admit(req);
    if (verdict === 'qps') return limitReply(res, 429);
    if (verdict === 'in-flight') return limitReply(res, 100054);
    // An account switched to fail: the provider's "not enough points" (100021), no task, no points.
    if (ctx.accountError(req)) throw new LiblibReply(100021);
    settleAll();
    const promptRequired =
      route.promptRequired === 'option' ? ctx.options.customPromptRequired : route.promptRequired;
    const { template, params, prompt, count, cost } = validateSubmission(
      body,
      route,
      req.path,
      promptRequired,
    );
    downloadCheck(req.path, params);
    const account = req.account!.id;
    if (balanceOf(account) < cost) throw new LiblibReply(100021);
    const task = ctx.accept(
      {
        operation: req.path,
        ...(prompt !== undefined ? { prompt } : {}),
        outputCount: count,
        kind: route.kind,
        data: { pointsCost: cost, statusPath: route.statusPath(template), templateUuid: template, params },
      },
      req,
    );
    balances.set(account, balanceOf(account) - cost);
    if (fault?.kind === 'accept-hang') {
      // The task exists and counts from now on; the client only learns its id late, or never.
      const delayMs = fault.delayMs;
      if (delayMs !== undefined) {
        setTimeout(() => {
          if (!res.destroyed) reply(res, 0, { generateUuid: task.id });
        }, delayMs).unref();
      }
      return;
    }
    reply(res, 0, { generateUuid: task.id });
  };

  /**
   * What the provider learns only by downloading an image, checked where the simulator holds the
   * file (uploaded through its OSS): 002 §6.2.2, IMG1 inpaint's image and mask are "不超过4MB" and
   * the mask is a png; too large is 100030 (002 §13: 大小超出限制).
   */
  const downloadCheck = (path: string, params: Record<string, unknown>) => {
    if (path !== '/api/generate/smart-img1/inpaint') return;
    for (const field of ['image', 'mask']) {
      const value = params[field];
      if (typeof value !== 'string' || !value.startsWith(`${ctx.url}/`)) continue;
      const file = ctx.files.get(new URL(value).pathname);
      if (!file) continue;
      if (file.bytes.length > IMG1_INPAINT_MAX_BYTES) {
        throw new LiblibReply(100030, `${field}: 图片大小不能大于4M`);
      }
      if (field === 'mask' && file.contentType !== 'image/png') {
        throw new LiblibReply(100000, 'mask must be a png');
      }
    }
  };

  const status = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const body = await req.json();
    ctx.statusQuery();
    const id = isObject(body) ? body.generateUuid : undefined;
    // A task id belongs to the account that created it: another account's key gets 100051.
    const task = typeof id === 'string' ? ctx.taskOf(req, id) : undefined;
    const fault = ctx.faults.take('status', task ? undefined : ['5xx', 'malformed-json', 'hang', 'reset']);
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    if (typeof id !== 'string' || id === '') throw new LiblibReply(100000, 'generateUuid is required');
    if (!task || task.data.statusPath !== req.path) throw new LiblibReply(100051);
    const at = ctx.now();
    const phase = ctx.tasks.phase(task, at);
    settle(task, phase);
    let code = STATUS_CODE[phase];
    if (fault?.kind === 'status-backwards') code = backwards(code, task);
    const ended = code >= 5;
    ctx.tasks.recordQuery(task, at, ended);
    const served = code === 5 ? ctx.tasks.servedOutputs(task, at) : [];
    const cost = phase === 'failed' || phase === 'timeout' ? 0 : Number(task.data.pointsCost ?? 0);
    // 002 §6.3.2 / §11.2.2: percentCompleted and images[].seed — "智能算法IMG1不支持" (not for IMG1).
    const img1 = task.operation.startsWith('/api/generate/smart-img1/');
    const data: Record<string, unknown> = {
      generateUuid: task.id,
      generateStatus: code,
      generateMsg: code >= 5 ? task.message : '',
      pointsCost: cost,
      accountBalance: balanceOf(task.account),
      images:
        task.kind === 'image'
          ? served.map((o) => ({ imageUrl: o.url, ...(img1 ? {} : { seed: o.seed }), ...audit(task) }))
          : [],
    };
    // 002 §3.2: percentCompleted is "not implemented yet" on some endpoints; some tasks never fill it.
    if (!img1 && hash32(task.id) / 2 ** 32 >= ctx.options.percentMissingRate) {
      data.percentCompleted = code === 5 ? 1 : ctx.tasks.progress(task, Math.min(at, task.endsAt - 1));
    }
    if (task.kind === 'video') {
      data.videos = served.map((o) => ({ videoUrl: o.url, coverPath: o.coverUrl, ...audit(task) }));
    }
    if (
      code === 5 &&
      task.outcome === 'review-blocked' &&
      hash32(`${task.id}:rejected`) / 2 ** 32 < ctx.options.reviewBlockedListedRate
    ) {
      // 002 §3.2 lists only approved images, so most blocked answers leave them out; some servers
      // list them with the rejection (002 §4.3.2: 4 blocked, 5 review failed) and no usable URL.
      const rejected = task.outputs.map((_output, n) => ({
        [task.kind === 'video' ? 'videoUrl' : 'imageUrl']: `${ctx.url}/blocked/${task.id}/${n}`,
        auditStatus: n % 2 === 0 ? 4 : 5,
      }));
      if (task.kind === 'video') data.videos = rejected;
      else data.images = rejected;
    }
    reply(res, 0, data);
  };

  const uploadSignature = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const fault = ctx.faults.take('upload', ['5xx', 'malformed-json', 'hang', 'reset']);
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    const body = await req.json();
    if (!isObject(body)) throw new LiblibReply(100000, 'body must be a JSON object');
    const { name, extension } = body;
    if (typeof name !== 'string' || name.length === 0 || name.length > 100) {
      throw new LiblibReply(100000, 'name must be 1–100 characters');
    }
    const ext = typeof extension === 'string' ? extension.toLowerCase() : '';
    // The upload document names extensions "such as" jpg, jpeg, png; the generation endpoints take
    // WEBP URLs too (002 §5.2.2), so webp is accepted here as well.
    if (!Object.hasOwn(UPLOAD_TYPES, ext))
      throw new LiblibReply(100000, 'extension must be jpg, jpeg, png or webp');
    const at = ctx.now();
    const iso = new Date(at).toISOString();
    const date = iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const key = `img/${ctx.random.hex(32)}/${ctx.random.hex(16)}.${ext}`;
    const policy = Buffer.from(
      JSON.stringify({
        expiration: new Date(at + 3600_000).toISOString(),
        conditions: [
          { bucket: 'liblibai-tmp-image' },
          ['eq', '$key', key],
          ['content-length-range', 1, 10485760],
        ],
      }),
    ).toString('base64');
    const grant: UploadGrant = {
      key,
      policy,
      date,
      expires: 3600,
      signature: createHmac('sha256', ctx.options.secretKey).update(policy).digest('hex'),
      credential: `SIMOSSKEY/${date.slice(0, 8)}/cn-beijing/oss/aliyun_v4_request`,
      version: 'OSS4-HMAC-SHA256',
      expiresAt: at + 3600_000,
      contentType: UPLOAD_TYPES[ext]!,
    };
    grants.set(key, grant);
    ctx.accounts.countersOf(req.account!.id).uploads++;
    const postUrl = `${ctx.url}${OSS_BUCKET_PATH}`;
    const data =
      ctx.options.uploadSpelling === 'lower'
        ? {
            key,
            policy,
            postUrl,
            xossDate: grant.date,
            xossExpires: String(grant.expires),
            xossSignature: grant.signature,
            xossCredential: grant.credential,
            xossSignatureVersion: grant.version,
          }
        : {
            key,
            policy,
            postUrl,
            xOssDate: grant.date,
            xOssExpires: grant.expires,
            xOssSignature: grant.signature,
            xOssCredential: grant.credential,
            xOssSignatureVersion: grant.version,
          };
    reply(res, 0, data);
  };

  const ossError = (res: ServerResponse, status: number, code: string, message: string) => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  /** Aliyun OSS PostObject: every signed field, `file` last, matching the grant, ≤ 10 MB. */
  const ossPost = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const fault = ctx.faults.take('upload', ['5xx', 'malformed-json', 'hang', 'reset']);
    if (fault && ctx.faults.applyTransport(fault, req.raw, res)) return;
    const parts = parseMultipart(await req.body(), req.raw.headers['content-type']);
    if (!parts) return ossError(res, 400, 'InvalidArgument', 'Body is not well-formed multipart/form-data.');
    const last = parts[parts.length - 1];
    if (last?.name !== 'file') {
      return ossError(res, 400, 'InvalidArgument', 'The file must be the last form field.');
    }
    const field = (name: string): string | undefined =>
      parts.find((p: FormPart) => p.name.toLowerCase() === name)?.data.toString('utf8');
    const required = [
      'key',
      'policy',
      'x-oss-date',
      'x-oss-expires',
      'x-oss-signature',
      'x-oss-credential',
      'x-oss-signature-version',
    ];
    const missing = required.filter((name) => field(name) === undefined);
    if (missing.length > 0)
      return ossError(res, 400, 'InvalidArgument', `Missing form fields: ${missing.join(', ')}`);
    const grant = grants.get(field('key')!);
    if (!grant) return ossError(res, 403, 'AccessDenied', 'Invalid according to Policy: key.');
    if (ctx.now() > grant.expiresAt)
      return ossError(res, 403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');
    const matches =
      field('policy') === grant.policy &&
      field('x-oss-date') === grant.date &&
      field('x-oss-expires') === String(grant.expires) &&
      field('x-oss-signature') === grant.signature &&
      field('x-oss-credential') === grant.credential &&
      field('x-oss-signature-version') === grant.version;
    if (!matches) {
      return ossError(
        res,
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match.',
      );
    }
    if (last.data.length === 0 || last.data.length > 10 * 1024 * 1024) {
      return ossError(res, 400, 'EntityTooLarge', 'Your proposed upload is empty or exceeds 10 MB.');
    }
    ctx.files.set(`${OSS_BUCKET_PATH}/${grant.key}`, {
      bytes: Buffer.from(last.data),
      contentType: grant.contentType,
    });
    res.writeHead(204).end();
  };

  /** 002 §4.1.2: a plausible record for any 32-hex versionUuid; others are not found. */
  const modelVersion = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const body = await req.json();
    const uuid = isObject(body) ? body.versionUuid : undefined;
    if (typeof uuid !== 'string' || uuid === '') throw new LiblibReply(100000, 'versionUuid is required');
    if (!/^[0-9a-f]{32}$/.test(uuid)) {
      throw new LiblibReply(
        200001,
        `未找到与${uuid}对应的模型，请检查version_uuid是否正确，或所选模型是否为Checkpoint或LoRA`,
      );
    }
    const algos = ['基础算法 F.1', '基础算法 XL', '基础算法 1.5'];
    reply(res, 0, {
      version_uuid: uuid,
      model_name: `Simulated model ${uuid.slice(0, 6)}`,
      version_name: '1.0',
      baseAlgo: algos[hash32(uuid) % algos.length],
      show_type: '1',
      commercial_use: '1',
      model_url: `https://www.liblib.art/modelinfo/${uuid.slice(0, 32)}?versionUuid=${uuid}`,
    });
  };

  return {
    async handle(req, res) {
      if (req.path === OSS_BUCKET_PATH) {
        if (req.method !== 'POST') return false;
        await ossPost(req, res);
        return true;
      }
      const route = SUBMIT_ROUTES[req.path];
      const known =
        route !== undefined ||
        STATUS_PATHS.has(req.path) ||
        req.path === '/api/generate/upload/signature' ||
        req.path === '/api/model/version/get';
      if (!known) return false;
      if (req.method !== 'POST') throw new LiblibReply(405, 'method not allowed', 405);
      if (!verifySignature(req)) {
        ctx.counters.authFailures++;
        throw new LiblibReply(401, undefined, 401);
      }
      if (route) await submit(req, res, route);
      else if (STATUS_PATHS.has(req.path)) await status(req, res);
      else if (req.path === '/api/generate/upload/signature') await uploadSignature(req, res);
      else await modelVersion(req, res);
      return true;
    },
  };

  /** An earlier status than `code`, for the status-backwards fault. */
  function backwards(code: number, task: TaskRecord): number {
    if (code >= 5) return task.reviewPhase ? 4 : 2;
    return Math.max(1, code === 3 || code === 4 ? 2 : code - 1);
  }
};

/** Checks a submission body; throws `LiblibReply` with the provider's code when invalid. */
function validateSubmission(
  body: unknown,
  route: SubmitRoute,
  path: string,
  promptRequired: boolean,
): { template: string; params: Record<string, unknown>; prompt?: string; count: number; cost: number } {
  if (!isObject(body)) throw new LiblibReply(100000, 'body must be a JSON object');
  const template = body.templateUuid ?? route.defaultTemplate;
  if (typeof template !== 'string' || template === '')
    throw new LiblibReply(100000, 'templateUuid is required');
  if (!route.templates.includes(template)) throw new LiblibReply(100120);
  const params = body.generateParams;
  if (!isObject(params)) throw new LiblibReply(100000, 'generateParams must be an object');
  const prompt = params.prompt;
  if (prompt !== undefined && typeof prompt !== 'string')
    throw new LiblibReply(100000, 'prompt must be a string');
  if (promptRequired && (!prompt || prompt.trim() === ''))
    throw new LiblibReply(100000, 'prompt is required');
  const problems = LIBLIB_PARAM_RULES[path]!(params, template);
  if (problems.length > 0) throw new LiblibReply(100000, problems.join('; '));
  // Moderation stand-in (100052): the word "forbidden" in any prompt field.
  for (const field of [prompt, params.negativePrompt]) {
    if (typeof field === 'string' && /\bforbidden\b/i.test(field)) throw new LiblibReply(100052);
  }
  // The rules checked imgCount's range where the endpoint takes one.
  const count = Number.isInteger(params.imgCount) ? (params.imgCount as number) : 1;
  // 002 §5: Kontext pro 29, max (the default) 58 points per image; 10 elsewhere (the §3.2 example).
  const perImage = route.kontext ? (params.model === 'pro' ? 29 : 58) : 10;
  const out: {
    template: string;
    params: Record<string, unknown>;
    prompt?: string;
    count: number;
    cost: number;
  } = { template, params, count, cost: perImage * count };
  if (typeof prompt === 'string') out.prompt = prompt;
  return out;
}

/** This provider's entry of the mode registry, loaded by `registry.ts` from the catalog's name. */
export const mode = {
  create: liblibMode,
  credentials: (o) => ({ accessKey: o.accessKey, secretKey: o.secretKey }),
} satisfies ModeEntry<CredentialsOf<'liblib'>>;
