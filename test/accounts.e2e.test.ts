/**
 * One queue of work spread over a pool of provider accounts: real `npm run worker` child processes,
 * real Redis, the simulator with three LiblibAI accounts over HTTP, each at 1 submission/s and 5 in
 * flight (002 §2.3: the limits are per account).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const ACCOUNTS = ['main', 'team2', 'team3'].map((id) => ({
  id,
  accessKey: `ak-${id}`,
  secretKey: `sk-${id}-secret`,
  submitQps: 1,
  maxInFlight: 5,
}));

describe('account pools', () => {
  it('spreads 45 prompts over three accounts from two workers, within every account limit', async () => {
    stack = await startStack({
      sim: { accounts: ACCOUNTS, latencyMs: { min: 1_500, max: 3_000 } },
      workers: 0,
      env: (sim) => ({
        // The stack's single-account variables, unset: both forms at once are a config error.
        LIBLIB_ACCESS_KEY: '',
        LIBLIB_SECRET_KEY: '',
        LIBLIB_ACCOUNTS: JSON.stringify(ACCOUNTS.map((a) => ({ ...a, baseUrl: sim.url }))),
      }),
    });
    const children = [stack.spawnWorker(), stack.spawnWorker()];
    const ids: string[] = [];
    for (let i = 0; i < 45; i++) ids.push(await stack.postJob('kontext.text2img', { prompt: `pool ${i}` }));
    const jobs = await stack.waitFor(
      async () => {
        const views = await Promise.all(ids.map((id) => stack!.job(id)));
        return views.every((j) => ['succeeded', 'failed', 'canceled'].includes(j.state)) ? views : undefined;
      },
      120_000,
      'every job to end',
    );
    for (const child of children) expect(child.exitCode).toBeNull();
    expect(jobs.map((j) => j.state)).toEqual(ids.map(() => 'succeeded'));

    const stats = stack.sim.stats();
    expect(stats.accepted).toBe(45);
    expect(stats.duplicatePrompts).toBe(0);
    for (const { id } of ACCOUNTS) {
      const own = stats.accounts[id]!;
      expect({ id, qps: own.qpsBreaches, inFlight: own.inFlightBreaches }).toEqual({
        id,
        qps: 0,
        inFlight: 0,
      });
      expect(own.maxInFlightObserved).toBeLessThanOrEqual(5);
      // Each account carries at least a quarter of the work.
      expect(own.accepted).toBeGreaterThanOrEqual(Math.ceil(45 / 4));
    }
    // The job view names the account that submitted its task, and it is the task's owner at the simulator.
    const owners = new Map(stack.sim.tasks().map((t) => [t.id, t.account]));
    for (const job of jobs) expect(job.account).toBe(owners.get(job.providerTaskId!));
  });

  it('sends a pinned job only to its account and a tags-restricted one only to accounts with the tags', async () => {
    stack = await startStack({
      sim: { accounts: ACCOUNTS, latencyMs: { min: 300, max: 600 } },
      workers: 0,
      env: (sim) => ({
        LIBLIB_ACCESS_KEY: '',
        LIBLIB_SECRET_KEY: '',
        LIBLIB_ACCOUNTS: JSON.stringify(
          ACCOUNTS.map((a) => ({
            ...a,
            baseUrl: sim.url,
            ...(a.id === 'team3' ? { tags: ['lora-x'] } : {}),
          })),
        ),
      }),
    });
    stack.spawnWorker();
    const post = (i: number, extra: Record<string, unknown>) =>
      stack!.call<{ id: string; error?: { message: string } }>('POST', '/v1/jobs', {
        operation: 'kontext.text2img',
        input: { prompt: `pinned ${i}` },
        ...extra,
      });
    const unknownPin = await post(-1, { account: 'nobody' });
    expect(unknownPin.status).toBe(400);
    expect(JSON.stringify(unknownPin.body)).toContain('account');
    expect((await post(-2, { accountTags: ['missing-tag'] })).status).toBe(400);
    expect((await post(-3, { account: 'main', accountTags: ['lora-x'] })).status).toBe(400);

    const want = new Map<string, string | undefined>();
    for (let i = 0; i < 9; i++) {
      const extra = i % 3 === 0 ? { account: 'team2' } : i % 3 === 1 ? { accountTags: ['lora-x'] } : {};
      const { status, body } = await post(i, extra);
      expect(status).toBe(202);
      want.set(body.id, i % 3 === 0 ? 'team2' : i % 3 === 1 ? 'team3' : undefined);
    }
    for (const [id, account] of want) {
      const job = await stack.ended(id, 60_000);
      expect(job.state).toBe('succeeded');
      if (account) expect({ id, account: job.account }).toEqual({ id, account });
    }
    expect(stack.sim.stats().accounts.main!.accepted).toBeLessThanOrEqual(3);
    expect(stack.sim.stats().duplicatePrompts).toBe(0);
  });
});
