/**
 * Fair share between tenants, one level above the fairness between batches (see `batch-intake.ts`).
 *
 * Every submission's BullMQ priority is a virtual time, assigned when it is enqueued; the submit
 * queue serves the lowest first. `step` is (largest weight) / (the tenant's weight), so tenants
 * with work queued advance at rates proportional to their weights:
 * - A tenant that starts from nothing queued starts at the current virtual time `v` (the largest
 *   priority a worker has started; 0 again when nothing is queued): it gets no credit for the time
 *   it was idle, and the others are not starved while it catches up.
 * - While a tenant is the only one with work queued, its batches keep today's round-robin: item i
 *   of a batch is in round i + 1 and its virtual time is base + step × (the tenant's items in
 *   rounds up to its own), so a newer batch catches up with an older one; its single jobs take no
 *   priority and go first, as without tenants.
 * - While other tenants have work queued too, a tenant's new batch comes after its own queued work
 *   (virtual times from the last it was given, step apart), so posting more batches never takes
 *   turns from the others; its single jobs take the next place of its own stream of singles.
 * With one tenant and no history every priority is what it was without tenants.
 *
 * Keys: `{p}:fair:{provider}` (HASH: `v`) and `{p}:fair:{provider}:t:{tenant}` (HASH: `base`,
 * `last`, `singles`, `sizes` (JSON array of the sizes of the tenant's batches in its current busy
 * period), `snap:{batch id}` (what a batch's priorities were computed from, so a batch enqueued
 * twice after a crash gets the same ones)). The tenant-queued counts are the job store's.
 *
 * Approximations, by design: priorities are fixed when a job is enqueued. A tenant's batches
 * posted while it was alone keep their round-robin places when another tenant arrives, so for a
 * while that tenant gets more than its share (about ln(batches) times); a tenant that floods
 * single jobs while alone is served before a later tenant's work; a queue never empty for millions
 * of rounds reaches BullMQ's largest priority and is then served in arrival order.
 */

import { DEFAULT_TENANT } from '@genqueue/model';
import { MAX_PRIORITY } from './batch-intake.ts';
import type { RedisClient } from './redis-connection.ts';

/** Batches remembered per tenant busy period; older ones stop counting (they are mostly done). */
const MAX_REMEMBERED_BATCHES = 200;
/** A tenant's fair-share state outlives its last activity by this long, in seconds. */
const STATE_TTL_SECONDS = 7 * 86_400;

/**
 * KEYS: provider hash, tenant hash, tenant-queued counts. ARGV: tenant, 'batch' | 'single',
 * stream id, own (how many of the tenant's queued jobs this stream is), step. Returns 'first' (a
 * single job that takes no priority) or the JSON snapshot the priorities are computed from:
 * {mode = 'rounds', base, sizes, singles} (a single's `singles` counts the singles before it) or
 * {mode = 'after', start} (item i gets start + (i + 1) × step).
 */
const ASSIGN_LUA = `
local tenant, kind, stream, own, step = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
if kind == 'batch' then
  local snap = redis.call('HGET', KEYS[2], 'snap:' .. stream)
  if snap then return snap end
end
local queued = tonumber(redis.call('HGET', KEYS[3], tenant) or '0')
local others = 0
local counts = redis.call('HGETALL', KEYS[3])
for i = 1, #counts, 2 do
  if counts[i] ~= tenant then others = others + math.max(0, tonumber(counts[i + 1]) or 0) end
end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local fresh = queued - own <= 0 or redis.call('EXISTS', KEYS[2]) == 0
if fresh then
  -- nothing of the tenant's was waiting: it starts afresh, at the current virtual time (from 0
  -- again when nobody has anything waiting)
  if others == 0 then
    v = 0
    redis.call('HSET', KEYS[1], 'v', 0)
  end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'base', v, 'singles', 0, 'sizes', '[]', 'last', v)
end
redis.call('EXPIRE', KEYS[2], ${STATE_TTL_SECONDS})
local base = tonumber(redis.call('HGET', KEYS[2], 'base'))
local singles = tonumber(redis.call('HGET', KEYS[2], 'singles'))
local last = tonumber(redis.call('HGET', KEYS[2], 'last'))
local sizes = cjson.decode(redis.call('HGET', KEYS[2], 'sizes'))
local function items(round, extra)
  local c = round + math.min(round, extra)
  for _, n in ipairs(sizes) do c = c + math.min(round, n) end
  return c
end
if kind == 'single' then
  redis.call('HSET', KEYS[2], 'singles', singles + 1)
  -- alone (no other tenant has work queued), a single job goes first, as without tenants
  if others == 0 then return 'first' end
  local tag = math.max(v + 1, base + math.ceil(items(singles + 1, 0) * step))
  redis.call('HSET', KEYS[2], 'last', math.max(last, tag))
  return cjson.encode({mode = 'single', priority = tag})
end
local snap
if fresh or others == 0 then
  -- alone, or new: round-robin with the tenant's other batches, the newest catching up
  snap = cjson.encode({mode = 'rounds', base = base, sizes = sizes, singles = singles})
  last = math.max(last, base + math.ceil(items(own, singles) * step))
else
  -- others are waiting too: the tenant's new batch comes after the tenant's own queued work,
  -- so the share of the others does not shrink
  local start = math.max(last, v)
  snap = cjson.encode({mode = 'after', start = start})
  last = start + math.ceil(own * step)
end
table.insert(sizes, own)
if #sizes > ${MAX_REMEMBERED_BATCHES} then table.remove(sizes, 1) end
redis.call('HSET', KEYS[2], 'sizes', cjson.encode(sizes), 'snap:' .. stream, snap, 'last', last)
return snap
`;

/** KEYS: provider hash. ARGV: a started priority. Raises `v` to it. */
const SERVED_LUA = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if tonumber(ARGV[1]) > v then redis.call('HSET', KEYS[1], 'v', ARGV[1]) end
return 1
`;

type Snapshot =
  | { mode: 'rounds'; base: number; sizes: number[]; singles: number }
  | { mode: 'after'; start: number }
  /** A single job's priority, computed by the script from the virtual time it read. */
  | { mode: 'single'; priority: number };

type ScriptedRedis = RedisClient & {
  gqFairAssign(...args: (string | number)[]): Promise<string>;
  gqFairServed(...args: (string | number)[]): Promise<number>;
};

export interface FairShareOptions {
  redis: RedisClient;
  /** The queue prefix, e.g. `{genq}`. */
  prefix: string;
  /** A tenant's weight (relative share). Default: 1 for every tenant. */
  weightOf?: (tenant: string) => number;
  /** The largest weight of any tenant (the step of that tenant is 1). Default 1. */
  maxWeight?: number;
}

/** Assigns submit priorities by tenant share, batch round-robin within a tenant. */
export class FairShare {
  readonly #redis: ScriptedRedis;
  private readonly prefix: string;
  private readonly weightOf: (tenant: string) => number;
  private readonly maxWeight: number;

  constructor(options: FairShareOptions) {
    const redis = options.redis;
    if (!('gqFairAssign' in redis)) {
      redis.defineCommand('gqFairAssign', { numberOfKeys: 3, lua: ASSIGN_LUA });
      redis.defineCommand('gqFairServed', { numberOfKeys: 1, lua: SERVED_LUA });
    }
    this.#redis = redis as ScriptedRedis;
    this.prefix = options.prefix;
    this.weightOf = options.weightOf ?? (() => 1);
    this.maxWeight = options.maxWeight ?? 1;
  }

  private step(tenant: string): number {
    return this.maxWeight / Math.max(1e-6, this.weightOf(tenant));
  }

  private async assign(
    provider: string,
    tenant: string,
    kind: 'batch' | 'single',
    stream: string,
    own: number,
  ): Promise<Snapshot | undefined> {
    const raw = await this.#redis.gqFairAssign(
      `${this.prefix}:fair:${provider}`,
      `${this.prefix}:fair:${provider}:t:${tenant}`,
      `${this.prefix}:tenant-queued`,
      tenant,
      kind,
      stream,
      own,
      this.step(tenant),
    );
    if (raw === 'first') return undefined;
    const parsed = JSON.parse(raw) as Snapshot & { sizes?: unknown };
    if (parsed.mode !== 'rounds') return parsed;
    // cjson writes an empty array as {}
    return { ...parsed, sizes: Array.isArray(parsed.sizes) ? (parsed.sizes as number[]) : [] };
  }

  /**
   * The priorities of a batch's items: `priorityOf(index)`. The same batch asked again (its
   * enqueue repeated after a crash) gets the same priorities.
   */
  async batch(
    provider: string,
    tenant: string | undefined,
    batchId: string,
    total: number,
  ): Promise<(index: number) => number> {
    const who = tenant ?? DEFAULT_TENANT;
    const snap = (await this.assign(provider, who, 'batch', batchId, total))!;
    const step = this.step(who);
    if (snap.mode === 'after') return (index) => clamp(snap.start + Math.ceil((index + 1) * step));
    // The script answers a batch with its rounds or with `after`, never as a single job.
    if (snap.mode === 'single') throw new Error('fair share: a single-job answer for a batch');
    return (index) => {
      const round = index + 1;
      let items = round + Math.min(round, snap.singles);
      for (const size of snap.sizes) items += Math.min(round, size);
      return clamp(snap.base + Math.ceil(items * step));
    };
  }

  /**
   * The priority of a job posted alone (or retried): the next one of its tenant's singles. None
   * (served before every prioritized job, as without tenants) while no other tenant has work
   * queued.
   */
  async single(provider: string, tenant: string | undefined, jobId: string): Promise<number | undefined> {
    const who = tenant ?? DEFAULT_TENANT;
    const snap = await this.assign(provider, who, 'single', jobId, 1);
    return snap?.mode === 'single' ? clamp(snap.priority) : undefined;
  }

  /** A worker started a submission of this priority: the virtual time is at least there. */
  async served(provider: string, priority: number | undefined): Promise<void> {
    if (!priority) return;
    await this.#redis.gqFairServed(`${this.prefix}:fair:${provider}`, priority);
  }
}

function clamp(priority: number): number {
  return Math.max(1, Math.min(MAX_PRIORITY, priority));
}
