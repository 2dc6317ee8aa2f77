/**
 * The API's own rate limits, kept in Redis so they hold across API processes:
 * - per key: a token bucket (`API_RATE_PER_SECOND` refill, `API_RATE_BURST` size) in one Lua
 *   script on Redis's clock; an empty bucket answers `429 rate_limited` with `Retry-After`.
 * - per source address: failed authentications counted in a fixed window
 *   (`AUTH_FAILURES_MAX` per `AUTH_FAILURE_WINDOW_MS`); past it, every attempt from that address,
 *   right or wrong, answers `429` until the window ends, so keys cannot be guessed at speed.
 *
 * Keys: `{p}:rate:{key id}` (HASH tokens, ts) and `{p}:auth-fail:{address}` (counter with a TTL).
 */
import type { ApiRateLimits } from '@genqueue/config';
import type { RedisClient } from '@genqueue/core';
import type { Request, Response } from 'express';
import type { AuthGuard } from './access.ts';
import type { Principal } from './key-ring.ts';

/**
 * Takes one token from the bucket KEYS[1]. ARGV: refill per second, bucket size. Returns
 * {1, 0} when taken, {0, ms until a token is back} when empty.
 */
const TAKE_LUA = `
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(h[1]) or burst
local ts = tonumber(h[2]) or now
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end
local taken, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {taken, wait}
`;

/** Counts one failure in the window KEYS[1] (ARGV: window ms). Returns the count. */
const FAIL_LUA = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
return n
`;

type ScriptedRedis = RedisClient & {
  gqRateTake(key: string, rate: number, burst: number): Promise<[number, number]>;
  gqAuthFail(key: string, windowMs: number): Promise<number>;
};

function tooMany(res: Response, retryAfterMs: number, message: string): void {
  res
    .status(429)
    .set('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
    .json({ error: { code: 'rate_limited', message } });
}

/** The source address a request is counted under (`trust proxy` is off: the peer's address). */
function addressOf(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export class ApiRateLimiter {
  readonly #redis: ScriptedRedis;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly limits: ApiRateLimits,
  ) {
    if (!('gqRateTake' in redis)) {
      redis.defineCommand('gqRateTake', { numberOfKeys: 1, lua: TAKE_LUA });
      redis.defineCommand('gqAuthFail', { numberOfKeys: 1, lua: FAIL_LUA });
    }
    this.#redis = redis as ScriptedRedis;
  }

  private failKey(req: Request): string {
    return `${this.prefix}:auth-fail:${addressOf(req)}`;
  }

  /** The hooks `keyAuth` and the gallery's login run. */
  guard(): Required<AuthGuard> {
    return {
      before: async (req, res) => {
        const key = this.failKey(req);
        if (Number(await this.#redis.get(key)) < this.limits.authFailures) return true;
        const ttl = await this.#redis.pttl(key);
        tooMany(
          res,
          ttl > 0 ? ttl : this.limits.authFailureWindowMs,
          'too many failed authentications from this address; wait and retry',
        );
        return false;
      },
      failed: async (req) => {
        await this.#redis.gqAuthFail(this.failKey(req), this.limits.authFailureWindowMs);
      },
      admitted: async (principal: Principal, res) => {
        const { perKeyPerSecond: rate, perKeyBurst: burst } = this.limits;
        if (rate <= 0) return true;
        const [taken, waitMs] = await this.#redis.gqRateTake(
          `${this.prefix}:rate:${principal.keyId}`,
          rate,
          burst,
        );
        if (taken === 1) return true;
        tooMany(
          res,
          waitMs,
          `this key may make ${rate} requests per second (bursts of ${burst}); retry after the Retry-After delay`,
        );
        return false;
      },
    };
  }
}
