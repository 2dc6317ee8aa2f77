/**
 * The job store: genqueue's own records of jobs and batches in Redis, under their own keys.
 *
 * BullMQ jobs are only the work items; they are removed soon after they finish. The records here
 * are what users see (`GET /v1/jobs/:id`), outlive BullMQ's cleanup, and are the source of truth
 * for a job's state. Every state change goes through one Lua script that checks the state machine
 * and keeps the batch counters exact in the same atomic step, so a batch's counts are one HGETALL
 * however large it is.
 *
 * Keys (all under the queue prefix, so a hash-tagged prefix keeps them in one Cluster slot):
 * - `{p}:job:{id}`: HASH, one per job. Batch items store only their own input; the batch's
 *   provider, operation and defaults live once in the batch hash (memory per queued job).
 * - `{p}:batch:{id}`: HASH with the batch's settings and `n:{state}` counters.
 * - `{p}:batches`: ZSET batch id → creation time, newest last: the batch list. Entries whose
 *   batch has expired are dropped when a listing meets them.
 * - `{p}:webhooks:{ownerId}`: HASH delivery id → delivery record (JSON).
 * - `{p}:idem:{scope}:{key}`: STRING → job id, for `Idempotency-Key`.
 */
import type { JobError } from './errors.ts';
import { parseBatchItemId } from './ids.ts';
import { canTransition, isTerminal, JOB_STATES, type JobState, TERMINAL_STATES } from './job-state.ts';
import type { RedisClient } from './redis-connection.ts';

/** One stored result file. */
export interface StoredOutput {
  bucket: string;
  key: string;
  contentType: string;
  bytes: number;
  sha256: string;
  seed?: number;
  /** A small WebP preview stored beside the result (not a provider output). */
  thumbnail?: { key: string };
  /** A video's cover image as the provider gave it (LiblibAI `coverPath`), stored beside the video. */
  cover?: { key: string; contentType: string; bytes: number };
}

/** A job as the store knows it. Times are epoch milliseconds. */
export interface JobRecord {
  id: string;
  state: JobState;
  provider: string;
  operation: string;
  /** The job's input, batch defaults merged in. */
  input: Record<string, unknown>;
  /** The input after the provider's `prepare` (uploaded images replaced by URLs), when it differs. */
  preparedInput?: Record<string, unknown>;
  webhookUrl?: string;
  /** Which events this job sends to `webhookUrl`. */
  events: string[];
  metadata?: Record<string, unknown>;
  batchId?: string;
  providerTaskId?: string;
  providerStatus?: string;
  /** Submission attempts that reached the provider or failed transiently. */
  attempts: number;
  outputs: StoredOutput[];
  pointsCost?: number;
  /** The provider account's balance as the task's last status answer reported it (LiblibAI `accountBalance`). */
  accountBalance?: number;
  error?: JobError;
  createdAt: number;
  /** When the last submission request started; set before the request leaves. */
  submitStartedAt?: number;
  submittedAt?: number;
  /** When the provider reported the task ended. */
  taskEndedAt?: number;
  finishedAt?: number;
  /** A cancel was asked for while the task was running at a provider that can't cancel. */
  cancelRequested: boolean;
}

/** A batch as the store knows it. */
export interface BatchRecord {
  id: string;
  provider: string;
  operation: string;
  defaults: Record<string, unknown>;
  total: number;
  counts: Record<JobState, number>;
  pointsCost: number;
  /** The provider account's balance as the latest ended task of the batch reported it. */
  accountBalance?: number;
  maxPoints?: number;
  webhookUrl?: string;
  /** Per-job events the batch asked for (`job.succeeded`, `job.failed`). `batch.completed` is always sent when a webhook URL is set. */
  events: string[];
  metadata?: Record<string, unknown>;
  createdAt: number;
  finishedAt?: number;
  canceledReason?: string;
}

/** A webhook delivery as shown in job and batch views. */
export interface WebhookDeliveryRecord {
  id: string;
  type: string;
  url: string;
  attempts: number;
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: number;
  gaveUpAt?: number;
}

/** Fields a caller may set on a job, besides its state. */
export type JobFields = Partial<
  Pick<
    JobRecord,
    | 'preparedInput'
    | 'providerTaskId'
    | 'providerStatus'
    | 'attempts'
    | 'outputs'
    | 'pointsCost'
    | 'accountBalance'
    | 'error'
    | 'submitStartedAt'
    | 'submittedAt'
    | 'taskEndedAt'
    | 'finishedAt'
    | 'cancelRequested'
  >
>;

/** What a new job needs. Batch items leave provider/operation to the batch. */
export interface NewJob {
  id: string;
  provider?: string;
  operation?: string;
  input: Record<string, unknown>;
  webhookUrl?: string;
  events?: string[];
  metadata?: Record<string, unknown>;
  /** Omitted for batch items, which take the batch's creation time (memory per queued job). */
  createdAt?: number;
}

export interface NewBatch {
  id: string;
  provider: string;
  operation: string;
  defaults: Record<string, unknown>;
  total: number;
  maxPoints?: number;
  webhookUrl?: string;
  events: string[];
  metadata?: Record<string, unknown>;
  createdAt: number;
}

/** The outcome of `transition`. */
export type TransitionResult =
  | {
      ok: true;
      previous: JobState;
      /** This transition made the last job of its batch terminal (reported once per batch). */
      batchCompleted: boolean;
      /** The batch's points reached its `maxPoints` with this transition. */
      budgetReached: boolean;
    }
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'refused'; current: JobState };

// Fields stored as JSON; everything else is stored as a string.
const JSON_FIELDS = new Set(['input', 'preparedInput', 'outputs', 'error', 'metadata', 'events']);

function encode(fields: Record<string, unknown>): string[] {
  const flat: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (JSON_FIELDS.has(name)) flat.push(name, JSON.stringify(value));
    else if (typeof value === 'boolean') flat.push(name, value ? '1' : '0');
    else flat.push(name, String(value));
  }
  return flat;
}

/**
 * KEYS: job, batch (or the job key again when the job has no batch).
 * ARGV: to, comma list of allowed from-states, retention seconds, terminal states (comma list),
 *       points to add to the batch (or ''), now (the batch's finishedAt if this completes it),
 *       then field/value pairs.
 * Returns {status, previous, batchCompleted, budgetReached}.
 */
const TRANSITION_LUA = `
local cur = redis.call('HGET', KEYS[1], 'state')
if not cur then return {'missing'} end
local to = ARGV[1]
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == cur then allowed = true end end
if not allowed then return {'refused', cur} end
local terminal = {}
for s in string.gmatch(ARGV[4], '[^,]+') do terminal[s] = true end
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
redis.call('HSET', KEYS[1], 'state', to)
local completed = 0
local budget = 0
if terminal[to] then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3])) else redis.call('PERSIST', KEYS[1]) end
if KEYS[2] ~= KEYS[1] then
  if cur ~= to then
    redis.call('HINCRBY', KEYS[2], 'n:' .. cur, -1)
    redis.call('HINCRBY', KEYS[2], 'n:' .. to, 1)
  end
  if ARGV[5] ~= '' then
    local spent = tonumber(redis.call('HINCRBYFLOAT', KEYS[2], 'pointsCost', ARGV[5]))
    local max = tonumber(redis.call('HGET', KEYS[2], 'maxPoints') or '')
    if max and spent >= max and spent - tonumber(ARGV[5]) < max then budget = 1 end
  end
  if terminal[to] and not terminal[cur] then
    local done = 0
    for s, _ in pairs(terminal) do done = done + tonumber(redis.call('HGET', KEYS[2], 'n:' .. s) or '0') end
    local total = tonumber(redis.call('HGET', KEYS[2], 'total') or '-1')
    if done >= total and redis.call('HSETNX', KEYS[2], 'finishedAt', ARGV[6]) == 1 then
      completed = 1
      redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
    end
  elseif terminal[cur] and not terminal[to] then
    -- a retried job reopens its batch
    redis.call('HDEL', KEYS[2], 'finishedAt')
    redis.call('PERSIST', KEYS[2])
  end
end
return {'ok', cur, completed, budget}
`;

/** Sets fields only on a job that exists, so a late writer never resurrects an expired record. */
const UPDATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

export interface JobStoreOptions {
  redis: RedisClient;
  /** The queue prefix, e.g. `genq` or `{genq}`. */
  prefix: string;
  /** How long terminal jobs and finished batches are kept, in seconds. */
  retentionSeconds: number;
  now?: () => number;
}

type ScriptedRedis = RedisClient & {
  gqTransition(...args: (string | number)[]): Promise<[string, string?, number?, number?]>;
  gqUpdate(...args: (string | number)[]): Promise<number>;
};

/** Reads and writes job and batch records. One instance per process is enough. */
export class JobStore {
  readonly redis: ScriptedRedis;
  readonly prefix: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  constructor(options: JobStoreOptions) {
    const redis = options.redis;
    if (!('gqTransition' in redis)) {
      redis.defineCommand('gqTransition', { numberOfKeys: 2, lua: TRANSITION_LUA });
      redis.defineCommand('gqUpdate', { numberOfKeys: 1, lua: UPDATE_LUA });
    }
    this.redis = redis as ScriptedRedis;
    this.prefix = options.prefix;
    this.retentionSeconds = options.retentionSeconds;
    this.now = options.now ?? Date.now;
  }

  jobKey(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  batchKey(id: string): string {
    return `${this.prefix}:batch:${id}`;
  }

  private webhooksKey(ownerId: string): string {
    return `${this.prefix}:webhooks:${ownerId}`;
  }

  /** Queues the write of a new job (state `queued`) on a pipeline or multi. */
  writeJob(pipeline: { hset(key: string, ...args: string[]): unknown }, job: NewJob): void {
    pipeline.hset(
      this.jobKey(job.id),
      ...encode({
        state: 'queued',
        provider: job.provider,
        operation: job.operation,
        input: job.input,
        webhookUrl: job.webhookUrl,
        events: job.events?.length ? job.events : undefined,
        metadata: job.metadata,
        createdAt: job.createdAt,
      }),
    );
  }

  async createJob(job: NewJob): Promise<void> {
    const pipeline = this.redis.pipeline();
    this.writeJob(pipeline, job);
    await pipeline.exec();
  }

  /** Writes a batch's record. Its `queued` counter starts at `total`, since its items are written as queued. */
  async createBatch(batch: NewBatch): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.batchesKey(), batch.createdAt, batch.id)
      .hset(
        this.batchKey(batch.id),
        ...encode({
          id: batch.id,
          provider: batch.provider,
          operation: batch.operation,
          input: batch.defaults,
          total: batch.total,
          maxPoints: batch.maxPoints,
          webhookUrl: batch.webhookUrl,
          events: batch.events,
          metadata: batch.metadata,
          createdAt: batch.createdAt,
        }),
        'n:queued',
        String(batch.total),
      )
      .exec();
  }

  private batchesKey(): string {
    return `${this.prefix}:batches`;
  }

  /**
   * Batches newest first: `count` of them after skipping `offset`, and whether more follow.
   * Batches that expired since they were listed are dropped from the list on the way.
   */
  async listBatches(offset: number, count: number): Promise<{ batches: BatchRecord[]; more: boolean }> {
    const ids = await this.redis.zrevrange(this.batchesKey(), offset, offset + count);
    const pipeline = this.redis.pipeline();
    for (const id of ids.slice(0, count)) pipeline.hgetall(this.batchKey(id));
    const results = (await pipeline.exec()) ?? [];
    const batches: BatchRecord[] = [];
    const gone: string[] = [];
    for (const [index, id] of ids.slice(0, count).entries()) {
      const raw = results[index]?.[1] as Record<string, string> | undefined;
      if (raw?.id) batches.push(decodeBatch(raw));
      else gone.push(id);
    }
    if (gone.length) await this.redis.zrem(this.batchesKey(), ...gone);
    return { batches, more: ids.length > count };
  }

  async getBatch(id: string): Promise<BatchRecord | undefined> {
    const raw = await this.redis.hgetall(this.batchKey(id));
    return raw.id ? decodeBatch(raw) : undefined;
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const [job] = await this.getJobs([id]);
    return job;
  }

  /** Reads several jobs in one round trip (plus one per distinct batch), in the order given. */
  async getJobs(ids: string[]): Promise<(JobRecord | undefined)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.jobKey(id));
    const results = (await pipeline.exec()) ?? [];
    const batches = new Map<string, BatchRecord | undefined>();
    const jobs: (JobRecord | undefined)[] = [];
    for (const [index, id] of ids.entries()) {
      const raw = results[index]?.[1] as Record<string, string> | undefined;
      if (!raw?.state) {
        jobs.push(undefined);
        continue;
      }
      const batchId = parseBatchItemId(id)?.batchId;
      if (batchId && !batches.has(batchId)) batches.set(batchId, await this.getBatch(batchId));
      jobs.push(decodeJob(id, raw, batchId ? batches.get(batchId) : undefined));
    }
    return jobs;
  }

  /** Sets non-state fields of an existing job. Returns false when the job doesn't exist. */
  async update(id: string, fields: JobFields): Promise<boolean> {
    const flat = encode(fields);
    if (flat.length === 0) return true;
    return (await this.redis.gqUpdate(this.jobKey(id), ...flat)) === 1;
  }

  /**
   * Moves a job to `to`, setting `fields` in the same atomic step, if the state machine allows it
   * (and, when `from` is given, only from those states). Terminal jobs get the retention TTL.
   * `addPoints` adds to the batch's points and reports when that reaches the batch's budget.
   */
  async transition(
    id: string,
    to: JobState,
    fields: JobFields = {},
    options: { from?: readonly JobState[]; addPoints?: number } = {},
  ): Promise<TransitionResult> {
    const allowedFrom = JOB_STATES.filter(
      (from) => canTransition(from, to) && (!options.from || options.from.includes(from)),
    );
    const batchId = parseBatchItemId(id)?.batchId;
    const reply = await this.redis.gqTransition(
      this.jobKey(id),
      batchId ? this.batchKey(batchId) : this.jobKey(id),
      to,
      allowedFrom.join(','),
      this.retentionSeconds,
      TERMINAL_STATES.join(','),
      options.addPoints ? String(options.addPoints) : '',
      String(this.now()),
      ...encode(fields),
    );
    const [status, previous, completed, budget] = reply;
    if (status === 'missing') return { ok: false, reason: 'missing' };
    if (status === 'refused') return { ok: false, reason: 'refused', current: previous as JobState };
    return {
      ok: true,
      previous: previous as JobState,
      batchCompleted: completed === 1,
      budgetReached: budget === 1,
    };
  }

  /** Remembers an `Idempotency-Key`. Returns the job id already stored under it, if any. */
  async claimIdempotencyKey(
    scope: string,
    key: string,
    jobId: string,
    ttlSeconds: number,
  ): Promise<string | undefined> {
    const redisKey = `${this.prefix}:idem:${scope}:${key}`;
    const set = await this.redis.set(redisKey, jobId, 'EX', ttlSeconds, 'NX');
    if (set === 'OK') return undefined;
    return (await this.redis.get(redisKey)) ?? undefined;
  }

  async releaseIdempotencyKey(scope: string, key: string): Promise<void> {
    await this.redis.del(`${this.prefix}:idem:${scope}:${key}`);
  }

  /** Records a webhook delivery's latest attempt, visible in the job or batch view. */
  async recordWebhook(ownerId: string, delivery: WebhookDeliveryRecord): Promise<void> {
    const key = this.webhooksKey(ownerId);
    await this.redis
      .multi()
      .hset(key, delivery.id, JSON.stringify(delivery))
      .expire(key, this.retentionSeconds)
      .exec();
  }

  async getWebhook(ownerId: string, deliveryId: string): Promise<WebhookDeliveryRecord | undefined> {
    const raw = await this.redis.hget(this.webhooksKey(ownerId), deliveryId);
    return raw ? (JSON.parse(raw) as WebhookDeliveryRecord) : undefined;
  }

  async listWebhooks(ownerId: string): Promise<WebhookDeliveryRecord[]> {
    const raw = await this.redis.hvals(this.webhooksKey(ownerId));
    return raw
      .map((value) => JSON.parse(value) as WebhookDeliveryRecord)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Records on a batch the account balance one of its ended tasks reported (the latest write wins).
   * A batch that expired is not brought back.
   */
  async noteBatchAccountBalance(id: string, balance: number): Promise<void> {
    await this.redis.gqUpdate(this.batchKey(id), 'accountBalance', String(balance));
  }

  /** Marks a batch canceled with a reason (budget, user). */
  async setBatchCanceledReason(id: string, reason: string): Promise<void> {
    await this.redis.hsetnx(this.batchKey(id), 'canceledReason', reason);
  }
}

function num(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function json<T>(value: string | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  try {
    return JSON.parse(value) as T;
  } catch {
    return fallback;
  }
}

function decodeJob(id: string, raw: Record<string, string>, batch: BatchRecord | undefined): JobRecord {
  const ownInput = json<Record<string, unknown>>(raw.input, {});
  return {
    id,
    state: raw.state as JobState,
    provider: raw.provider ?? batch?.provider ?? 'unknown',
    operation: raw.operation ?? batch?.operation ?? 'unknown',
    input: batch ? { ...batch.defaults, ...ownInput } : ownInput,
    preparedInput: json<Record<string, unknown> | undefined>(raw.preparedInput, undefined),
    webhookUrl: raw.webhookUrl ?? batch?.webhookUrl,
    events: json<string[]>(
      raw.events,
      batch ? batch.events : ['job.succeeded', 'job.failed', 'job.canceled'],
    ),
    metadata: json<Record<string, unknown> | undefined>(raw.metadata, undefined),
    batchId: batch?.id ?? parseBatchItemId(id)?.batchId,
    providerTaskId: raw.providerTaskId,
    providerStatus: raw.providerStatus,
    attempts: num(raw.attempts) ?? 0,
    outputs: json<StoredOutput[]>(raw.outputs, []),
    pointsCost: num(raw.pointsCost),
    accountBalance: num(raw.accountBalance),
    error: json<JobError | undefined>(raw.error, undefined),
    createdAt: num(raw.createdAt) ?? batch?.createdAt ?? 0,
    submitStartedAt: num(raw.submitStartedAt),
    submittedAt: num(raw.submittedAt),
    taskEndedAt: num(raw.taskEndedAt),
    finishedAt: num(raw.finishedAt),
    cancelRequested: raw.cancelRequested === '1',
  };
}

function decodeBatch(raw: Record<string, string>): BatchRecord {
  const counts = Object.fromEntries(
    JOB_STATES.map((s) => [s, Math.max(0, num(raw[`n:${s}`]) ?? 0)]),
  ) as Record<JobState, number>;
  return {
    id: raw.id!,
    provider: raw.provider!,
    operation: raw.operation!,
    defaults: json<Record<string, unknown>>(raw.input, {}),
    total: num(raw.total) ?? 0,
    counts,
    pointsCost: num(raw.pointsCost) ?? 0,
    accountBalance: num(raw.accountBalance),
    maxPoints: num(raw.maxPoints),
    webhookUrl: raw.webhookUrl,
    events: json<string[]>(raw.events, []),
    metadata: json<Record<string, unknown> | undefined>(raw.metadata, undefined),
    createdAt: num(raw.createdAt) ?? 0,
    finishedAt: num(raw.finishedAt),
    canceledReason: raw.canceledReason,
  };
}

/** Whether every job of a batch is terminal. */
export function isBatchDone(batch: BatchRecord): boolean {
  return TERMINAL_STATES.reduce((sum, s) => sum + batch.counts[s], 0) >= batch.total;
}

export { isTerminal };
