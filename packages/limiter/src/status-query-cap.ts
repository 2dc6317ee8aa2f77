import { randomUUID } from 'node:crypto';
import type { RedisClient } from '@genqueue/core';

/**
 * Options of {@link StatusQueryCap}. Like the submission limits, the cap travels with every call,
 * so each process applies its own configured value to the shared window.
 */
export interface StatusQueryCapOptions {
  /** ioredis connection; the cap defines its script on it. */
  redis: RedisClient;
  /**
   * Prefix of the cap's keys: one per provider account, e.g. `genq:limits:liblib:default`. May
   * contain a `{hash tag}` for Redis Cluster.
   */
  keyPrefix: string;
  /** Status queries allowed in any sliding second, across all processes (`STATUS_QUERY_MAX_QPS`). */
  maxPerSecond: number;
  /**
   * Extra length of the window, ms. Default 10: a query reaches the provider a little after its
   * grant, and two grants exactly one second apart could otherwise arrive inside one second.
   */
  marginMs?: number;
}

/** The answer of {@link StatusQueryCap.tryTake}. */
export type StatusQueryGrant = { granted: true } | { granted: false; retryInMs: number };

/**
 * KEYS: the window (ZSET member → grant time, ms by Redis TIME).
 * ARGV: member, maxPerWindow, windowMs. Returns `{1, 0}` or `{0, retryInMs}`.
 */
const TAKE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, tonumber(oldest[2]) + window - now + 1)}
`;

const COMMAND = 'genqueueTakeStatusQuery';

/**
 * A global cap on status queries per account: at most `maxPerSecond` in any sliding second, across
 * every worker process. The status endpoint has no limit of its own in the manual (002 §2.3), but
 * every query is a request the provider serves; the cap keeps a burst of tasks that all near their
 * end at once, or many workers, from turning into a flood. A refused query is simply asked again
 * later: it costs the task some delay in noticing its end, never its result.
 *
 * A sliding log (ZSET of grant times, by Redis TIME) rather than a token bucket, so the bound holds
 * for every 1 s window, the way a provider would measure it.
 */
export class StatusQueryCap {
  private readonly redis: RedisClient;
  private readonly key: string;
  private readonly windowMs: number;
  readonly maxPerSecond: number;

  constructor(options: StatusQueryCapOptions) {
    if (!Number.isInteger(options.maxPerSecond) || options.maxPerSecond < 1) {
      throw new RangeError(
        `StatusQueryCap: maxPerSecond must be an integer >= 1, got ${options.maxPerSecond}`,
      );
    }
    this.redis = options.redis;
    this.key = `${options.keyPrefix}:status-queries`;
    this.windowMs = 1_000 + (options.marginMs ?? 10);
    this.maxPerSecond = options.maxPerSecond;
    this.redis.defineCommand(COMMAND, { lua: TAKE_LUA, numberOfKeys: 1 });
  }

  /** Takes one query from the window, or says how long until one is free. */
  async tryTake(): Promise<StatusQueryGrant> {
    // defineCommand adds a method ioredis's types cannot know about.
    const take = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<[number, number]>>)[
      COMMAND
    ]!;
    const [granted, retryInMs] = await take.call(
      this.redis,
      this.key,
      randomUUID(),
      this.maxPerSecond,
      this.windowMs,
    );
    return granted === 1 ? { granted: true } : { granted: false, retryInMs: Number(retryInMs) };
  }
}
