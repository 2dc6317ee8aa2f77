/**
 * Retry-later answers never fail a job or use up its attempts, in either form the provider sends
 * them; account errors pause the provider, keep jobs queued, and resume by themselves.
 */
import { limiterKeyPrefix } from '@genqueue/core';
import { AccountPool } from '@genqueue/limiter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    sim: { submitQps: 5, maxInFlight: 5, latencyMs: { min: 100, max: 200 } },
    // Two attempts only: a retry-later answer that used one up would fail these jobs.
    env: { LIBLIB_SUBMIT_QPS: '5', SUBMIT_ATTEMPTS: '2', ACCOUNT_PROBE_INTERVAL_MS: '500' },
  });
});

afterAll(async () => {
  await stack?.close();
});

const post = (prompt: string) => stack.postJob('kontext.text2img', { prompt });
const ended = (id: string) => stack.ended(id);

describe('retry-later answers', () => {
  it.each([
    ['rate-limit', 'http'],
    ['rate-limit', 'body'],
    ['concurrency-limit', 'http'],
    ['concurrency-limit', 'body'],
  ] as const)('a storm of %s in %s form delays jobs but fails none', async (kind, form) => {
    const before = stack.sim.stats().faultsInjected[kind] ?? 0;
    stack.sim.inject({ kind, endpoint: 'submit', count: 4, form });
    const ids = [await post(`${kind} ${form} a`), await post(`${kind} ${form} b`)];
    for (const id of ids) {
      const job = await ended(id);
      expect(job.state).toBe('succeeded');
    }
    expect((stack.sim.stats().faultsInjected[kind] ?? 0) - before).toBe(4);
  });
});

describe('account errors', () => {
  it('pause submissions on a signature failure, keep jobs queued, and resume once a probe succeeds', async () => {
    const { secretKey } = stack.sim.options;
    const pool = new AccountPool({
      redis: stack.redis,
      keyPrefix: limiterKeyPrefix(stack.prefix, 'liblib'),
      accounts: [{ id: 'default', submitQps: 5, maxInFlight: 5 }],
    });
    const pause = async () => (await pool.accountStates())[0]!.pause;
    stack.sim.configure({ secretKey: 'rotated-by-the-provider' });
    const ids = [await post('account a'), await post('account b'), await post('account c')];
    await stack.waitFor(async () => (await pause()).paused, 20_000, 'the provider to pause');
    const state = await pause();
    expect(state.paused && state.reason).toMatch(/401|signature/i);
    // paused: the jobs wait, none fails. A probe (every 500 ms here) takes one job to
    // `submitting` for its round trip and back, so that state is waiting too.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const id of ids) expect(['queued', 'submitting']).toContain((await stack.job(id)).state);
    expect(stack.sim.stats().authFailures).toBeGreaterThan(0);

    stack.sim.configure({ secretKey });
    for (const id of ids) expect((await ended(id)).state).toBe('succeeded');
    expect((await pause()).paused).toBe(false);
  });

  it('kept the limits through all of it', () => {
    expect(stack.sim.stats()).toMatchObject({ qpsBreaches: 0, inFlightBreaches: 0, duplicatePrompts: 0 });
  });
});
