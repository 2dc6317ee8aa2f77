/**
 * The limiter's Lua scripts. Each runs atomically in Redis, so any number of worker processes on any
 * number of machines see one consistent gate.
 *
 * Keys (all under one prefix, so a `{hash tag}` in it keeps them in one Redis Cluster slot):
 * - `leases`: ZSET holder → lease expiry (ms since the epoch, by Redis TIME).
 * - `sending`: ZSET holder → deadline: submissions whose request may still be on its way to the
 *   provider (a turn granted and not yet ended).
 * - `sent`: ZSET `holder@time` → time: submissions whose request is over (the provider answered, or
 *   the call failed), by the time it was over, kept for one window.
 * - `pause`: HASH `reason`, `since`, `nextProbeAt` (ms); absent while the account is live.
 *
 * Why turns. The provider measures its QPS window at the moment a request reaches it, which
 * genqueue cannot see; it only knows that the request arrived after the turn was granted and before
 * the answer came back. Counting a submission in the window from its grant until one window after
 * its answer therefore keeps every pair of arrivals a full window apart, however long the worker
 * took between the grant and the send (a busy event loop, a Redis round trip, a slow network). The
 * cost is the request's round trip, once per window.
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
 * KEYS: leases, sending, sent, pause.
 * ARGV: holder, windowMs, perWindow, maxInFlight, leaseTtlMs, probeIntervalMs, turnTtlMs, holdTurn,
 *       sendAllowanceMs.
 * Returns `{1, probe (0|1), inFlight}` or `{0, reason, retryInMs, inFlight}`.
 */
export const TRY_ACQUIRE_LUA = `${NOW}
local holder = ARGV[1]
local window = tonumber(ARGV[2])
local perWindow = tonumber(ARGV[3])
local maxInFlight = tonumber(ARGV[4])
local leaseTtl = tonumber(ARGV[5])
local probeInterval = tonumber(ARGV[6])
local turnTtl = tonumber(ARGV[7])
local holdTurn = ARGV[8] == '1'
local sendAllowance = tonumber(ARGV[9])

-- A lease at or past its expiry belongs to a worker that died without releasing: its slot comes back.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])

local probe = 0
local nextProbeAt = tonumber(redis.call('HGET', KEYS[4], 'nextProbeAt') or '')
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

-- A turn never ended belongs to a caller that died mid-call: by its deadline the request is over.
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES')
for i = 1, #expired, 2 do
  redis.call('ZADD', KEYS[3], expired[i + 1], expired[i] .. '@' .. expired[i + 1])
  redis.call('ZREM', KEYS[2], expired[i])
end
-- If TIME stepped back (failover to a replica with another clock), entries from the future would
-- block the gate for the whole skew: count them as ending now instead.
local future = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. (now + sendAllowance), '+inf')
for _, member in ipairs(future) do
  redis.call('ZADD', KEYS[3], now + sendAllowance, member)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
local sending = redis.call('ZCARD', KEYS[2])
local recent = redis.call('ZCARD', KEYS[3])
if sending + recent >= perWindow then
  -- A turn still open may end any moment; otherwise the oldest submission leaves the window.
  local retry = 20
  if sending == 0 then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    retry = math.max(1, tonumber(oldest[2]) + window - now)
  end
  return {0, 'qps', retry, count}
end

redis.call('ZADD', KEYS[1], now + leaseTtl, holder)
if holdTurn then
  redis.call('ZADD', KEYS[2], now + turnTtl, holder)
else
  -- Nobody will say when this request is over: assume it reaches the provider within the allowance.
  local over = now + sendAllowance
  redis.call('ZADD', KEYS[3], over, holder .. '@' .. over)
end
if probe == 1 then
  -- Moving the probe time forward in the same script is what lets exactly one caller probe.
  redis.call('HSET', KEYS[4], 'nextProbeAt', now + probeInterval)
end
if not held then
  count = count + 1
end
return {1, probe, count}
`;

/**
 * KEYS: sending, sent. ARGV: holder, allowanceMs. Ends the holder's open turn: its request reached
 * the provider by now + allowance, and counts in the QPS window from then. Returns 1 when a turn
 * was open.
 */
export const END_TURN_LUA = `${NOW}
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  local at = now + tonumber(ARGV[2])
  redis.call('ZADD', KEYS[2], at, ARGV[1] .. '@' .. at)
  return 1
end
return 0
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
