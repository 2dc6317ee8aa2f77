import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { deleteKeysWithPrefix, limiterKeyPrefix } from '@genqueue/core';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AccountPool,
  type AccountPoolOptions,
  type AcquireResult,
  type Lease,
  NoMatchingAccountError,
  type PoolAccount,
} from './index.ts';

// Real Redis, one key prefix per test; the keys are deleted and connections closed afterwards.
// Lease and probe intervals are long enough that a stalled 2-core machine cannot cross them between
// two steps of a test; the tests wait for conditions, never for a fixed time to have passed.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Overrides = Partial<Omit<AccountPoolOptions, 'redis' | 'keyPrefix' | 'accounts'>> & {
  accounts?: PoolAccount[];
  /** Shorthand for one account `default` with these limits. */
  submitQps?: number;
  maxInFlight?: number;
};

/** `connections` pools (think: worker processes) sharing one fresh prefix, each on its own connection. */
function setup(overrides: Overrides = {}, connections = 1) {
  const queuePrefix = `genq:test:pool:${randomUUID()}`;
  const keyPrefix = limiterKeyPrefix(queuePrefix, 'liblib');
  const clients = Array.from({ length: connections }, () => new Redis({ host: '127.0.0.1', port: 6379 }));
  cleanups.push(async () => {
    await deleteKeysWithPrefix(clients[0]!, keyPrefix);
    await Promise.all(clients.map((client) => client.quit()));
  });
  const { accounts, submitQps, maxInFlight, ...options } = overrides;
  const pools = clients.map(
    (redis) =>
      new AccountPool({
        redis,
        keyPrefix,
        accounts: accounts ?? [
          { id: 'default', submitQps: submitQps ?? 1000, maxInFlight: maxInFlight ?? 5 },
        ],
        marginMs: 0,
        sendAllowanceMs: 0,
        ...options,
      }),
  );
  const leaseScores = async (account = 'default') => {
    const flat = await clients[0]!.zrange(`${keyPrefix}:${account}:leases`, 0, -1, 'WITHSCORES');
    const scores = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) scores.set(flat[i]!.split('#')[0]!, Number(flat[i + 1]));
    return scores;
  };
  const redisNow = async () => {
    const [seconds, micros] = await clients[0]!.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };
  return { pool: pools[0]!, pools, redis: clients[0]!, keyPrefix, leaseScores, redisNow };
}

type Filter = Parameters<AccountPool['tryAcquire']>[1];

/** Asks until the answer is not a QPS denial (the spacer is not what these tests are about). */
async function tryPastQps(pool: AccountPool, holder: string, options: Filter = {}): Promise<AcquireResult> {
  for (;;) {
    const result = await pool.tryAcquire(holder, options);
    if (result.granted || result.reason !== 'qps') return result;
    await delay(result.retryInMs);
  }
}

/** Asks until granted, sleeping as long as each denial says (what the submit processor does). */
async function grant(pool: AccountPool, holder: string): Promise<Extract<AcquireResult, { granted: true }>> {
  for (;;) {
    const result = await pool.tryAcquire(holder);
    if (result.granted) return result;
    await delay(Math.max(1, result.retryInMs));
  }
}

/** The account's pause as `accountStates()`, the read `/v1/accounts` and `/metrics` use, reports it. */
async function pauseOf(pool: AccountPool, account = 'default') {
  return (await pool.accountStates()).find((state) => state.id === account)!.pause;
}

function leaseOf(result: AcquireResult): Lease {
  if (!result.granted) throw new Error(`expected a grant, got ${JSON.stringify(result)}`);
  return result.lease;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(20);
  }
}

describe('AccountPool, one account', () => {
  it('grants exactly maxInFlight slots to callers racing from several connections', async () => {
    const { pools, pool } = setup({ maxInFlight: 5 }, 4);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => tryPastQps(pools[i % 4]!, `job-${i}`)),
    );
    const granted = results.filter((r) => r.granted);
    expect(granted).toHaveLength(5);
    expect(results.filter((r) => !r.granted && r.reason === 'in_flight')).toHaveLength(15);
    expect(await pool.inFlight()).toBe(5);
    for (const r of results) {
      if (!r.granted) expect(r.retryInMs).toBeGreaterThan(0);
      if (!r.granted) expect(r.retryInMs).toBeLessThanOrEqual(250);
    }
  });

  it('reuses a lease only for the grant that holds it (same token), never for another caller', async () => {
    const { pool } = setup({ maxInFlight: 2 });
    const first = leaseOf(await tryPastQps(pool, 'a'));
    // The same job asked by another worker (its BullMQ lock was lost): a slot of its own.
    const other = leaseOf(await tryPastQps(pool, 'a'));
    expect(other.token).not.toBe(first.token);
    expect(await pool.inFlight()).toBe(2);
    expect(await tryPastQps(pool, 'b')).toMatchObject({ granted: false, reason: 'in_flight' });
    // The holder of the first token asking again reuses it.
    expect(await tryPastQps(pool, 'a', { token: first.token })).toMatchObject({ granted: true, inFlight: 2 });
    expect(await pool.inFlight()).toBe(2);
  });

  it('releases and refreshes only with the token the grant returned', async () => {
    const { pool, leaseScores } = setup({ maxInFlight: 1 });
    const lease = leaseOf(await tryPastQps(pool, 'a'));
    const stranger = { ...lease, token: 'someone-else' };
    expect(await pool.release(stranger)).toBe(false);
    expect(await pool.inFlight()).toBe(1);
    expect(await pool.release(lease)).toBe(true);
    expect(await pool.release(lease)).toBe(false);
    expect(await tryPastQps(pool, 'b')).toMatchObject({ granted: true, inFlight: 1 });
    expect([...(await leaseScores()).keys()]).toEqual(['b']);
  });

  it('still spaces a reentrant grant by the QPS rule, with the exact remaining gap', async () => {
    // 0.5/s → ceil(1000 / 0.5) = 2000 ms between submissions.
    const { pool } = setup({ submitQps: 0.5, maxInFlight: 1 });
    const lease = leaseOf(await pool.tryAcquire('a'));
    const again = await pool.tryAcquire('a', { token: lease.token });
    expect(again).toMatchObject({ granted: false, reason: 'qps', inFlight: 1 });
    if (again.granted) throw new Error('unreachable');
    expect(again.retryInMs).toBeGreaterThan(1000);
    expect(again.retryInMs).toBeLessThanOrEqual(2000);
  });

  it('holds a granted lease only for the turn TTL until the turn ends, then for the lease TTL', async () => {
    const { pool, leaseScores, redisNow } = setup({ maxInFlight: 1, turnTtlMs: 600, leaseTtlMs: 60_000 });
    // A worker granted a slot that dies before sending: no task can exist, the slot comes back soon.
    const died = leaseOf(await pool.tryAcquire('died', { holdTurn: true }));
    expect(died.account).toBe('default');
    const t0 = await redisNow();
    expect((await leaseScores()).get('died')!).toBeLessThanOrEqual(t0 + 600);
    const next = await waitFor(async () => {
      const r = await pool.tryAcquire('next', { holdTurn: true });
      return r.granted ? r : undefined;
    });
    // Its request is over: from here on a task may exist, so the slot is held for the lease TTL.
    expect(await pool.endTurn(next.lease)).toBe(true);
    expect((await leaseScores()).get('next')!).toBeGreaterThan((await redisNow()) + 50_000);
  });

  it('gives back the slot of a lease that expired; refresh() keeps or re-takes a live task’s lease', async () => {
    const { pool, leaseScores } = setup({ maxInFlight: 1, leaseTtlMs: 1000 });
    const a = leaseOf(await tryPastQps(pool, 'a'));
    const before = (await leaseScores()).get('a')!;
    await delay(20);
    expect(await pool.refresh(a)).toBe(true);
    expect((await leaseScores()).get('a')!).toBeGreaterThan(before);

    const denied = await tryPastQps(pool, 'b');
    expect(denied).toMatchObject({ granted: false, reason: 'in_flight' });
    if (denied.granted) throw new Error('unreachable');
    expect(denied.retryInMs).toBeLessThanOrEqual(250);

    // No release: 'a' plays a worker that died; its lease runs out and 'b' gets the slot.
    const granted = await waitFor(async () => {
      const r = await pool.tryAcquire('b');
      return r.granted ? r : undefined;
    });
    expect(granted.inFlight).toBe(1);
    expect([...(await leaseScores()).keys()]).toEqual(['b']);
    // A poller that still sees a's task alive counts it again: the task holds a provider slot.
    expect(await pool.refresh(a)).toBe(false);
    expect(await pool.inFlight()).toBe(2);
  });

  it('does not count expired leases in inFlight()', async () => {
    const { pool } = setup({ leaseTtlMs: 400 });
    // A poller's refresh takes the slot of a task the gate had no lease for.
    await pool.refresh({ account: 'default', holder: 'a', token: 't' });
    expect(await pool.inFlight()).toBe(1);
    await waitFor(async () => ((await pool.inFlight()) === 0 ? true : undefined));
  });

  it.each([
    { submitQps: 1, marginMs: 0, windowMs: 1_000, perWindow: 1 },
    { submitQps: 3, marginMs: 50, windowMs: 1_050, perWindow: 3 },
    { submitQps: 0.5, marginMs: 0, windowMs: 2_000, perWindow: 1 },
    // without a held turn, the send allowance lengthens every gap
    { submitQps: 1, marginMs: 10, sendAllowanceMs: 50, windowMs: 1_060, perWindow: 1 },
  ])(
    'never grants more than $perWindow per $windowMs ms window by Redis TIME (qps $submitQps, margin $marginMs)',
    async (limits) => {
      const leaseTtlMs = 60_000;
      const { windowMs: _w, perWindow: _p, ...options } = limits;
      const { pools, leaseScores } = setup({ ...options, leaseTtlMs, maxInFlight: 10 }, 3);
      const count = limits.perWindow + 2;
      await Promise.all(Array.from({ length: count }, (_, i) => grant(pools[i % 3]!, `job-${i}`)));
      // Each lease expires leaseTtlMs after its grant, so the scores are the grant times by Redis TIME.
      const grants = [...(await leaseScores()).values()]
        .map((expiry) => expiry - leaseTtlMs)
        .sort((a, b) => a - b);
      expect(grants).toHaveLength(count);
      for (let i = limits.perWindow; i < grants.length; i++) {
        expect(grants[i]! - grants[i - limits.perWindow]!).toBeGreaterThanOrEqual(limits.windowMs);
      }
    },
  );

  it('keeps a held turn in the window until it ends, then for one window from its end', async () => {
    const { pools, redis, keyPrefix, redisNow, leaseScores } = setup(
      { submitQps: 1, marginMs: 0, leaseTtlMs: 60_000 },
      2,
    );
    const [a, b] = pools as [AccountPool, AccountPool];
    const lease = leaseOf(await a.tryAcquire('a', { holdTurn: true }));
    // However long the request takes, nobody else is granted while it may still be on its way.
    await delay(1_100);
    const during = await b.tryAcquire('b', { holdTurn: true });
    expect(during).toMatchObject({ granted: false, reason: 'qps' });
    if (during.granted) throw new Error('unreachable');
    expect(during.retryInMs).toBeLessThanOrEqual(20);

    expect(await a.endTurn(lease)).toBe(true);
    expect(await a.endTurn(lease)).toBe(false);
    // The moment the window counts a's request from: the end of its turn, by Redis TIME.
    const ended = Number((await redis.zrange(`${keyPrefix}:default:sent`, 0, 0, 'WITHSCORES'))[1]);
    expect(ended).toBeLessThanOrEqual(await redisNow());
    const after = await b.tryAcquire('b', { holdTurn: true });
    expect(after).toMatchObject({ granted: false, reason: 'qps' });
    if (after.granted) throw new Error('unreachable');
    // Until one window after the end of a's request (measured after the call: a lower bound).
    expect(after.retryInMs).toBeGreaterThanOrEqual(ended + 1_000 - (await redisNow()));

    await grant(b, 'b');
    // the grant came a full window after the end of a's request
    expect((await leaseScores()).get('b')! - 60_000).toBeGreaterThanOrEqual(ended + 1_000);
  });

  it('counts a turn ended before a slow answer from the send, plus the send allowance', async () => {
    const { pool, redis, keyPrefix, redisNow } = setup({ submitQps: 1, marginMs: 0, sendAllowanceMs: 300 });
    const lease = leaseOf(await pool.tryAcquire('sync', { holdTurn: true }));
    const before = await redisNow();
    expect(await pool.endTurn(lease, { sending: true })).toBe(true);
    const flat = await redis.zrange(`${keyPrefix}:default:sent`, 0, -1, 'WITHSCORES');
    expect(Number(flat[1])).toBeGreaterThanOrEqual(before + 300);
    const next = await pool.tryAcquire('next', { holdTurn: true });
    expect(next).toMatchObject({ granted: false, reason: 'qps' });
    if (next.granted) throw new Error('unreachable');
    expect(next.retryInMs).toBeGreaterThan(1_000);
  });

  it('ends the open turn on release: a failed submission counts in the window from its end', async () => {
    const { pool, redis, keyPrefix, redisNow } = setup({ submitQps: 1, marginMs: 0 });
    const lease = leaseOf(await pool.tryAcquire('failed', { holdTurn: true }));
    expect(await pool.release(lease)).toBe(true);
    const ended = Number((await redis.zrange(`${keyPrefix}:default:sent`, 0, 0, 'WITHSCORES'))[1]);
    expect(ended).toBeGreaterThan(0);
    const next = await pool.tryAcquire('next', { holdTurn: true });
    expect(next).toMatchObject({ granted: false, reason: 'qps' });
    if (next.granted) throw new Error('unreachable');
    expect(next.retryInMs).toBeGreaterThanOrEqual(ended + 1_000 - (await redisNow()));
  });

  it('treats a turn its holder never ended as over at its deadline', async () => {
    const { pool } = setup({ submitQps: 1, marginMs: 0, turnTtlMs: 300 });
    expect(await pool.tryAcquire('died', { holdTurn: true })).toMatchObject({ granted: true });
    expect(await pool.tryAcquire('next', { holdTurn: true })).toMatchObject({
      granted: false,
      reason: 'qps',
    });
    const started = Date.now();
    const granted = await grant(pool, 'next');
    expect(granted.granted).toBe(true);
    // deadline (300 ms) plus one window (1000 ms) after the grant
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
  });

  it('lets exactly one probe through per interval while paused, and resume() reopens', async () => {
    const { pools, pool } = setup({ probeIntervalMs: 800 }, 4);
    await pool.pause('default', 'signature verification failed');
    await pools[1]!.pause('default', 'insufficient points');
    const state = await pauseOf(pool);
    if (!state.paused || state.manual) throw new Error('expected paused by an account error');
    expect(state.reason).toBe('signature verification failed');
    expect(state.nextProbeAt - state.since).toBe(800);

    const denied = await pool.tryAcquire('a');
    expect(denied).toMatchObject({ granted: false, reason: 'paused' });
    if (denied.granted) throw new Error('unreachable');
    expect(denied.retryInMs).toBeGreaterThan(0);
    expect(denied.retryInMs).toBeLessThanOrEqual(800);

    // Probe time: callers race from four connections; exactly one probes, the rest stay paused.
    await delay(denied.retryInMs + 20);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => pools[i % 4]!.tryAcquire(`job-${i}`)),
    );
    const probes = results.filter((r) => r.granted);
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({ probe: true, inFlight: 1 });
    expect(results.filter((r) => !r.granted && r.reason === 'paused')).toHaveLength(11);
    const after = await pauseOf(pool);
    if (!after.paused || after.manual) throw new Error('expected paused');
    expect(after.since).toBe(state.since);
    expect(after.nextProbeAt).toBeGreaterThanOrEqual(state.nextProbeAt + 800);

    expect(await pool.resume('default')).toBe(true);
    expect(await pauseOf(pool)).toEqual({ paused: false });
    expect(await tryPastQps(pool, 'next')).toMatchObject({ granted: true, probe: false, inFlight: 2 });
  });

  it('counts the next probe from a failed probe’s answer, never earlier, and only for a probe', async () => {
    const { pool, redisNow } = setup({ probeIntervalMs: 800 });
    await pool.pause('default', 'no points');
    const first = await pauseOf(pool);
    if (!first.paused || first.manual) throw new Error('expected paused by an account error');
    // Another refusal that was no probe (a submission granted before the pause): nothing moves.
    await delay(50);
    await pool.pause('default', 'no points', { probeFailed: false });
    expect(await pauseOf(pool)).toEqual(first);
    // The probe's refusal came 50+ ms after the pause: the next probe is an interval after it.
    await pool.pause('default', 'no points', { probeFailed: true });
    const after = await pauseOf(pool);
    if (!after.paused || after.manual) throw new Error('expected paused');
    const now = await redisNow();
    expect(after.nextProbeAt).toBeGreaterThanOrEqual(first.nextProbeAt + 50);
    expect(after.nextProbeAt).toBeLessThanOrEqual(now + 800);
    expect(after).toMatchObject({ reason: first.reason, since: first.since });
    // An operator's pause is never turned into a probed one.
    await pool.pause('default', 'admin', { manual: true });
    await pool.pause('default', 'no points', { probeFailed: true });
    expect(await pauseOf(pool)).toMatchObject({ paused: true, manual: true, reason: 'admin' });
  });

  it('applies capacity and QPS to the probe, without spending it when denied', async () => {
    const { pool } = setup({ maxInFlight: 1, probeIntervalMs: 100 });
    const a = leaseOf(await tryPastQps(pool, 'a'));
    await pool.pause('default', 'expired key');
    const state = await pauseOf(pool);
    const full = await waitFor(async () => {
      const r = await pool.tryAcquire('b');
      return !r.granted && r.reason === 'in_flight' ? r : undefined;
    });
    expect(full.inFlight).toBe(1);
    expect(await pauseOf(pool)).toEqual(state);
    await pool.release(a);
    expect(await tryPastQps(pool, 'b')).toMatchObject({ granted: true, probe: true });
  });

  it('never probes an operator’s pause, and a succeeded probe does not lift it', async () => {
    const { pool } = setup({ probeIntervalMs: 100 });
    await pool.pause('default', 'no points');
    await pool.pause('default', 'paused by admin', { manual: true });
    const state = await pauseOf(pool);
    expect(state).toMatchObject({ paused: true, manual: true, reason: 'paused by admin' });
    await delay(250);
    expect(await pool.tryAcquire('a')).toMatchObject({ granted: false, reason: 'paused' });
    // An account error's pause arriving later changes nothing, nor does a probe's resume.
    await pool.pause('default', 'no points');
    expect(await pool.resume('default')).toBe(false);
    expect(await pauseOf(pool)).toEqual(state);
    expect(await pool.resume('default', { manual: true })).toBe(true);
    expect(await tryPastQps(pool, 'a')).toMatchObject({ granted: true, probe: false });
  });

  it('recovers when Redis TIME steps back behind a recorded submission instead of stalling', async () => {
    const { pool, redis, keyPrefix } = setup({ submitQps: 10 });
    // As if a submission was recorded by a Redis whose clock ran an hour ahead (failover).
    const [seconds] = await redis.time();
    const future = (Number(seconds) + 3600) * 1000;
    for (let i = 0; i < 10; i++) await redis.zadd(`${keyPrefix}:default:sent`, future, `x${i}@${future}`);
    const first = await pool.tryAcquire('a');
    expect(first).toMatchObject({ granted: false, reason: 'qps' });
    if (first.granted) throw new Error('unreachable');
    expect(first.retryInMs).toBeLessThanOrEqual(1_000);
    expect(await tryPastQps(pool, 'a')).toMatchObject({ granted: true });
  });

  it('applies limits changed at runtime in every process from the next grant, and null restores them', async () => {
    const { pools } = setup({ maxInFlight: 1 }, 2);
    const [worker, api] = pools as [AccountPool, AccountPool];
    await tryPastQps(worker, 'a');
    expect(await tryPastQps(worker, 'b')).toMatchObject({ granted: false, reason: 'in_flight' });
    await api.setLimits('default', { maxInFlight: 2 });
    expect(await tryPastQps(worker, 'b')).toMatchObject({ granted: true, inFlight: 2 });

    // 'b' was just granted; at 0.5/s the next grant is ~2000 ms away.
    await api.setLimits('default', { submitQps: 0.5, maxInFlight: 3 });
    const spaced = await worker.tryAcquire('c');
    expect(spaced).toMatchObject({ granted: false, reason: 'qps' });
    if (spaced.granted) throw new Error('unreachable');
    expect(spaced.retryInMs).toBeGreaterThan(1000);

    await expect(api.setLimits('default', { submitQps: 0 })).rejects.toThrow(RangeError);
    await expect(api.setLimits('default', { submitQps: 2, maxInFlight: 1.5 })).rejects.toThrow(RangeError);
    // The rejected call changed nothing: still 0.5/s.
    const still = await worker.tryAcquire('c');
    expect(still.granted ? 0 : still.retryInMs).toBeGreaterThan(500);
    const [state] = await worker.accountStates();
    expect(state).toMatchObject({
      submitQps: 0.5,
      maxInFlight: 3,
      configured: { submitQps: 1000, maxInFlight: 1 },
    });

    await api.setLimits('default', { submitQps: null, maxInFlight: null });
    expect((await worker.accountStates())[0]).toMatchObject({ submitQps: 1000, maxInFlight: 1 });
    expect(await tryPastQps(worker, 'c')).toMatchObject({ granted: false, reason: 'in_flight' });
  });

  it('rejects invalid options', () => {
    const redis = { defineCommand() {} } as unknown as Redis;
    const accounts = [{ id: 'default', submitQps: 1, maxInFlight: 5 }];
    const base = { redis, keyPrefix: 'x', accounts };
    expect(() => new AccountPool({ ...base, keyPrefix: '' })).toThrow(RangeError);
    expect(() => new AccountPool({ ...base, accounts: [] })).toThrow(RangeError);
    expect(
      () => new AccountPool({ ...base, accounts: [{ ...accounts[0]!, submitQps: Number.NaN }] }),
    ).toThrow(/account default: submitQps/);
    expect(() => new AccountPool({ ...base, accounts: [{ ...accounts[0]!, maxInFlight: 0 }] })).toThrow(
      /account default: maxInFlight/,
    );
    expect(() => new AccountPool({ ...base, accounts: [{ ...accounts[0]!, id: 'a b' }] })).toThrow(
      RangeError,
    );
    expect(() => new AccountPool({ ...base, accounts: [accounts[0]!, accounts[0]!] })).toThrow(/twice/);
    expect(() => new AccountPool({ ...base, marginMs: -1 })).toThrow(RangeError);
    expect(() => new AccountPool({ ...base, leaseTtlMs: 0 })).toThrow(RangeError);
  });
});

describe('AccountPool, several accounts', () => {
  const three = (limits: Partial<PoolAccount> = {}): PoolAccount[] =>
    ['a', 'b', 'c'].map((id) => ({ id, submitQps: 1000, maxInFlight: 5, ...limits }));

  it('grants every account’s slots and no more to callers racing from several connections', async () => {
    const { pools, pool } = setup({ accounts: three() }, 4);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => tryPastQps(pools[i % 4]!, `job-${i}`)),
    );
    const granted = results.filter((r) => r.granted);
    expect(granted).toHaveLength(15);
    for (const id of ['a', 'b', 'c']) {
      expect(await pool.inFlight(id)).toBe(5);
      expect(granted.filter((r) => r.lease.account === id)).toHaveLength(5);
    }
    const denial = results.find((r) => !r.granted);
    expect(denial).toMatchObject({ reason: 'in_flight', inFlight: 15 });
  });

  it('takes one QPS turn per account per window: three accounts at 1/s grant three at once, never two on one', async () => {
    const { pools, pool, leaseScores } = setup(
      { accounts: three({ submitQps: 1, maxInFlight: 10 }), leaseTtlMs: 60_000 },
      3,
    );
    const first = await Promise.all(Array.from({ length: 9 }, (_, i) => pools[i % 3]!.tryAcquire(`j${i}`)));
    const granted = first.filter((r) => r.granted);
    expect(granted.map((r) => r.lease.account).sort()).toEqual(['a', 'b', 'c']);
    const denied = first.find((r) => !r.granted);
    expect(denied).toMatchObject({ reason: 'qps' });
    if (!denied || denied.granted) throw new Error('unreachable');
    expect(denied.retryInMs).toBeGreaterThan(900);

    await Promise.all(Array.from({ length: 6 }, (_, i) => grant(pools[i % 3]!, `k${i}`)));
    for (const id of ['a', 'b', 'c']) {
      const grants = [...(await leaseScores(id)).values()].map((e) => e - 60_000).sort((x, y) => x - y);
      expect(grants).toHaveLength(3);
      for (let i = 1; i < grants.length; i++)
        expect(grants[i]! - grants[i - 1]!).toBeGreaterThanOrEqual(1_000);
    }
    expect(await pool.inFlight()).toBe(9);
  });

  it('prefers the most free slots, then the higher weight, then the least recently granted', async () => {
    const { pool } = setup({
      accounts: [
        { id: 'small', submitQps: 1000, maxInFlight: 2 },
        { id: 'big', submitQps: 1000, maxInFlight: 4 },
        { id: 'heavy', submitQps: 1000, maxInFlight: 2, weight: 5 },
      ],
    });
    const order: string[] = [];
    for (let i = 0; i < 8; i++) order.push(leaseOf(await tryPastQps(pool, `j${i}`)).account);
    // Free slots (small, big, heavy): 2 4 2 → big; 2 3 2 → big; 2 2 2 → heavy by weight; 2 2 1 →
    // small, never granted before big; 1 2 1 → big; 1 1 1 → heavy by weight; 1 1 0 → small, granted
    // longer ago than big; 0 1 0 → big.
    expect(order).toEqual(['big', 'big', 'heavy', 'small', 'big', 'heavy', 'small', 'big']);

    // Equal accounts, equal weights: grants rotate, least recently used first.
    const even = setup({ accounts: three({ maxInFlight: 100 }) }).pool;
    const rotation: string[] = [];
    for (let i = 0; i < 6; i++) {
      const lease = leaseOf(await tryPastQps(even, `r${i}`));
      rotation.push(lease.account);
      await even.release(lease);
    }
    expect(rotation.slice(3)).toEqual(rotation.slice(0, 3));
    expect(new Set(rotation.slice(0, 3)).size).toBe(3);
  });

  it('grants a pinned or tag-restricted holder only on its accounts, and refuses a filter matching none', async () => {
    const { pool } = setup({
      accounts: [
        { id: 'main', submitQps: 1000, maxInFlight: 5 },
        { id: 'lora', submitQps: 1000, maxInFlight: 1, tags: ['lora-x', 'private'] },
        { id: 'team2', submitQps: 1000, maxInFlight: 5, tags: ['lora-x'] },
      ],
    });
    expect(leaseOf(await tryPastQps(pool, 'p', { account: 'lora' })).account).toBe('lora');
    // Its one slot is taken: a pinned job waits even though other accounts have room.
    expect(await tryPastQps(pool, 'p2', { account: 'lora' })).toMatchObject({
      granted: false,
      reason: 'in_flight',
      inFlight: 1,
    });
    expect(leaseOf(await tryPastQps(pool, 't', { tags: ['lora-x'] })).account).toBe('team2');
    // Only lora has both tags, and its slot is taken.
    expect(await tryPastQps(pool, 't2', { tags: ['lora-x', 'private'] })).toMatchObject({
      granted: false,
      reason: 'in_flight',
    });
    expect(() => pool.candidates({ account: 'nobody' })).toThrow(NoMatchingAccountError);
    await expect(pool.tryAcquire('x', { account: 'nobody' })).rejects.toThrow(NoMatchingAccountError);
    await expect(pool.tryAcquire('x', { tags: ['none'] })).rejects.toThrow(/has tags none/);
    await expect(pool.tryAcquire('x', { account: 'main', tags: ['lora-x'] })).rejects.toThrow(
      NoMatchingAccountError,
    );
  });

  it('pauses one account alone: the others keep granting, and the paused one is probed on time', async () => {
    const { pool, redisNow } = setup({ accounts: three(), probeIntervalMs: 600 });
    await pool.pause('b', '100003: insufficient points');
    const before = await Promise.all(Array.from({ length: 6 }, (_, i) => tryPastQps(pool, `j${i}`)));
    expect(before.map((r) => leaseOf(r).account).sort()).toEqual(['a', 'a', 'a', 'c', 'c', 'c']);
    const state = await pauseOf(pool, 'b');
    if (!state.paused || state.manual) throw new Error('expected paused');
    await waitFor(async () => ((await redisNow()) >= state.nextProbeAt ? true : undefined));
    // The due probe goes first, however much room the others have; then b is paused again.
    const probe = await tryPastQps(pool, 'probe');
    expect(probe).toMatchObject({ granted: true, probe: true, lease: { account: 'b' } });
    expect(leaseOf(await tryPastQps(pool, 'after')).account).not.toBe('b');

    // Every account paused: a denial saying so, with the soonest probe.
    await pool.pause('a', 'expired key');
    await pool.pause('c', 'expired key');
    const all = await pool.tryAcquire('w');
    expect(all).toMatchObject({ granted: false, reason: 'paused' });
  });

  it('keeps each account’s keys under the provider’s one hash tag', async () => {
    const { pool, redis, keyPrefix } = setup({ accounts: three() });
    const lease = leaseOf(await tryPastQps(pool, 'x', { holdTurn: true }));
    await pool.endTurn(lease);
    await pool.pause('b', 'expired key');
    await pool.setLimits('c', { maxInFlight: 2 });
    await pool.recordSubmitted('a');
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(
        cursor,
        'MATCH',
        `${keyPrefix.split(':limits:')[0]}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThanOrEqual(6);
    const tag = keyPrefix.match(/\{[^}]*\}/)![0];
    expect(tag).toMatch(/^\{genq:test:pool:.*:liblib\}$/);
    for (const key of keys) expect(key.match(/\{[^}]*\}/)![0]).toBe(tag);
  });

  it('reports every account’s limits, load, pause, submissions, points and balance', async () => {
    const { pool } = setup({
      accounts: [
        { id: 'a', submitQps: 1, maxInFlight: 5, tags: ['x'] },
        { id: 'b', submitQps: 2, maxInFlight: 3, weight: 2 },
      ],
    });
    await pool.refresh({ account: 'a', holder: 'j1', token: 't' });
    await pool.recordSubmitted('a');
    await pool.recordCost('a', { points: 12, balance: 988 });
    await pool.recordCost('a', { points: 0.5 });
    await pool.pause('b', 'expired key');
    const [a, b] = await pool.accountStates();
    expect(a).toMatchObject({
      id: 'a',
      tags: ['x'],
      weight: 1,
      submitQps: 1,
      maxInFlight: 5,
      inFlight: 1,
      pause: { paused: false },
      submitted: 1,
      pointsSpent: 12.5,
      balance: { value: 988 },
    });
    expect(b).toMatchObject({ id: 'b', weight: 2, inFlight: 0, submitted: 0, pointsSpent: 0 });
    expect(b!.pause).toMatchObject({ paused: true, manual: false, reason: 'expired key' });
    expect(b!.balance).toBeUndefined();
  });
});
