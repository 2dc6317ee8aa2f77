import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type AcquireResult, ProviderLimiter, type ProviderLimiterOptions } from './index.ts';

// Real Redis, one key prefix per test; the keys are deleted and connections closed afterwards.
// Lease and probe intervals are long enough that a stalled 2-core machine cannot cross them between
// two steps of a test; the tests wait for conditions, never for a fixed time to have passed.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Overrides = Partial<Omit<ProviderLimiterOptions, 'redis' | 'keyPrefix'>>;

/** `connections` limiters sharing one fresh prefix, each on its own ioredis connection. */
function setup(overrides: Overrides = {}, connections = 1) {
  const keyPrefix = `genq:test:limiter:{${randomUUID()}}`;
  const clients = Array.from({ length: connections }, () => new Redis({ host: '127.0.0.1', port: 6379 }));
  cleanups.push(async () => {
    await clients[0]!.del(
      `${keyPrefix}:leases`,
      `${keyPrefix}:sending`,
      `${keyPrefix}:sent`,
      `${keyPrefix}:pause`,
    );
    await Promise.all(clients.map((client) => client.quit()));
  });
  const limiters = clients.map(
    (redis) =>
      new ProviderLimiter({
        redis,
        keyPrefix,
        submitQps: 1000,
        maxInFlight: 5,
        marginMs: 0,
        sendAllowanceMs: 0,
        ...overrides,
      }),
  );
  const leaseScores = async () => {
    const flat = await clients[0]!.zrange(`${keyPrefix}:leases`, 0, -1, 'WITHSCORES');
    const scores = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) scores.set(flat[i]!, Number(flat[i + 1]));
    return scores;
  };
  return { limiter: limiters[0]!, limiters, redis: clients[0]!, keyPrefix, leaseScores };
}

/** Asks until the answer is not a QPS denial (the spacer is not what these tests are about). */
async function tryPastQps(limiter: ProviderLimiter, holder: string): Promise<AcquireResult> {
  for (;;) {
    const result = await limiter.tryAcquire(holder);
    if (result.granted || result.reason !== 'qps') return result;
    await delay(result.retryInMs);
  }
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

describe('ProviderLimiter', () => {
  it('grants exactly maxInFlight slots to callers racing from several connections', async () => {
    const { limiters, limiter } = setup({ maxInFlight: 5 }, 4);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => tryPastQps(limiters[i % 4]!, `job-${i}`)),
    );
    const granted = results.filter((r) => r.granted);
    expect(granted).toHaveLength(5);
    expect(results.filter((r) => !r.granted && r.reason === 'in_flight')).toHaveLength(15);
    expect(await limiter.inFlight()).toBe(5);
    expect(await limiter.holders()).toHaveLength(5);
    for (const r of results) {
      if (!r.granted) expect(r.retryInMs).toBeGreaterThan(0);
      if (!r.granted) expect(r.retryInMs).toBeLessThanOrEqual(250);
    }
  });

  it('lets a holder that already has a lease reuse it without taking a second slot', async () => {
    const { limiter } = setup({ maxInFlight: 1 });
    expect(await tryPastQps(limiter, 'a')).toMatchObject({ granted: true, inFlight: 1 });
    expect(await tryPastQps(limiter, 'b')).toMatchObject({ granted: false, reason: 'in_flight' });
    expect(await tryPastQps(limiter, 'a')).toMatchObject({ granted: true, probe: false, inFlight: 1 });
    expect(await limiter.holders()).toEqual(['a']);
  });

  it('still spaces a reentrant holder by the QPS rule, with the exact remaining gap', async () => {
    // 0.5/s → ceil(1000 / 0.5) = 2000 ms between submissions.
    const { limiter } = setup({ submitQps: 0.5, maxInFlight: 1 });
    expect((await limiter.tryAcquire('a')).granted).toBe(true);
    const again = await limiter.tryAcquire('a');
    expect(again).toMatchObject({ granted: false, reason: 'qps', inFlight: 1 });
    if (again.granted) throw new Error('unreachable');
    expect(again.retryInMs).toBeGreaterThan(1000);
    expect(again.retryInMs).toBeLessThanOrEqual(2000);
  });

  it('frees the slot on release', async () => {
    const { limiter } = setup({ maxInFlight: 1 });
    await tryPastQps(limiter, 'a');
    expect(await tryPastQps(limiter, 'b')).toMatchObject({ granted: false, reason: 'in_flight' });
    expect(await limiter.release('a')).toBe(true);
    expect(await limiter.release('a')).toBe(false);
    expect(await tryPastQps(limiter, 'b')).toMatchObject({ granted: true, inFlight: 1 });
  });

  it('gives back the slot of a lease that expired, and extend() only refreshes live leases', async () => {
    const { limiter, leaseScores } = setup({ maxInFlight: 1, leaseTtlMs: 1000 });
    await tryPastQps(limiter, 'a');
    const before = (await leaseScores()).get('a')!;
    await delay(20);
    expect(await limiter.extend('a')).toBe(true);
    expect((await leaseScores()).get('a')!).toBeGreaterThan(before);
    expect(await limiter.extend('nobody')).toBe(false);

    const denied = await tryPastQps(limiter, 'b');
    expect(denied).toMatchObject({ granted: false, reason: 'in_flight' });
    if (denied.granted) throw new Error('unreachable');
    expect(denied.retryInMs).toBeLessThanOrEqual(250);

    // No release: 'a' plays a worker that died; its lease runs out and 'b' gets the slot.
    const granted = await waitFor(async () => {
      const r = await limiter.tryAcquire('b');
      return r.granted ? r : undefined;
    });
    expect(granted.inFlight).toBe(1);
    expect(await limiter.holders()).toEqual(['b']);
    expect(await limiter.extend('a')).toBe(false);
  });

  it('does not count expired leases in inFlight() or holders()', async () => {
    const { limiter } = setup({ leaseTtlMs: 400 });
    await limiter.adopt('a');
    expect(await limiter.inFlight()).toBe(1);
    await waitFor(async () => ((await limiter.inFlight()) === 0 ? true : undefined));
    expect(await limiter.holders()).toEqual([]);
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
      const { limiters, leaseScores } = setup({ ...options, leaseTtlMs, maxInFlight: 10 }, 3);
      const count = limits.perWindow + 2;
      await Promise.all(Array.from({ length: count }, (_, i) => limiters[i % 3]!.acquire(`job-${i}`)));
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
    const { limiters, redis, keyPrefix } = setup({ submitQps: 1, marginMs: 0 }, 2);
    const [a, b] = limiters as [ProviderLimiter, ProviderLimiter];
    expect(await a.tryAcquire('a', { holdTurn: true })).toMatchObject({ granted: true });
    // However long the request takes, nobody else is granted while it may still be on its way.
    await delay(1_100);
    const during = await b.tryAcquire('b', { holdTurn: true });
    expect(during).toMatchObject({ granted: false, reason: 'qps' });
    if (during.granted) throw new Error('unreachable');
    expect(during.retryInMs).toBeLessThanOrEqual(20);

    expect(await a.endTurn('a')).toBe(true);
    expect(await a.endTurn('a')).toBe(false);
    const [endSeconds, endMicros] = await redis.time();
    const ended = Number(endSeconds) * 1000 + Math.floor(Number(endMicros) / 1000);
    const after = await b.tryAcquire('b', { holdTurn: true });
    expect(after).toMatchObject({ granted: false, reason: 'qps' });
    if (after.granted) throw new Error('unreachable');
    expect(after.retryInMs).toBeGreaterThan(900);

    const granted = await b.acquire('b');
    expect(granted.granted).toBe(true);
    const lease = Number(await redis.zscore(`${keyPrefix}:leases`, 'b'));
    // the grant came a full window after the end of a's request
    expect(lease - 35 * 60_000).toBeGreaterThanOrEqual(ended + 1_000 - 2);
  });

  it('counts a turn ended before a slow answer from the send, plus the send allowance', async () => {
    const { limiter, redis, keyPrefix } = setup({ submitQps: 1, marginMs: 0, sendAllowanceMs: 300 });
    expect(await limiter.tryAcquire('sync', { holdTurn: true })).toMatchObject({ granted: true });
    const [seconds, micros] = await redis.time();
    const before = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    expect(await limiter.endTurn('sync', { sending: true })).toBe(true);
    const [entry] = await redis
      .zrange(`${keyPrefix}:sent`, 0, -1, 'WITHSCORES')
      .then((flat) => [Number(flat[1])]);
    expect(entry).toBeGreaterThanOrEqual(before + 300);
    const next = await limiter.tryAcquire('next', { holdTurn: true });
    expect(next).toMatchObject({ granted: false, reason: 'qps' });
    if (next.granted) throw new Error('unreachable');
    expect(next.retryInMs).toBeGreaterThan(1_000);
  });

  it('treats a turn its holder never ended as over at its deadline', async () => {
    const { limiter } = setup({ submitQps: 1, marginMs: 0, turnTtlMs: 300 });
    expect(await limiter.tryAcquire('died', { holdTurn: true })).toMatchObject({ granted: true });
    expect(await limiter.tryAcquire('next', { holdTurn: true })).toMatchObject({
      granted: false,
      reason: 'qps',
    });
    const started = Date.now();
    const granted = await limiter.acquire('next');
    expect(granted.granted).toBe(true);
    // deadline (300 ms) plus one window (1000 ms) after the grant
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
  });

  it('lets exactly one probe through per interval while paused, and resume() reopens', async () => {
    const { limiters, limiter } = setup({ probeIntervalMs: 800 }, 4);
    await limiter.pause('signature verification failed');
    await limiters[1]!.pause('insufficient points');
    const state = await limiter.pauseState();
    if (!state.paused) throw new Error('expected paused');
    expect(state.reason).toBe('signature verification failed');
    expect(state.nextProbeAt - state.since).toBe(800);

    const denied = await limiter.tryAcquire('a');
    expect(denied).toMatchObject({ granted: false, reason: 'paused' });
    if (denied.granted) throw new Error('unreachable');
    expect(denied.retryInMs).toBeGreaterThan(0);
    expect(denied.retryInMs).toBeLessThanOrEqual(800);

    // Probe time: callers race from four connections; exactly one probes, the rest stay paused.
    await delay(denied.retryInMs + 20);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => limiters[i % 4]!.tryAcquire(`job-${i}`)),
    );
    const probes = results.filter((r) => r.granted);
    expect(probes).toEqual([{ granted: true, probe: true, inFlight: 1 }]);
    expect(results.filter((r) => !r.granted && r.reason === 'paused')).toHaveLength(11);
    const after = await limiter.pauseState();
    if (!after.paused) throw new Error('expected paused');
    expect(after.since).toBe(state.since);
    expect(after.nextProbeAt).toBeGreaterThanOrEqual(state.nextProbeAt + 800);

    await limiter.resume();
    expect(await limiter.pauseState()).toEqual({ paused: false });
    expect(await tryPastQps(limiter, 'next')).toMatchObject({ granted: true, probe: false, inFlight: 2 });
  });

  it('applies capacity and QPS to the probe, without spending it when denied', async () => {
    const { limiter } = setup({ maxInFlight: 1, probeIntervalMs: 100 });
    await tryPastQps(limiter, 'a');
    await limiter.pause('expired key');
    const state = await limiter.pauseState();
    if (!state.paused) throw new Error('expected paused');
    const full = await waitFor(async () => {
      const r = await limiter.tryAcquire('b');
      return !r.granted && r.reason === 'in_flight' ? r : undefined;
    });
    expect(full.inFlight).toBe(1);
    expect(await limiter.pauseState()).toEqual(state);
    await limiter.release('a');
    expect(await tryPastQps(limiter, 'b')).toMatchObject({ granted: true, probe: true });
  });

  it('recovers when Redis TIME steps back behind a recorded submission instead of stalling', async () => {
    const { limiter, redis, keyPrefix } = setup({ submitQps: 10 });
    // As if a submission was recorded by a Redis whose clock ran an hour ahead (failover).
    const [seconds] = await redis.time();
    const future = (Number(seconds) + 3600) * 1000;
    for (let i = 0; i < 10; i++) await redis.zadd(`${keyPrefix}:sent`, future, `x${i}@${future}`);
    const first = await limiter.tryAcquire('a');
    expect(first).toMatchObject({ granted: false, reason: 'qps' });
    if (first.granted) throw new Error('unreachable');
    expect(first.retryInMs).toBeLessThanOrEqual(1_000);
    expect(await tryPastQps(limiter, 'a')).toMatchObject({ granted: true });
  });

  it('applies new limits from setLimits() on the next call', async () => {
    const { limiter } = setup({ maxInFlight: 1 });
    await tryPastQps(limiter, 'a');
    expect(await tryPastQps(limiter, 'b')).toMatchObject({ granted: false, reason: 'in_flight' });
    limiter.setLimits({ maxInFlight: 2 });
    expect(await tryPastQps(limiter, 'b')).toMatchObject({ granted: true, inFlight: 2 });

    // 'b' was just granted; at 0.5/s the next grant is ~2000 ms away.
    limiter.setLimits({ submitQps: 0.5, maxInFlight: 3 });
    const spaced = await limiter.tryAcquire('c');
    expect(spaced).toMatchObject({ granted: false, reason: 'qps' });
    if (spaced.granted) throw new Error('unreachable');
    expect(spaced.retryInMs).toBeGreaterThan(1000);

    expect(() => limiter.setLimits({ submitQps: 0 })).toThrow(RangeError);
    expect(() => limiter.setLimits({ submitQps: 2, maxInFlight: 1.5 })).toThrow(RangeError);
    // The rejected call changed nothing: still 0.5/s.
    const still = await limiter.tryAcquire('c');
    expect(still.granted ? 0 : still.retryInMs).toBeGreaterThan(500);
  });

  it('acquire() waits for a free slot, and rejects when its signal aborts', async () => {
    const { limiter, limiters } = setup({ maxInFlight: 1 }, 2);
    await tryPastQps(limiter, 'a');

    const waiting = limiters[1]!.acquire('b');
    await delay(100);
    await limiter.release('a');
    expect(await waiting).toMatchObject({ granted: true, inFlight: 1 });

    const controller = new AbortController();
    const aborted = limiter.acquire('c', controller.signal);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    await expect(limiter.acquire('c', AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(await limiter.holders()).toEqual(['b']);
  });

  it('adopt() counts a task already at the provider, past capacity, QPS and pause', async () => {
    const { limiter } = setup({ maxInFlight: 1, submitQps: 0.5 });
    await limiter.tryAcquire('a');
    await limiter.pause('no points');
    await limiter.adopt('b');
    await limiter.adopt('b');
    expect(await limiter.inFlight()).toBe(2);
    expect((await limiter.holders()).sort()).toEqual(['a', 'b']);
    await limiter.resume();
    await limiter.release('a');
    // The adopted task holds the one slot, so a new submission is denied for capacity.
    const r = await tryPastQps(limiter, 'c');
    expect(r).toMatchObject({ granted: false, reason: 'in_flight', inFlight: 1 });
  });

  it('rejects invalid options', () => {
    const redis = {} as unknown as Redis;
    const base = { redis, keyPrefix: 'x', submitQps: 1, maxInFlight: 5 };
    expect(() => new ProviderLimiter({ ...base, keyPrefix: '' })).toThrow(RangeError);
    expect(() => new ProviderLimiter({ ...base, submitQps: Number.NaN })).toThrow(RangeError);
    expect(() => new ProviderLimiter({ ...base, maxInFlight: 0 })).toThrow(RangeError);
    expect(() => new ProviderLimiter({ ...base, marginMs: -1 })).toThrow(RangeError);
    expect(() => new ProviderLimiter({ ...base, leaseTtlMs: 0 })).toThrow(RangeError);
  });
});
