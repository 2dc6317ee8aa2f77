/**
 * The limiter's Lua scripts. Each runs atomically in Redis, so any number of worker processes on any
 * number of machines see one consistent gate.
 *
 * Keys (all under one prefix, so a `{hash tag}` in it keeps them in one Redis Cluster slot):
 * - KEYS[1] `leases`: ZSET holder → lease expiry (ms since the epoch, by Redis TIME).
 * - KEYS[2] `last`: the last grant time (ms).
 * - KEYS[3] `pause`: HASH `reason`, `since`, `nextProbeAt` (ms); absent while the account is live.
 *
 * Time is always Redis `TIME`, read inside the script: every process compares against one clock, so
 * clock drift between machines can neither let two submissions through in the same second nor
 * stall the gate. (Since Redis 5 scripts replicate their effects, not the script, so calling TIME
 * before a write is allowed.)
 */

/** `now` in milliseconds from Redis TIME ({seconds, microseconds}). */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * ARGV: holder, intervalMs, maxInFlight, leaseTtlMs, probeIntervalMs.
 * Returns `{1, probe (0|1), inFlight}` or `{0, reason, retryInMs, inFlight}`.
 */
export const TRY_ACQUIRE_LUA = `${NOW}
local holder = ARGV[1]
local interval = tonumber(ARGV[2])
local maxInFlight = tonumber(ARGV[3])
local leaseTtl = tonumber(ARGV[4])
local probeInterval = tonumber(ARGV[5])

-- A lease at or past its expiry belongs to a worker that died without releasing: its slot comes back.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])

local probe = 0
local nextProbeAt = tonumber(redis.call('HGET', KEYS[3], 'nextProbeAt') or '')
if nextProbeAt then
  if now < nextProbeAt then
    return {0, 'paused', nextProbeAt - now, count}
  end
  probe = 1
end

-- A holder that already has a lease (a retried job) reuses it and never takes a second slot.
local held = redis.call('ZSCORE', KEYS[1], holder)
if not held and count >= maxInFlight then
  -- A release in another process sends no signal, so callers recheck soon; no later than the
  -- earliest expiry, when a slot comes back for certain.
  local retry = 250
  local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if earliest[2] then
    retry = math.min(retry, tonumber(earliest[2]) - now)
  end
  return {0, 'in_flight', retry, count}
end

local last = tonumber(redis.call('GET', KEYS[2]) or '')
if last and last > now then
  -- TIME stepped back (e.g. failover to a replica with another clock): restart the spacing from
  -- now instead of waiting out the skew.
  redis.call('SET', KEYS[2], now)
  return {0, 'qps', interval, count}
end
if last and now < last + interval then
  return {0, 'qps', last + interval - now, count}
end

redis.call('ZADD', KEYS[1], now + leaseTtl, holder)
redis.call('SET', KEYS[2], now)
if probe == 1 then
  -- Moving the probe time forward in the same script is what lets exactly one caller probe.
  redis.call('HSET', KEYS[3], 'nextProbeAt', now + probeInterval)
end
if not held then
  count = count + 1
end
return {1, probe, count}
`;

/** ARGV: holder, leaseTtlMs. Returns 1 when a live lease was refreshed, else 0. */
export const EXTEND_LUA = `${NOW}
local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '')
if expiry and expiry > now then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
`;

/** ARGV: holder, leaseTtlMs. Takes or refreshes the lease with no checks. */
export const ADOPT_LUA = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
`;

/** Returns the live (unexpired) holders, earliest expiry first. Read-only. */
export const HOLDERS_LUA = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`;

/** Returns the number of live leases. Read-only. */
export const IN_FLIGHT_LUA = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

/** ARGV: reason, probeIntervalMs. Pauses unless already paused (the first reason and time stay). */
export const PAUSE_LUA = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'since', now, 'nextProbeAt', now + tonumber(ARGV[2]))
return 1
`;
