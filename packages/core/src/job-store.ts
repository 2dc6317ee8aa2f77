/**
 * The job store: genqueue's own records of jobs and batches in Redis, under their own keys, and
 * the only writer of them. Its Redis connection is private: callers change a job through named
 * transitions (`startSubmit`, `taskAccepted`, `taskEnded`, `stored`, `cancel`, `fail`, `retry`),
 * each one Lua script that checks the state machine, sets and unsets fields, keeps the batch
 * counters exact and writes what the change owes to the outside world into the outbox, all in one
 * atomic step.
 *
 * BullMQ jobs are only the work items; they are removed soon after they finish. The records here
 * are what users see (`GET /v1/jobs/:id`), outlive BullMQ's cleanup, and are the source of truth
 * for a job's state.
 *
 * The outbox. A transition into a terminal state writes its webhook deliveries (`job.*`, and
 * `batch.completed` when it completes its batch), a transition that spends a batch's budget writes
 * the batch's cancel, `retry` and intake write their submit-queue entries: in the same step as the
 * state change. The caller drains what its transition wrote at once (`JobLifecycle.drain`); entries
 * a crashed process left behind become due after {@link OUTBOX_GRACE_MS} and any worker's sweep
 * drains them. Draining is idempotent (BullMQ job ids, delivery records), so an entry drained twice
 * does nothing twice, and one never drained cannot exist: an announcement happens exactly once,
 * whatever dies when.
 *
 * Keys (all under the queue prefix, so a hash-tagged prefix keeps them in one Cluster slot):
 * - `{p}:job:{id}`: HASH, one per job. Batch items store only their own input; the batch's
 *   provider, operation and defaults live once in the batch hash (memory per queued job).
 * - `{p}:batch:{id}`: HASH with the batch's settings and `n:{state}` counters.
 * - `{p}:batches`: ZSET batch id → creation time, newest last: the batch list. Entries whose
 *   batch has expired are dropped when a listing meets them. `{p}:batches:t:{tenant}`: the same,
 *   of one tenant's batches.
 * - `{p}:batch-items:{id}`: LIST of a batch's items' random id parts, in submission order; it
 *   lives and expires with its batch.
 * - `{p}:tenant-queued`: HASH tenant → how many of its jobs are `queued` (kept by every
 *   transition, for the per-tenant cap).
 * - `{p}:tenant-points:{YYYY-MM-DD}`: HASH tenant → provider points its jobs kept that UTC day.
 * - `{p}:outbox`: ZSET of outbox entries (JSON) by the time they become due for a sweep.
 * - `{p}:active`: ZSET of non-terminal job ids by their last progress (the reconciler's index).
 * - `{p}:webhooks:{ownerId}`: HASH delivery id → delivery record (JSON).
 * - `{p}:webhook-gone:{sha256(url)}`: STRING, a receiver URL that answered 410 Gone.
 * - `{p}:lock:{name}`: STRING, a deployment-wide lock (`reconciler`) with its holder's token.
 * - `{p}:idem:{scope}:{key}`: STRING → job id, `{p}:idem-batch:{scope}:{key}`: HASH → batch id
 *   and request fingerprint, for `Idempotency-Key`.
 */
import { createHash } from 'node:crypto';
import type {
  BatchRecord,
  JobError,
  JobRecord,
  ProviderOutput,
  StateChange,
  StoredOutput,
  WebhookDeliveryRecord,
} from '@genqueue/model';
import {
  canTransition,
  DEFAULT_TENANT,
  isTerminal,
  JOB_STATES,
  type JobState,
  type JobTag,
  jobTag,
  newBatchItemSuffix,
  parseBatchItemId,
  TERMINAL_STATES,
  type WebhookPayload,
} from '@genqueue/model';
import type { RedisClient } from './redis-connection.ts';

/** Fields a transition may set on a job, besides its state. */
type JobFields = Partial<
  Pick<
    JobRecord,
    | 'providerTaskId'
    | 'account'
    | 'leaseToken'
    | 'providerStatus'
    | 'attempts'
    | 'taskOutputs'
    | 'outputs'
    | 'pointsCost'
    | 'accountBalance'
    | 'error'
    | 'submitStartedAt'
    | 'submittedAt'
    | 'taskEndedAt'
    | 'finishedAt'
    | 'run'
  >
>;

/** What a new job needs. Batch items leave provider/operation to the batch. */
export interface NewJob {
  id: string;
  /** Omitted for batch items, which take the batch's. Default `default`. */
  tenant?: string;
  provider?: string;
  operation?: string;
  input: Record<string, unknown>;
  webhookUrl?: string;
  events?: string[];
  metadata?: Record<string, unknown>;
  /** The only account the job may go to. */
  accountPin?: string;
  /** Tags every account the job goes to must have. */
  accountTags?: string[];
  /** Omitted for batch items, which take the batch's creation time (memory per queued job). */
  createdAt?: number;
}

export interface NewBatch {
  id: string;
  /** Whose batch it is. Default `default`. */
  tenant?: string;
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

/** An `Idempotency-Key` as the store keeps it: per token scope, for `ttlSeconds`. */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  ttlSeconds: number;
}

/**
 * Something a transition owes to the queues, written in the same atomic step (see the outbox above).
 * - `webhook`: add the delivery's BullMQ job (id = delivery id).
 * - `submit`: add the job's submit-queue entry (id = `bullJobId(jobId, run)`), at the priority the
 *   fair share gives it then (the `priority` of entries written before the fair share is not read).
 * - `enqueueBatch`: activate and enqueue every item of a committed batch.
 * - `cancelBatch`: cancel a batch's unfinished jobs (its budget was spent).
 */
export type OutboxEntry =
  | { kind: 'webhook'; payload: WebhookPayload }
  | {
      kind: 'submit';
      provider: string;
      jobId: string;
      run?: number;
      tag?: JobTag;
      /** The job's tenant, for its fair share (absent: `default`). */
      tenant?: string;
    }
  | { kind: 'enqueueBatch'; batchId: string; provider: string; total: number; tenant?: string }
  | { kind: 'cancelBatch'; batchId: string; error: JobError };

/** One outbox entry as stored: `member` is its identity in the outbox (pass it to `outboxDone`). */
export interface OutboxItem {
  member: string;
  entry: OutboxEntry;
}

/**
 * What the provider's acceptance of a task saves: its id, when, and which account's slot it holds
 * (the account and the lease token, so the poller and the cancel use that account).
 */
export type AcceptedTask = {
  providerTaskId: string;
  submittedAt: number;
  account?: string;
  leaseToken?: string;
};

/** The outcome of a transition. Entering the state a job is already in is `refused` and changes nothing. */
export type TransitionResult =
  | {
      ok: true;
      previous: JobState;
      /** This transition made the last job of its batch terminal (reported once per batch). */
      batchCompleted: boolean;
      /** The batch's points reached its `maxPoints` with this transition. */
      budgetReached: boolean;
      /** What the transition wrote into the outbox; drain it (`JobLifecycle.drain`). */
      outbox: OutboxItem[];
    }
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'refused'; current: JobState }
  /** The job's batch has spent its `maxPoints`: nothing was changed (see `startSubmit`). */
  | { ok: false; reason: 'budget_spent' };

/**
 * How long an outbox entry belongs to the process that wrote it before any sweep may drain it, in
 * milliseconds. The writer drains at once; this only matters when it died first.
 */
export const OUTBOX_GRACE_MS = 2_000;

/** How long a sweep holds an outbox entry it claimed before another sweep may retry it, in milliseconds. */
export const OUTBOX_CLAIM_MS = 60_000;

/** Job records of a batch that is not committed yet expire after this long, in seconds. */
const UNCOMMITTED_ITEM_TTL_SECONDS = 3_600;

/** The BullMQ job id of a genqueue job's run: the job id itself for the first run. */
export function bullJobId(jobId: string, run = 0): string {
  return run > 0 ? `${jobId}-r${run}` : jobId;
}

// Fields stored as JSON; everything else is stored as a string.
const JSON_FIELDS = new Set([
  'input',
  'accountTags',
  'preparedInput',
  'outputs',
  'taskOutputs',
  'error',
  'metadata',
  'events',
]);

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

/** Bound of a job's state history (about 40 changes): a job retried without end stays small. */
const HISTORY_MAX_CHARS = 1_000;

const TERMINAL_LUA_SET = `{${TERMINAL_STATES.map((s) => `${s}=true`).join(',')}}`;

/**
 * KEYS: job, batch (or the job key again when the job has no batch), outbox, active index, the
 * batch's item list (or the job key), tenant-queued counts, the day's tenant points.
 * ARGV[1]: JSON header {id, batchId?, to, from[], retention, now, grace, points?, unset[],
 *   outbox[] (encoded entries to write), budgetError?, withinBudget?}; ARGV[2..]: field/value pairs.
 * Returns {'ok', previous, batchCompleted, budgetReached, entry...} | {'refused', current} | {'missing'}
 * | {'budget_spent'}.
 */
const TRANSITION_LUA = `
local h = cjson.decode(ARGV[1])
local job, batch, outbox, active, items, queued, points = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local cur = redis.call('HGET', job, 'state')
if not cur then return {'missing'} end
local allowed = false
for _, s in ipairs(h.from) do if s == cur then allowed = true end end
if not allowed then return {'refused', cur} end
if h.withinBudget and batch ~= job then
  local max = tonumber(redis.call('HGET', batch, 'maxPoints') or '')
  if max and tonumber(redis.call('HGET', batch, 'pointsCost') or '0') >= max then return {'budget_spent'} end
end
local to = h.to
local terminal = ${TERMINAL_LUA_SET}
if #ARGV > 1 then redis.call('HSET', job, unpack(ARGV, 2)) end
for _, f in ipairs(h.unset) do redis.call('HDEL', job, f) end
-- the task's own outputs are only needed until the job is terminal: Redis keeps no image bytes
if terminal[to] then redis.call('HDEL', job, 'taskOutputs') end
redis.call('HSET', job, 'state', to)
if terminal[to] then
  redis.call('EXPIRE', job, tonumber(h.retention))
  redis.call('ZREM', active, h.id)
else
  redis.call('PERSIST', job)
  redis.call('ZADD', active, h.now, h.id)
end
local entries = {}
for _, e in ipairs(h.outbox) do table.insert(entries, e) end
local completed = 0
local budget = 0
local hasBatch = batch ~= job
if cur ~= to then
  -- the state history, for the job's page: "state@ms" entries, the oldest dropped past a bound
  local history = redis.call('HGET', job, 'history')
  local entry = to .. '@' .. tostring(h.now)
  if history then
    history = history .. ',' .. entry
    if #history > ${HISTORY_MAX_CHARS} then history = string.sub(history, string.find(history, ',', #history - ${HISTORY_MAX_CHARS}, true) + 1) end
  else
    history = entry
  end
  redis.call('HSET', job, 'history', history)
  local tenant = redis.call('HGET', job, 'tenant')
  if not tenant and hasBatch then tenant = redis.call('HGET', batch, 'tenant') end
  tenant = tenant or '${DEFAULT_TENANT}'
  if cur == 'queued' then redis.call('HINCRBY', queued, tenant, -1)
  elseif to == 'queued' then redis.call('HINCRBY', queued, tenant, 1) end
  if h.points then
    redis.call('HINCRBYFLOAT', points, tenant, h.points)
    redis.call('EXPIRE', points, 3 * 86400)
  end
  if hasBatch then
    redis.call('HINCRBY', batch, 'n:' .. cur, -1)
    redis.call('HINCRBY', batch, 'n:' .. to, 1)
    if h.points then
      local spent = tonumber(redis.call('HINCRBYFLOAT', batch, 'pointsCost', h.points))
      local max = tonumber(redis.call('HGET', batch, 'maxPoints') or '')
      if max and spent >= max and spent - tonumber(h.points) < max then
        budget = 1
        table.insert(entries, cjson.encode({kind='cancelBatch', batchId=h.batchId, error=h.budgetError}))
      end
    end
  end
  if terminal[to] and not terminal[cur] then
    local url = redis.call('HGET', job, 'webhookUrl')
    local events = redis.call('HGET', job, 'events')
    if hasBatch then
      if not url then url = redis.call('HGET', batch, 'webhookUrl') end
      if not events then events = redis.call('HGET', batch, 'events') or '[]' end
    end
    local wanted = false
    local event = 'job.' .. to
    if events then
      for _, e in ipairs(cjson.decode(events)) do if e == event then wanted = true end end
    else
      wanted = true
    end
    if url and wanted then
      local finished = redis.call('HGET', job, 'finishedAt') or tostring(h.now)
      table.insert(entries, cjson.encode({kind='webhook', payload={
        deliveryId=event .. '.' .. h.id .. '.' .. finished, owner={kind='job', id=h.id}, type=event, url=url}}))
    end
    if hasBatch then
      local done = 0
      for s, _ in pairs(terminal) do done = done + tonumber(redis.call('HGET', batch, 'n:' .. s) or '0') end
      local total = tonumber(redis.call('HGET', batch, 'total') or '-1')
      if done >= total and redis.call('HSETNX', batch, 'finishedAt', tostring(h.now)) == 1 then
        completed = 1
        redis.call('EXPIRE', batch, tonumber(h.retention))
        redis.call('EXPIRE', items, tonumber(h.retention))
        local burl = redis.call('HGET', batch, 'webhookUrl')
        if burl then
          table.insert(entries, cjson.encode({kind='webhook', payload={
            deliveryId='batch.completed.' .. h.batchId .. '.' .. tostring(h.now),
            owner={kind='batch', id=h.batchId}, type='batch.completed', url=burl}}))
        end
      end
    end
  elseif hasBatch and terminal[cur] and not terminal[to] then
    -- a retried job reopens its batch
    redis.call('HDEL', batch, 'finishedAt')
    redis.call('PERSIST', batch)
    redis.call('PERSIST', items)
  end
end
for _, e in ipairs(entries) do redis.call('ZADD', outbox, h.now + h.grace, e) end
return {'ok', cur, completed, budget, unpack(entries)}
`;

/**
 * Sets fields only on a job that exists and, unless ARGV[1] is '1', is not terminal, so a late
 * writer never resurrects an expired record nor edits a finished one. ARGV[2..]: field/value pairs.
 */
const UPDATE_LUA = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if ARGV[1] ~= '1' and (${TERMINAL_STATES.map((s) => `state == '${s}'`).join(' or ')}) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`;

/**
 * Creates a job with its submit entry in the outbox, and its `Idempotency-Key` when given, in one
 * step. KEYS: job, outbox, active, idempotency key (or the job key), tenant-queued counts. ARGV:
 * id, now, grace, ttl ('' without a key), outbox entry, tenant, field/value pairs.
 * Returns {'created'} or {'exists', id}.
 */
const CREATE_JOB_LUA = `
if ARGV[4] ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing then return {'exists', existing} end
  redis.call('SET', KEYS[4], ARGV[1], 'EX', tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('HINCRBY', KEYS[5], ARGV[6], 1)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[5])
return {'created'}
`;

/**
 * Commits a batch whose items are written: the batch record, its place in the batch lists (all,
 * and its tenant's), its item list made permanent, its enqueue entry in the outbox, its items
 * counted as its tenant's queued jobs and its `Idempotency-Key`, in one step. KEYS: batch,
 * outbox, idempotency hash (or the batch key), batch list, tenant's batch list, item list,
 * tenant-queued counts. ARGV: batch id, now, grace, ttl ('' without a key), fingerprint, outbox
 * entry, createdAt, tenant, total, field/value pairs.
 * Returns {'created'} or {'exists', batch id, fingerprint}.
 */
const COMMIT_BATCH_LUA = `
if ARGV[4] ~= '' then
  local existing = redis.call('HGET', KEYS[3], 'batchId')
  if existing then return {'exists', existing, redis.call('HGET', KEYS[3], 'fingerprint') or ''} end
  redis.call('HSET', KEYS[3], 'batchId', ARGV[1], 'fingerprint', ARGV[5])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[7], ARGV[1])
redis.call('PERSIST', KEYS[6])
redis.call('HINCRBY', KEYS[7], ARGV[8], tonumber(ARGV[9]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[6])
return {'created'}
`;

/** Claims up to ARGV[2] outbox entries due at ARGV[1] for ARGV[3] ms. KEYS: outbox. */
const CLAIM_OUTBOX_LUA = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, e in ipairs(due) do redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[3]), e) end
return due
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
  gqTransition(...args: (string | number)[]): Promise<(string | number)[]>;
  gqUpdate(...args: (string | number)[]): Promise<number>;
  gqCreateJob(...args: (string | number)[]): Promise<string[]>;
  gqCommitBatch(...args: (string | number)[]): Promise<string[]>;
  gqClaimOutbox(...args: (string | number)[]): Promise<string[]>;
};

/** A named transition: where it may start, and where it goes. */
interface TransitionSpec {
  to: JobState;
  from: readonly JobState[];
  fields?: JobFields;
  unset?: readonly (keyof JobRecord)[];
  points?: number;
  outbox?: OutboxEntry[];
  /** Refuse (`budget_spent`) when the job's batch has already spent its `maxPoints`. */
  withinBudget?: boolean;
}

const NON_TERMINAL: readonly JobState[] = JOB_STATES.filter((s) => !isTerminal(s));
/** The error a batch's jobs are canceled with when its budget is spent. */
export const BUDGET_EXCEEDED: JobError = {
  code: 'budget_exceeded',
  message: 'the batch reached its maxPoints budget',
};

/** Reads and writes job and batch records. One instance per process is enough. */
export class JobStore {
  readonly #redis: ScriptedRedis;
  readonly prefix: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  constructor(options: JobStoreOptions) {
    const redis = options.redis;
    if (!('gqTransition' in redis)) {
      redis.defineCommand('gqTransition', { numberOfKeys: 7, lua: TRANSITION_LUA });
      redis.defineCommand('gqUpdate', { numberOfKeys: 1, lua: UPDATE_LUA });
      redis.defineCommand('gqCreateJob', { numberOfKeys: 5, lua: CREATE_JOB_LUA });
      redis.defineCommand('gqCommitBatch', { numberOfKeys: 7, lua: COMMIT_BATCH_LUA });
      redis.defineCommand('gqClaimOutbox', { numberOfKeys: 1, lua: CLAIM_OUTBOX_LUA });
    }
    this.#redis = redis as ScriptedRedis;
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

  private batchItemsKey(batchId: string): string {
    return `${this.prefix}:batch-items:${batchId}`;
  }

  private get tenantQueuedKey(): string {
    return `${this.prefix}:tenant-queued`;
  }

  private tenantPointsKey(at: number): string {
    return `${this.prefix}:tenant-points:${new Date(at).toISOString().slice(0, 10)}`;
  }

  private get outboxKey(): string {
    return `${this.prefix}:outbox`;
  }

  private get activeKey(): string {
    return `${this.prefix}:active`;
  }

  private webhooksKey(ownerId: string): string {
    return `${this.prefix}:webhooks:${ownerId}`;
  }

  private jobFields(job: NewJob): string[] {
    return encode({
      state: 'queued',
      tenant: job.tenant,
      provider: job.provider,
      operation: job.operation,
      input: job.input,
      webhookUrl: job.webhookUrl,
      events: job.events?.length ? job.events : undefined,
      metadata: job.metadata,
      accountPin: job.accountPin,
      accountTags: job.accountTags?.length ? job.accountTags : undefined,
      createdAt: job.createdAt,
    });
  }

  /**
   * Creates a job posted alone, with its submit-queue entry in the outbox (drain it), in one step.
   * With `idempotency`, a key already used answers `{ existingId }` and writes nothing.
   */
  async createJob(
    job: NewJob & { provider: string },
    idempotency?: IdempotencyClaim,
  ): Promise<{ created: true; outbox: OutboxItem[] } | { created: false; existingId: string }> {
    const entry = JSON.stringify({
      kind: 'submit',
      provider: job.provider,
      jobId: job.id,
      tag: jobTag({ ...job, operation: job.operation ?? '' }),
      tenant: job.tenant ?? DEFAULT_TENANT,
    } satisfies OutboxEntry);
    const now = this.now();
    const reply = await this.#redis.gqCreateJob(
      this.jobKey(job.id),
      this.outboxKey,
      this.activeKey,
      idempotency ? this.idempotencyKey(idempotency) : this.jobKey(job.id),
      this.tenantQueuedKey,
      job.id,
      now,
      OUTBOX_GRACE_MS,
      idempotency ? idempotency.ttlSeconds : '',
      entry,
      job.tenant ?? DEFAULT_TENANT,
      ...this.jobFields({ ...job, tenant: job.tenant ?? DEFAULT_TENANT }),
    );
    if (reply[0] === 'exists') return { created: false, existingId: reply[1]! };
    return { created: true, outbox: [{ member: entry, entry: JSON.parse(entry) as OutboxEntry }] };
  }

  /**
   * Writes the next items of a batch that is not committed yet, each under a new random id,
   * appended to the batch's item list in the order given (call it chunk after chunk). They expire
   * unless the batch is committed and enqueued (`activateBatchItems`), so an intake that dies
   * half-way leaves nothing that runs or stays.
   */
  async writeBatchItems(
    batchId: string,
    items: readonly Pick<NewJob, 'input' | 'metadata'>[],
  ): Promise<void> {
    if (items.length === 0) return;
    const pipeline = this.#redis.pipeline();
    const suffixes: string[] = [];
    for (const item of items) {
      const suffix = newBatchItemSuffix();
      suffixes.push(suffix);
      const key = this.jobKey(`${batchId}-${suffix}`);
      pipeline.hset(key, ...this.jobFields({ id: '', ...item }));
      pipeline.expire(key, UNCOMMITTED_ITEM_TTL_SECONDS);
    }
    pipeline.rpush(this.batchItemsKey(batchId), ...suffixes);
    pipeline.expire(this.batchItemsKey(batchId), UNCOMMITTED_ITEM_TTL_SECONDS);
    await pipeline.exec();
  }

  /** The job ids of a batch's items `start…end-1`, in submission order. */
  async batchItemIds(batchId: string, start: number, end: number): Promise<string[]> {
    if (end <= start) return [];
    const suffixes = await this.#redis.lrange(this.batchItemsKey(batchId), start, end - 1);
    return suffixes.map((suffix) => `${batchId}-${suffix}`);
  }

  /** The job ids of a batch's items at these positions (undefined past the end). */
  async batchItemIdsAt(batchId: string, indexes: readonly number[]): Promise<(string | undefined)[]> {
    if (indexes.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const index of indexes) pipeline.lindex(this.batchItemsKey(batchId), index);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, suffix]) => (typeof suffix === 'string' ? `${batchId}-${suffix}` : undefined));
  }

  /**
   * Makes a batch exist: its record (its `queued` counter starts at `total`, since its items are
   * written as queued), its enqueue entry in the outbox and its `Idempotency-Key`, in one step.
   * A key already used answers `{ existingId, fingerprint }` and writes nothing.
   */
  async commitBatch(
    newBatch: NewBatch,
    idempotency?: IdempotencyClaim & { fingerprint: string },
  ): Promise<
    { created: true; outbox: OutboxItem[] } | { created: false; existingId: string; fingerprint: string }
  > {
    const batch = { ...newBatch, tenant: newBatch.tenant ?? DEFAULT_TENANT };
    const entry = JSON.stringify({
      kind: 'enqueueBatch',
      batchId: batch.id,
      provider: batch.provider,
      total: batch.total,
      tenant: batch.tenant,
    } satisfies OutboxEntry);
    const reply = await this.#redis.gqCommitBatch(
      this.batchKey(batch.id),
      this.outboxKey,
      idempotency ? this.batchIdempotencyKey(idempotency) : this.batchKey(batch.id),
      this.batchesKey(),
      this.batchesKey(batch.tenant),
      this.batchItemsKey(batch.id),
      this.tenantQueuedKey,
      batch.id,
      this.now(),
      OUTBOX_GRACE_MS,
      idempotency ? idempotency.ttlSeconds : '',
      idempotency?.fingerprint ?? '',
      entry,
      batch.createdAt,
      batch.tenant,
      batch.total,
      ...encode({
        id: batch.id,
        tenant: batch.tenant,
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
    );
    if (reply[0] === 'exists') return { created: false, existingId: reply[1]!, fingerprint: reply[2] ?? '' };
    return { created: true, outbox: [{ member: entry, entry: JSON.parse(entry) as OutboxEntry }] };
  }

  /**
   * Makes items `start…end-1` of a committed batch permanent and visible to the reconciler.
   * Returns their ids, in submission order.
   */
  async activateBatchItems(batchId: string, start: number, end: number): Promise<string[]> {
    const ids = await this.batchItemIds(batchId, start, end);
    const pipeline = this.#redis.pipeline();
    const now = this.now();
    for (const id of ids) {
      pipeline.persist(this.jobKey(id));
      // NX: an item that already moved on keeps its own progress time (or its absence, if terminal)
      pipeline.zadd(this.activeKey, 'NX', now, id);
    }
    await pipeline.exec();
    return ids;
  }

  /** The batch id an `Idempotency-Key` was committed with, and its request fingerprint. */
  async findIdempotentBatch(
    claim: Omit<IdempotencyClaim, 'ttlSeconds'>,
  ): Promise<{ batchId: string; fingerprint: string } | undefined> {
    const raw = await this.#redis.hgetall(this.batchIdempotencyKey(claim));
    return raw.batchId ? { batchId: raw.batchId, fingerprint: raw.fingerprint ?? '' } : undefined;
  }

  private idempotencyKey(claim: Omit<IdempotencyClaim, 'ttlSeconds'>): string {
    return `${this.prefix}:idem:${claim.scope}:${claim.key}`;
  }

  private batchIdempotencyKey(claim: Omit<IdempotencyClaim, 'ttlSeconds'>): string {
    // hashed: the key is the client's and only needs to be compared
    const digest = createHash('sha256').update(claim.key).digest('hex');
    return `${this.prefix}:idem-batch:${claim.scope}:${digest}`;
  }

  private batchesKey(tenant?: string): string {
    return tenant === undefined ? `${this.prefix}:batches` : `${this.prefix}:batches:t:${tenant}`;
  }

  /**
   * Batches newest first (of one tenant, or of all): `count` of them after skipping `offset`, and
   * whether more follow. Batches that expired since they were listed are dropped from the list on
   * the way.
   */
  async listBatches(
    offset: number,
    count: number,
    tenant?: string,
  ): Promise<{ batches: BatchRecord[]; more: boolean }> {
    const list = this.batchesKey(tenant);
    const ids = await this.#redis.zrevrange(list, offset, offset + count);
    const pipeline = this.#redis.pipeline();
    for (const id of ids.slice(0, count)) pipeline.hgetall(this.batchKey(id));
    const results = (await pipeline.exec()) ?? [];
    const batches: BatchRecord[] = [];
    const gone: string[] = [];
    for (const [index, id] of ids.slice(0, count).entries()) {
      const raw = results[index]?.[1] as Record<string, string> | undefined;
      if (raw?.id) batches.push(decodeBatch(raw));
      else gone.push(id);
    }
    if (gone.length) await this.#redis.zrem(list, ...gone);
    return { batches, more: ids.length > count };
  }

  async getBatch(id: string): Promise<BatchRecord | undefined> {
    const raw = await this.#redis.hgetall(this.batchKey(id));
    return raw.id ? decodeBatch(raw) : undefined;
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const [job] = await this.getJobs([id]);
    return job;
  }

  /** Reads several jobs in one round trip (plus one per distinct batch), in the order given. */
  async getJobs(ids: string[]): Promise<(JobRecord | undefined)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
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
      const batch = batchId ? batches.get(batchId) : undefined;
      // an item of a batch that was never committed does not exist
      if (batchId && !batch) {
        jobs.push(undefined);
        continue;
      }
      jobs.push(decodeJob(id, raw, batch));
    }
    return jobs;
  }

  // ---- named transitions -------------------------------------------------------------------

  /**
   * A worker starts a submission (again, after a crash: `submitting` re-enters, counting nothing).
   * Refused with `budget_spent` once the job's batch has spent its `maxPoints`, checked in the same
   * step: a worker that read the job earlier (then waited for a slot) must not spend past it.
   */
  startSubmit(id: string, fields: { submitStartedAt: number; attempts: number }): Promise<TransitionResult> {
    return this.transition(id, {
      to: 'submitting',
      from: ['queued', 'submitting'],
      fields,
      withinBudget: true,
    });
  }

  /** The provider said "later", or the submission failed transiently: back to waiting. */
  deferSubmit(id: string): Promise<TransitionResult> {
    return this.transition(id, { to: 'queued', from: ['submitting'] });
  }

  /** The provider accepted the task: its id is saved in the same step as the move to `running`. */
  taskAccepted(id: string, fields: AcceptedTask): Promise<TransitionResult> {
    return this.transition(id, { to: 'running', from: ['queued', 'submitting'], fields });
  }

  /**
   * Keeps the task id of a job canceled while its submission was under way, so the poller can
   * follow the task to its end. The job stays canceled.
   */
  async keepLateTaskId(id: string, fields: AcceptedTask): Promise<void> {
    await this.#redis.gqUpdate(this.jobKey(id), '1', ...encode(fields));
  }

  /**
   * The provider task ended: `storing` when it succeeded (its outputs durable in the record until
   * the job is terminal), or terminal. A synchronous provider's answer accepts and ends the task
   * in this one step (`providerTaskId`, `submittedAt` among the fields). `points` are the points
   * the provider kept; they count towards the batch's budget, once.
   */
  taskEnded(
    id: string,
    to: 'storing' | 'failed' | 'canceled',
    fields: JobFields,
    points?: number,
  ): Promise<TransitionResult> {
    return this.transition(id, {
      to,
      from: ['queued', 'submitting', 'running'],
      fields: to === 'storing' ? fields : { finishedAt: this.now(), ...fields },
      ...(points ? { points } : {}),
    });
  }

  /** The outputs are in S3: the job succeeded. */
  stored(id: string, outputs: StoredOutput[]): Promise<TransitionResult> {
    return this.transition(id, {
      to: 'succeeded',
      from: ['storing'],
      fields: { outputs, finishedAt: this.now() },
    });
  }

  /**
   * Cancels a job. `from` says which states the caller may cancel from: a job still waiting, or
   * any live one when its task is known to have ended or cannot be followed.
   */
  cancel(
    id: string,
    error: JobError,
    from: readonly JobState[] = ['queued', 'submitting'],
  ): Promise<TransitionResult> {
    return this.transition(id, { to: 'canceled', from, fields: { error, finishedAt: this.now() } });
  }

  /** Fails a live job with a reason. */
  fail(id: string, error: JobError, fields: JobFields = {}): Promise<TransitionResult> {
    return this.transition(id, {
      to: 'failed',
      from: NON_TERMINAL,
      fields: { ...fields, error, finishedAt: this.now() },
    });
  }

  /**
   * Re-queues a failed job as a new run, with its submit-queue entry in the outbox, in one step:
   * the last run's task, outputs and error go.
   */
  retry(job: JobRecord): Promise<TransitionResult> {
    const run = job.run + 1;
    const { id, provider } = job;
    return this.transition(id, {
      to: 'queued',
      from: ['failed'],
      fields: { run },
      unset: [
        'error',
        'providerTaskId',
        'providerStatus',
        'submitStartedAt',
        'submittedAt',
        'taskEndedAt',
        'finishedAt',
        'outputs',
        'pointsCost',
        'cancelRequested',
      ],
      outbox: [
        {
          kind: 'submit',
          provider,
          jobId: id,
          run,
          tag: jobTag({ ...job, run }),
          tenant: job.tenant,
        },
      ],
    });
  }

  private async transition(id: string, spec: TransitionSpec): Promise<TransitionResult> {
    const batchId = parseBatchItemId(id)?.batchId;
    const now = this.now();
    const header = {
      id,
      ...(batchId ? { batchId } : {}),
      to: spec.to,
      // a named transition lists where it may start; staying in a state only where it says so
      from: spec.from.filter((from) => from === spec.to || canTransition(from, spec.to)),
      retention: this.retentionSeconds,
      now,
      grace: OUTBOX_GRACE_MS,
      ...(spec.points ? { points: String(spec.points) } : {}),
      unset: spec.unset ?? [],
      outbox: (spec.outbox ?? []).map((entry) => JSON.stringify(entry)),
      budgetError: BUDGET_EXCEEDED,
      ...(spec.withinBudget ? { withinBudget: true } : {}),
    };
    const reply = await this.#redis.gqTransition(
      this.jobKey(id),
      batchId ? this.batchKey(batchId) : this.jobKey(id),
      this.outboxKey,
      this.activeKey,
      batchId ? this.batchItemsKey(batchId) : this.jobKey(id),
      this.tenantQueuedKey,
      this.tenantPointsKey(now),
      JSON.stringify(header),
      ...encode(spec.fields ?? {}),
    );
    const [status, previous, completed, budget, ...entries] = reply;
    if (status === 'missing') return { ok: false, reason: 'missing' };
    if (status === 'budget_spent') return { ok: false, reason: 'budget_spent' };
    if (status === 'refused') return { ok: false, reason: 'refused', current: previous as JobState };
    return {
      ok: true,
      previous: previous as JobState,
      batchCompleted: completed === 1,
      budgetReached: budget === 1,
      outbox: (entries as string[]).map((member) => ({ member, entry: JSON.parse(member) as OutboxEntry })),
    };
  }

  // ---- non-state fields of a live job ------------------------------------------------------

  /** Keeps the provider's `prepare` result, so a retried submission does not upload again. */
  async savePreparedInput(id: string, preparedInput: Record<string, unknown>): Promise<boolean> {
    return this.updateLive(id, { preparedInput });
  }

  /** Notes the provider's own status of a running task, for the job view. */
  async noteProviderStatus(id: string, providerStatus: string): Promise<boolean> {
    return this.updateLive(id, { providerStatus });
  }

  /** Flags a live job whose task must be canceled by the worker (or marked canceled when it ends). */
  async requestCancel(id: string, error: JobError): Promise<boolean> {
    return this.updateLive(id, { cancelRequested: true, error });
  }

  /** Sets fields of a job that exists and is not terminal. */
  private async updateLive(id: string, fields: Record<string, unknown>): Promise<boolean> {
    const flat = encode(fields);
    return (await this.#redis.gqUpdate(this.jobKey(id), '0', ...flat)) === 1;
  }

  // ---- outbox and reconciler index ---------------------------------------------------------

  /** Claims outbox entries that are due (their writer did not drain them), for `OUTBOX_CLAIM_MS`. */
  async claimDueOutbox(limit: number): Promise<OutboxItem[]> {
    const members = await this.#redis.gqClaimOutbox(this.outboxKey, this.now(), limit, OUTBOX_CLAIM_MS);
    return members.map((member) => ({ member, entry: JSON.parse(member) as OutboxEntry }));
  }

  /** Removes a drained outbox entry. */
  async outboxDone(member: string): Promise<void> {
    await this.#redis.zrem(this.outboxKey, member);
  }

  /** How many outbox entries wait (drained soon, or left by a crashed process). */
  async outboxSize(): Promise<number> {
    return this.#redis.zcard(this.outboxKey);
  }

  /** Live job ids whose last progress is older than `before` (oldest first). */
  async staleJobs(before: number, limit: number): Promise<string[]> {
    return this.#redis.zrangebyscore(this.activeKey, '-inf', before, 'LIMIT', 0, limit);
  }

  /**
   * Marks live jobs as checked now. A job that is no longer live (or whose record is gone) leaves
   * the index instead.
   */
  async touchJobs(live: readonly string[], gone: readonly string[] = []): Promise<void> {
    const pipeline = this.#redis.pipeline();
    const now = this.now();
    for (const id of live) pipeline.zadd(this.activeKey, 'XX', now, id);
    if (gone.length) pipeline.zrem(this.activeKey, ...gone);
    await pipeline.exec();
  }

  // ---- idempotency, webhooks, batches ------------------------------------------------------

  /** The job id stored under an `Idempotency-Key`, if any. */
  async findIdempotentJob(claim: Omit<IdempotencyClaim, 'ttlSeconds'>): Promise<string | undefined> {
    return (await this.#redis.get(this.idempotencyKey(claim))) ?? undefined;
  }

  /** Records a webhook delivery's latest attempt, visible in the job or batch view. */
  async recordWebhook(ownerId: string, delivery: WebhookDeliveryRecord): Promise<void> {
    const key = this.webhooksKey(ownerId);
    await this.#redis
      .multi()
      .hset(key, delivery.id, JSON.stringify(delivery))
      .expire(key, this.retentionSeconds)
      .exec();
  }

  /** Records a delivery as announced (attempts 0) unless it already has a record. */
  async recordWebhookAnnounced(
    ownerId: string,
    delivery: Pick<WebhookDeliveryRecord, 'id' | 'type' | 'url'>,
  ): Promise<void> {
    const key = this.webhooksKey(ownerId);
    await this.#redis
      .multi()
      .hsetnx(key, delivery.id, JSON.stringify({ ...delivery, attempts: 0 }))
      .expire(key, this.retentionSeconds)
      .exec();
  }

  async getWebhook(ownerId: string, deliveryId: string): Promise<WebhookDeliveryRecord | undefined> {
    const raw = await this.#redis.hget(this.webhooksKey(ownerId), deliveryId);
    return raw ? (JSON.parse(raw) as WebhookDeliveryRecord) : undefined;
  }

  async listWebhooks(ownerId: string): Promise<WebhookDeliveryRecord[]> {
    const raw = await this.#redis.hvals(this.webhooksKey(ownerId));
    return raw
      .map((value) => JSON.parse(value) as WebhookDeliveryRecord)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Records on a batch the account balance one of its ended tasks reported (the latest write wins).
   * A batch that expired is not brought back.
   */
  async noteBatchAccountBalance(id: string, balance: number): Promise<void> {
    await this.#redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1",
      1,
      this.batchKey(id),
      'accountBalance',
      String(balance),
    );
  }

  /** When a receiver URL answered 410 Gone (epoch ms), if it did within `ttlSeconds` of now. */
  async webhookUrlGoneSince(urlKey: string): Promise<number | undefined> {
    const since = Number(await this.#redis.get(`${this.prefix}:webhook-gone:${urlKey}`));
    return since > 0 ? since : undefined;
  }

  /** Remembers that a receiver URL answered 410 Gone. `urlKey` is a digest of the URL (it may hold tokens). */
  async markWebhookUrlGone(urlKey: string, at: number, ttlSeconds: number): Promise<void> {
    await this.#redis.set(`${this.prefix}:webhook-gone:${urlKey}`, String(at), 'EX', ttlSeconds);
  }

  /**
   * Takes the deployment-wide lock `name` for `ttlMs` (one reconciler sweep at a time): true when
   * this caller holds it now. Held locks expire by themselves, so a dead holder never blocks.
   */
  async acquireLock(name: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(this.lockKey(name), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Gives back a lock taken with {@link acquireLock}, only if `token` still holds it. */
  async releaseLock(name: string, token: string): Promise<void> {
    await this.#redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
      1,
      this.lockKey(name),
      token,
    );
  }

  private lockKey(name: string): string {
    return `${this.prefix}:lock:${name}`;
  }

  /** How many of the tenant's jobs are `queued` now. */
  async tenantQueued(tenant: string): Promise<number> {
    return Math.max(0, Number(await this.#redis.hget(this.tenantQueuedKey, tenant)) || 0);
  }

  /** Provider points the tenant's jobs kept in the UTC day of `at` (epoch ms). */
  async tenantPointsOn(tenant: string, at: number): Promise<number> {
    return Number(await this.#redis.hget(this.tenantPointsKey(at), tenant)) || 0;
  }

  /** Marks a batch canceled with a reason (budget, user). */
  async setBatchCanceledReason(id: string, reason: string): Promise<void> {
    await this.#redis.hsetnx(this.batchKey(id), 'canceledReason', reason);
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
    tenant: raw.tenant ?? batch?.tenant ?? DEFAULT_TENANT,
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
    run: num(raw.run) ?? 0,
    providerTaskId: raw.providerTaskId,
    account: raw.account,
    accountPin: raw.accountPin,
    accountTags: json<string[] | undefined>(raw.accountTags, undefined),
    leaseToken: raw.leaseToken,
    providerStatus: raw.providerStatus,
    attempts: num(raw.attempts) ?? 0,
    taskOutputs: json<ProviderOutput[] | undefined>(raw.taskOutputs, undefined),
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
    history: decodeHistory(raw.history),
    budgetSpent: batch?.maxPoints !== undefined && batch.pointsCost >= batch.maxPoints,
  };
}

function decodeHistory(raw: string | undefined): StateChange[] {
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const at = entry.lastIndexOf('@');
    return { state: entry.slice(0, at) as JobState, at: Number(entry.slice(at + 1)) };
  });
}

function decodeBatch(raw: Record<string, string>): BatchRecord {
  const counts = Object.fromEntries(
    JOB_STATES.map((s) => [s, Math.max(0, num(raw[`n:${s}`]) ?? 0)]),
  ) as Record<JobState, number>;
  return {
    id: raw.id!,
    tenant: raw.tenant ?? DEFAULT_TENANT,
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
