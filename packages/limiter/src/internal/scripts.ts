/**
 * The account pool's Lua scripts. Each runs atomically in Redis, so any number of worker processes on
 * any number of machines see one consistent gate for every account of a provider.
 *
 * Keys. One pool (one provider) keeps all its keys under one prefix holding a `{hash tag}`, so on
 * Redis Cluster they live in one slot and one script can choose among the provider's accounts and
 * grant in the same step. Per account `<prefix>:<account>:…`:
 * - `leases`: ZSET `holder#token` → lease expiry (ms since the epoch, by Redis TIME). The token is
 *   drawn at each grant, so only the caller that was granted can release or refresh its lease.
 * - `sending`: ZSET `holder#token` → deadline: submissions whose request may still be on its way to
 *   the provider (a turn granted and not yet ended).
 * - `sent`: ZSET `holder#token@time` → time: submissions whose request is over (the provider
 *   answered, or the call failed), by the time it was over, kept for one window.
 * - `pause`: HASH `reason`, `since`, then `nextProbeAt` (ms; an account error, probed) or
 *   `manual` = 1 (paused by an operator, never probed); absent while the account is live.
 * - `limits`: HASH `submitQps`, `maxInFlight`: limits changed at runtime, read at every grant; a
 *   missing field takes the configured value the caller passes.
 * - `stats`: HASH `submitted`, `points`, `balance`, `balanceAt`: what the account did.
 * And per pool `<prefix>:lastGrant`: HASH account → sequence number of its last grant (least
 * recently used first), `#grants` → the last sequence number.
 *
 * Why turns. The provider measures its QPS window at the moment a request reaches it, which
 * genqueue cannot see; it only knows that the request arrived after the turn was granted and before
 * the answer came back. Counting a submission in the window from its grant until one window after
 * its answer therefore keeps every pair of arrivals a full window apart, however long the worker
 * took between the grant and the send (a busy event loop, a Redis round trip, a slow network). The
 * cost is the request's round trip, once per window.
 *
 * Why a pending lease. A grant's lease first lives only as long as a held turn (`pendingTtlMs`):
 * until the request is on its way, no task can exist, so a worker that dies before sending gives
 * its slot back within that time. Ending the turn (the request is sent or answered) extends the
 * lease to the full lease TTL, and the poller refreshes it for as long as it sees the task alive.
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

/** Keys per account in {@link TRY_ACQUIRE_LUA}, in this order. */
export const ACCOUNT_KEYS = ['leases', 'sending', 'sent', 'pause', 'limits'] as const;
/** Arguments per account in {@link TRY_ACQUIRE_LUA}: id, configured QPS, configured in-flight, weight. */
export const ACCOUNT_ARGS = 4;
/** Arguments before the per-account ones in {@link TRY_ACQUIRE_LUA}. */
export const FIXED_ARGS = 8;

/**
 * Chooses among the candidate accounts one that has a free slot and a free QPS turn now, and grants
 * it, in one step.
 *
 * KEYS: lastGrant, then per candidate account the {@link ACCOUNT_KEYS}.
 * ARGV: member (`holder#token`), pendingTtlMs, probeIntervalMs, turnTtlMs, holdTurn (0|1),
 *       sendAllowanceMs, marginMs, leaseTtlMs; then per account id, submitQps, maxInFlight, weight.
 * Returns `{1, accountId, probe (0|1), inFlight}` or `{0, reason, retryInMs, inFlight}` where the
 * denial is the candidate's that will have room soonest and `inFlight` the candidates' total.
 *
 * Preference among accounts with room: a paused account whose probe is due (so a paused account is
 * probed on time however busy the others are), then the most free slots, then the highest weight,
 * then the least recently granted.
 */
export const TRY_ACQUIRE_LUA = `${NOW}
local member = ARGV[1]
local pendingTtl = tonumber(ARGV[2])
local probeInterval = tonumber(ARGV[3])
local turnTtl = tonumber(ARGV[4])
local holdTurn = ARGV[5] == '1'
local sendAllowance = tonumber(ARGV[6])
local margin = tonumber(ARGV[7])
local leaseTtl = tonumber(ARGV[8])
local FIXED, PER, NKEYS = ${FIXED_ARGS}, ${ACCOUNT_ARGS}, ${ACCOUNT_KEYS.length}
local n = (#ARGV - FIXED) / PER

local best, bestRank
local denyReason, denyRetry = nil, nil
local total = 0

for i = 1, n do
  local a = FIXED + (i - 1) * PER
  local k = 1 + (i - 1) * NKEYS
  local id = ARGV[a + 1]
  local leases, sending, sent, pause, limits = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local qps = tonumber(redis.call('HGET', limits, 'submitQps') or ARGV[a + 2])
  local maxInFlight = tonumber(redis.call('HGET', limits, 'maxInFlight') or ARGV[a + 3])
  local weight = tonumber(ARGV[a + 4])
  -- Integer rates keep the provider's own window (N per second); a fractional rate below 1
  -- stretches the window (0.5/s: 1 per 2 s), above 1 shrinks it (2.5/s: 2 per 800 ms).
  local perWindow = math.max(1, math.floor(qps))
  local window = math.ceil(1000 * perWindow / qps) + margin

  -- A lease at or past its expiry belongs to a worker that died without releasing: its slot comes back.
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  local count = redis.call('ZCARD', leases)
  total = total + count

  local reason, retry
  local probe = 0
  if redis.call('HGET', pause, 'manual') == '1' then
    -- An operator's pause lasts until the operator lifts it; recheck now and then.
    reason, retry = 'paused', 1000
  else
    local nextProbeAt = tonumber(redis.call('HGET', pause, 'nextProbeAt') or '')
    if nextProbeAt then
      if now < nextProbeAt then
        reason, retry = 'paused', nextProbeAt - now
      else
        probe = 1
      end
    end
  end

  -- The same grant asked again (same token) reuses its lease and never takes a second slot.
  local held = redis.call('ZSCORE', leases, member)
  if not reason and not held and count >= maxInFlight then
    -- A release in another process sends no signal, so callers recheck soon; no later than the
    -- earliest expiry, when a slot comes back for certain.
    retry = 250
    local earliest = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
    if earliest[2] then
      retry = math.max(1, math.min(retry, tonumber(earliest[2]) - now))
    end
    reason = 'in_flight'
  end

  if not reason then
    -- A turn never ended belongs to a caller that died mid-call: by its deadline the request is over.
    local expired = redis.call('ZRANGEBYSCORE', sending, '-inf', now, 'WITHSCORES')
    for j = 1, #expired, 2 do
      redis.call('ZADD', sent, expired[j + 1], expired[j] .. '@' .. expired[j + 1])
      redis.call('ZREM', sending, expired[j])
    end
    -- If TIME stepped back (failover to a replica with another clock), entries from the future would
    -- block the gate for the whole skew: count them as ending now instead.
    local future = redis.call('ZRANGEBYSCORE', sent, '(' .. (now + sendAllowance), '+inf')
    for _, m in ipairs(future) do
      redis.call('ZADD', sent, now + sendAllowance, m)
    end
    redis.call('ZREMRANGEBYSCORE', sent, '-inf', now - window)
    local open = redis.call('ZCARD', sending)
    local recent = redis.call('ZCARD', sent)
    if open + recent >= perWindow then
      -- A turn still open may end any moment; otherwise the oldest submission leaves the window.
      retry = 20
      if open == 0 then
        local oldest = redis.call('ZRANGE', sent, 0, 0, 'WITHSCORES')
        retry = math.max(1, tonumber(oldest[2]) + window - now)
      end
      reason = 'qps'
    end
  end

  if reason then
    if denyRetry == nil or retry < denyRetry then
      denyReason, denyRetry = reason, retry
    end
  else
    local free = maxInFlight - count
    local last = tonumber(redis.call('HGET', KEYS[1], id) or '0')
    local rank = {probe, free, weight, -last}
    local better = best == nil
    if not better then
      for r = 1, 4 do
        if rank[r] ~= bestRank[r] then
          better = rank[r] > bestRank[r]
          break
        end
      end
    end
    if better then
      bestRank = rank
      best = {i = i, k = k, id = id, probe = probe, held = held, count = count, leases = leases,
              sending = sending, sent = sent, pause = pause}
    end
  end
end

if best == nil then
  return {0, denyReason or 'in_flight', denyRetry or 250, total}
end

-- Without a held turn nobody will say when the request is sent: its lease counts in full from now.
local expiry = now + (holdTurn and pendingTtl or leaseTtl)
if best.held then
  expiry = math.max(expiry, tonumber(best.held))
end
redis.call('ZADD', best.leases, expiry, member)
if holdTurn then
  redis.call('ZADD', best.sending, now + turnTtl, member)
else
  -- Assume the request reaches the provider within the allowance.
  local over = now + sendAllowance
  redis.call('ZADD', best.sent, over, member .. '@' .. over)
end
if best.probe == 1 then
  -- Moving the probe time forward in the same script is what lets exactly one caller probe.
  redis.call('HSET', best.pause, 'nextProbeAt', now + probeInterval)
end
-- A grant counter, not the time: two grants within one millisecond must still rank in order.
redis.call('HSET', KEYS[1], best.id, redis.call('HINCRBY', KEYS[1], '#grants', 1))
local count = best.count
if not best.held then
  count = count + 1
end
return {1, best.id, best.probe, count}
`;

/**
 * KEYS: leases, sending, sent. ARGV: member, allowanceMs, leaseTtlMs. Ends the member's open turn
 * (its request reached the provider by now + allowance and counts in the QPS window from then) and,
 * since a task may exist from now on, holds its lease for the full lease TTL. Returns 1 when a turn
 * was open.
 */
export const END_TURN_LUA = `${NOW}
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  local at = now + tonumber(ARGV[2])
  redis.call('ZADD', KEYS[3], at, ARGV[1] .. '@' .. at)
  return 1
end
return 0
`;

/**
 * KEYS: leases, sending, sent. ARGV: member. Frees the member's slot, and ends its turn if one is
 * still open (the request is over now). Returns 1 when a lease was removed.
 */
export const RELEASE_LUA = `${NOW}
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[3], now, ARGV[1] .. '@' .. now)
end
return redis.call('ZREM', KEYS[1], ARGV[1])
`;

/**
 * KEYS: leases. ARGV: member, ttlMs. Takes or extends the member's lease to now + ttl with no checks
 * (the task is in flight at the provider whatever the gate says). Returns 1 when the lease was live.
 */
export const REFRESH_LUA = `${NOW}
local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '')
-- Never shortens a lease: a slot held until a known deadline stays held until then.
redis.call('ZADD', KEYS[1], math.max(now + tonumber(ARGV[2]), expiry or 0), ARGV[1])
if expiry and expiry > now then
  return 1
end
return 0
`;

/** Returns the number of live leases. Read-only. */
export const IN_FLIGHT_LUA = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

/**
 * KEYS: pause. ARGV: reason, probeIntervalMs, manual (0|1), probeFailed (0|1). An account error
 * pauses unless already paused (the first reason and time stay); a failed probe's error also moves
 * the next probe to one interval after this answer (never earlier), so probes reach the provider a
 * full interval apart however long each took. An operator's pause replaces any pause. Returns 1
 * when the pause was written.
 */
export const PAUSE_LUA = `${NOW}
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'since', now, 'manual', 1)
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  local nextProbeAt = tonumber(redis.call('HGET', KEYS[1], 'nextProbeAt') or '')
  if ARGV[4] == '1' and nextProbeAt and nextProbeAt < now + tonumber(ARGV[2]) then
    redis.call('HSET', KEYS[1], 'nextProbeAt', now + tonumber(ARGV[2]))
  end
  return 0
end
redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'since', now, 'nextProbeAt', now + tonumber(ARGV[2]))
return 1
`;

/**
 * KEYS: pause. ARGV: manual (0|1). A succeeded probe lifts an account error's pause but never an
 * operator's; the operator lifts either. Returns 1 when a pause was lifted.
 */
export const RESUME_LUA = `
if ARGV[1] ~= '1' and redis.call('HGET', KEYS[1], 'manual') == '1' then
  return 0
end
return redis.call('DEL', KEYS[1])
`;
