/**
 * The simulator's HTTP server: control API, output files, uploaded files, and everything else
 * dispatched to the active mode through the mode registry.
 *
 * Control API (no auth: a loopback test tool; never expose it):
 * - `GET  /__sim/health`  → `{ok: true, mode}`
 * - `GET  /__sim/stats`   → `SimulatorStats`
 * - `GET  /__sim/tasks`   → `SimTask[]`
 * - `POST /__sim/config`  body: a `SimulatorOptions` patch → the live options (400 on a bad patch)
 * - `POST /__sim/faults`  body: a `Fault` → 204 (400 on a bad fault); `GET` lists queued faults,
 *   `DELETE` drops them
 * - `POST /__sim/accounts/<id>` body: a `SimAccount` patch without `id`, e.g. `{"accountError": true}`
 *   → 204 (like `configureAccount()`; 400 on a bad patch or an unknown account)
 * - `POST /__sim/reset`   → 204; zeroes the counters (like `resetStats()`)
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { SimAccounts } from './accounts.ts';
import { FaultInjector } from './faults.ts';
import { BodyTooLargeError, readBody, sendBytes, sendJson, sendReply, sendSlowly } from './internal/http.ts';
import { createRandom } from './internal/random.ts';
import type { ModeEntry } from './mode.ts';
import { type ModeContext, Reply, type SimRequest, type StoredFile } from './mode.ts';
import { modes } from './modes/registry.ts';
import { renderMp4, renderPng } from './png.ts';
import { createCounters, SlidingCount } from './stats.ts';
import { type TaskRecord, TaskStore } from './tasks.ts';
import type {
  Fault,
  ResolvedSimAccount,
  ResolvedSimulatorOptions,
  SimTask,
  Simulator,
  SimulatorMode,
  SimulatorOptions,
  SimulatorStats,
} from './types.ts';

/** Result URLs expire after 7 days (002 §3.2: 地址有时效性：7天). */
export const OUTPUT_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Largest request body accepted, in bytes (uploads are ≤ 10 MB plus multipart overhead). */
const MAX_BODY_BYTES = 12 * 1024 * 1024;

/** Output bytes kept in memory, in bytes; least recently used files are dropped first. */
const OUTPUT_CACHE_BYTES = 256 * 1024 * 1024;

const DEFAULTS: Omit<ResolvedSimulatorOptions, 'now' | 'seed'> = {
  mode: 'liblib',
  host: '127.0.0.1',
  port: 0,
  accessKey: 'sim-access-key',
  secretKey: 'sim-secret-key',
  token: 'sim-token',
  accounts: [],
  submitQps: 1,
  maxInFlight: 5,
  latencyMs: { min: 1000, max: 3000 },
  failureRate: 0,
  reviewBlockRate: 0,
  timeoutRate: 0,
  limitErrorForm: 'auto',
  imageSize: { width: 64, height: 64 },
  outputPadBytes: 0,
  faultRates: {},
  uploadSpelling: 'camel',
  replicateAnswerStyle: 'prediction',
  replicatePredictionPaths: 'replicate',
  percentMissingRate: 0.3,
  auditStatusMissingRate: 0.3,
  reviewBlockedListedRate: 0.5,
  customPromptRequired: false,
  reviewPhaseRate: 0.5,
};

const rate = z.number().min(0).max(1);
const faultKind = z.enum([
  '5xx',
  'malformed-json',
  'hang',
  'accept-hang',
  'reset',
  'rate-limit',
  'concurrency-limit',
  'status-backwards',
  'image-404',
  'slow-image',
]);

const accountSchema = z
  .object({
    id: z.string().min(1),
    accessKey: z.string().min(1).optional(),
    secretKey: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    submitQps: z.number().positive().optional(),
    maxInFlight: z.number().int().min(0).optional(),
    accountError: z.boolean().optional(),
  })
  .strict();

/** What `configure()` and `POST /__sim/config` accept. */
const configPatchSchema = z
  .object({
    accessKey: z.string().min(1),
    secretKey: z.string().min(1),
    token: z.string().min(1),
    submitQps: z.number().positive(),
    maxInFlight: z.number().int().min(0),
    accounts: z
      .array(accountSchema)
      .refine((list) => new Set(list.map((a) => a.id)).size === list.length, 'account ids must be unique'),
    latencyMs: z
      .object({ min: z.number().min(0), max: z.number().min(0) })
      .refine((l) => l.max >= l.min, 'latencyMs.max must be ≥ min'),
    failureRate: rate,
    reviewBlockRate: rate,
    timeoutRate: rate,
    limitErrorForm: z.enum(['http', 'body', 'auto']),
    imageSize: z.object({
      width: z.number().int().min(1).max(8192),
      height: z.number().int().min(1).max(8192),
    }),
    outputPadBytes: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024 * 1024),
    faultRates: z.record(faultKind, rate),
    uploadSpelling: z.enum(['camel', 'lower']),
    replicateAnswerStyle: z.enum(['prediction', 'openai']),
    replicatePredictionPaths: z.enum(['replicate', 'proxy']),
    percentMissingRate: rate,
    auditStatusMissingRate: rate,
    reviewBlockedListedRate: rate,
    customPromptRequired: z.boolean(),
    reviewPhaseRate: rate,
  })
  .partial()
  .strict();

const faultSchema = z
  .object({
    kind: faultKind,
    endpoint: z.enum(['submit', 'status', 'image', 'upload', 'any']).optional(),
    count: z.number().int().min(1).optional(),
    form: z.enum(['http', 'body']).optional(),
    delayMs: z.number().min(0).optional(),
    retryAfter: z.string().max(64).optional(),
  })
  .strict();

/** Least-recently-used cache of rendered output files, bounded by total bytes. */
class OutputCache {
  private readonly entries = new Map<string, Buffer>();
  private size = 0;

  get(key: string, render: () => Buffer): Buffer {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const bytes = render();
    this.entries.set(key, bytes);
    this.size += bytes.length;
    for (const [oldKey, old] of this.entries) {
      if (this.size <= OUTPUT_CACHE_BYTES || oldKey === key) break;
      this.entries.delete(oldKey);
      this.size -= old.length;
    }
    return bytes;
  }
}

/** Starts a simulator on `host:port` and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const { now: nowOption, seed: seedOption, mode: modeOption, host, port, ...rest } = options;
  const mode: SimulatorMode = modeOption ?? DEFAULTS.mode;
  const entry: ModeEntry | undefined = modes[mode];
  if (!entry) throw new Error(`simulator mode ${mode} is not implemented yet`);
  const patch = configPatchSchema.parse(stripUndefined(rest));
  const opts: ResolvedSimulatorOptions = {
    ...DEFAULTS,
    ...patch,
    mode,
    host: host ?? DEFAULTS.host,
    port: port ?? DEFAULTS.port,
    now: nowOption ?? Date.now,
    seed: seedOption ?? randomInt(2 ** 31),
  } as ResolvedSimulatorOptions;
  const now = () => opts.now();
  const random = createRandom(opts.seed);
  const counters = createCounters();
  let baseUrl = '';
  const tasks = new TaskStore(
    () => opts,
    random,
    () => baseUrl,
  );
  const faults = new FaultInjector(
    () => opts.faultRates,
    random,
    () => counters,
  );
  const accounts = new SimAccounts(() => opts);
  const accountOf = (req: SimRequest): ResolvedSimAccount => {
    if (!req.account) throw new Error('simulator bug: a submission admitted before its auth check');
    return req.account;
  };
  const files = new Map<string, StoredFile>();
  const cache = new OutputCache();
  const statusRate = new SlidingCount(1_000);

  const ctx: ModeContext = {
    options: opts,
    get url() {
      return baseUrl;
    },
    now,
    random,
    counters,
    tasks,
    faults,
    accounts,
    files,
    admit(req) {
      const account = accountOf(req);
      const own = accounts.countersOf(account.id);
      counters.submissions++;
      own.submissions++;
      const verdict = accounts.limitsOf(account.id).check(req.arrivedAt, tasks.inFlight(now(), account.id));
      if (verdict === 'qps') counters.qpsBreaches++;
      if (verdict === 'in-flight') counters.inFlightBreaches++;
      // The account's own breaches are read from its log.
      if (verdict !== 'ok') own.log.push({ at: req.arrivedAt, outcome: verdict });
      return verdict;
    },
    accountError(req) {
      const account = accountOf(req);
      if (account.accountError) {
        accounts.countersOf(account.id).log.push({ at: req.arrivedAt, outcome: 'account-error' });
      }
      return account.accountError;
    },
    accept(input, req) {
      const account = accountOf(req);
      const own = accounts.countersOf(account.id);
      const at = now();
      const task = tasks.create(input, at, account.id);
      accounts.limitsOf(account.id).recordAccepted(req.arrivedAt);
      counters.accepted++;
      own.log.push({ at: req.arrivedAt, outcome: 'accepted' });
      own.maxInFlightObserved = Math.max(own.maxInFlightObserved, tasks.inFlight(at, account.id));
      if (input.prompt !== undefined) {
        const seen = counters.submissionsByPrompt[input.prompt] ?? 0;
        if (seen > 0) counters.duplicatePrompts++;
        counters.submissionsByPrompt[input.prompt] = seen + 1;
      }
      counters.maxInFlightObserved = Math.max(counters.maxInFlightObserved, tasks.inFlight(at));
      return task;
    },
    taskOf(req, id) {
      const task = tasks.get(id);
      return task && task.account === accountOf(req).id ? task : undefined;
    },
    checkBearer(req) {
      const header = req.raw.headers.authorization;
      const account = header?.startsWith('Bearer ') ? accounts.byToken(header.slice(7)) : undefined;
      if (!account) counters.authFailures++;
      else req.account = account;
      return account !== undefined;
    },
    statusQuery() {
      counters.statusQueries++;
      counters.peakStatusQps = Math.max(counters.peakStatusQps, statusRate.record(now()));
    },
  };
  const modeImpl = entry.create(ctx);

  /** Bytes of an output URL path, or undefined when it names no output of a succeeded task. */
  const outputAt = (path: string): { task: TaskRecord; bytes: Buffer; contentType: string } | undefined => {
    const m = /^\/(images|videos)\/([0-9a-zA-Z_-]+)\/(cover-)?(\d+)\.(png|mp4)$/.exec(path);
    if (!m) return undefined;
    const [, dir, id, cover, index, ext] = m;
    const task = tasks.get(id!);
    const output = task?.outputs[Number(index)];
    if (!task || !output || task.outcome !== 'succeeded') return undefined;
    const video = task.kind === 'video';
    if (
      dir === 'videos'
        ? !video || ext !== 'mp4' || cover
        : ext !== 'png' || (video && !cover) || (!video && cover)
    ) {
      return undefined;
    }
    const key = `${task.id}/${cover ? 'cover-' : ''}${index}/${output.seed}`;
    if (ext === 'mp4') return { task, bytes: cache.get(key, () => renderMp4(key)), contentType: 'video/mp4' };
    const { width, height } = opts.imageSize;
    const pad = cover ? 0 : opts.outputPadBytes;
    const bytes = cache.get(`${key}/${width}x${height}/${pad}`, () =>
      renderPng(key, width, height, { padBytes: pad }),
    );
    return { task, bytes, contentType: 'image/png' };
  };

  /** 404 until the task succeeded, 403 once the URL expired, then the (possibly faulted) bytes. */
  const serveOutput = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const found = outputAt(path);
    const at = now();
    if (!found || tasks.phase(found.task, at) !== 'succeeded') {
      sendJson(res, 404, { error: 'NoSuchKey' });
      return;
    }
    if (at - found.task.endsAt > OUTPUT_TTL_MS) {
      sendJson(res, 403, { error: 'AccessDenied', message: 'Request has expired' });
      return;
    }
    const fault = faults.take('image');
    if (fault && faults.applyTransport(fault, req, res)) return;
    if (fault?.kind === 'image-404') {
      sendJson(res, 404, { error: 'NoSuchKey' });
      return;
    }
    if (fault?.kind === 'slow-image' && req.method !== 'HEAD') {
      sendSlowly(res, found.bytes, found.contentType, fault.delayMs ?? 2000);
      return;
    }
    sendBytes(req, res, 200, found.bytes, found.contentType);
  };

  const simulator: Simulator = {
    get url() {
      return baseUrl;
    },
    options: opts,
    get credentials() {
      return entry.credentials(opts);
    },
    stats(): SimulatorStats {
      return {
        ...counters,
        inFlight: tasks.inFlight(now()),
        submissionsByPrompt: { ...counters.submissionsByPrompt },
        faultsInjected: { ...counters.faultsInjected },
        accounts: Object.fromEntries(
          accounts.list().map((a) => [a.id, accounts.statsOf(a.id, tasks.inFlight(now(), a.id))]),
        ),
      };
    },
    tasks(): SimTask[] {
      const at = now();
      tasks.inFlight(at);
      return tasks.all().map((t) => tasks.view(t, at));
    },
    imageBytes(url) {
      let path: string;
      try {
        path = new URL(url, baseUrl).pathname;
      } catch {
        return undefined;
      }
      return outputAt(path)?.bytes ?? files.get(path)?.bytes;
    },
    configure(change) {
      const immutable = (['mode', 'host', 'port', 'now', 'seed'] as const).filter((k) => k in change);
      if (immutable.length > 0) throw new TypeError(`cannot change ${immutable.join(', ')} at runtime`);
      Object.assign(opts, configPatchSchema.parse(stripUndefined(change)));
    },
    configureAccount(id, patch) {
      accounts.configure(id, stripUndefined(accountSchema.omit({ id: true }).parse(patch)));
    },
    inject(fault) {
      faults.inject(faultSchema.parse(fault) as Fault);
    },
    resetStats() {
      Object.assign(counters, createCounters());
      accounts.reset();
      statusRate.clear();
      counters.maxInFlightObserved = tasks.inFlight(now());
      for (const a of accounts.list()) {
        accounts.countersOf(a.id).maxInFlightObserved = tasks.inFlight(now(), a.id);
      }
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const route = `${req.method} ${path}`;
    const readJson = async () => JSON.parse((await readBody(req, MAX_BODY_BYTES)).toString('utf8') || '{}');
    try {
      switch (route) {
        case 'GET /__sim/health':
          return sendJson(res, 200, { ok: true, mode });
        case 'GET /__sim/stats':
          return sendJson(res, 200, simulator.stats());
        case 'GET /__sim/tasks':
          return sendJson(res, 200, simulator.tasks());
        case 'POST /__sim/config': {
          simulator.configure(await readJson());
          const { now: _now, ...visible } = opts;
          return sendJson(res, 200, visible);
        }
        case 'POST /__sim/faults':
          simulator.inject(await readJson());
          res.writeHead(204).end();
          return;
        case 'GET /__sim/faults':
          return sendJson(res, 200, faults.pending());
        case 'DELETE /__sim/faults':
          faults.clear();
          res.writeHead(204).end();
          return;
        case 'POST /__sim/reset':
          simulator.resetStats();
          res.writeHead(204).end();
          return;
        default: {
          const account = /^POST \/__sim\/accounts\/([^/]+)$/.exec(route);
          if (account) {
            simulator.configureAccount(decodeURIComponent(account[1]!), await readJson());
            res.writeHead(204).end();
            return;
          }
          return sendJson(res, 404, { error: `no control route ${route}` });
        }
      }
    } catch (err) {
      const message =
        err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`) : err;
      return sendJson(res, 400, { error: String(message instanceof Error ? message.message : message) });
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/__sim/')) return control(req, res, path);
    if ((method === 'GET' || method === 'HEAD') && /^\/(images|videos)\//.test(path)) {
      return serveOutput(req, res, path);
    }
    const stored = method === 'GET' || method === 'HEAD' ? files.get(path) : undefined;
    if (stored) return sendBytes(req, res, 200, stored.bytes, stored.contentType);
    let body: Promise<Buffer> | undefined;
    const simReq: SimRequest = {
      arrivedAt: now(),
      method,
      path,
      query: url.searchParams,
      raw: req,
      body: () => {
        body ??= readBody(req, MAX_BODY_BYTES);
        return body;
      },
      json: async () => {
        try {
          return JSON.parse((await simReq.body()).toString('utf8')) as unknown;
        } catch (err) {
          if (err instanceof BodyTooLargeError) throw err;
          return undefined;
        }
      },
    };
    try {
      if (!(await modeImpl.handle(simReq, res))) sendJson(res, 404, { error: `no route ${method} ${path}` });
    } catch (err) {
      if (!(err instanceof Reply)) throw err;
      // The client may have gone (a synchronous mode held the answer): nothing to answer then.
      if (!res.destroyed && !res.headersSent) sendReply(res, err);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof BodyTooLargeError) return sendJson(res, 413, { error: err.message });
      // A simulator bug must not look like an injected fault: say so loudly.
      console.error('[simulator] internal error', err);
      sendJson(res, 500, { error: 'simulator internal error', detail: String(err) });
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${hostForUrl}:${address.port}`;
  opts.port = address.port;
  return simulator;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
