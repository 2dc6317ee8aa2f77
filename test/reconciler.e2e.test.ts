/**
 * The reconciler repairs live jobs that nothing would move again, each stuck state provoked
 * deterministically: a queued record whose submit-queue entry was lost, a running job whose poll
 * job was removed, a storing job with no sink job, and a task older than TASK_DEADLINE_MS. Each
 * test runs one sweep by hand (the interval is an hour) and then sees the job end. A second stack
 * shows the poller's own deadline freeing the slot of a task the provider keeps running.
 */
import { bullJobId, newJobId } from '@genqueue/core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, TEST_TOKEN } from './support/stack.ts';

const PNG_1PX =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe('reconciler sweep', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Every live job is stale at once; sweeps run only when a test asks.
    stack = await startStack({ env: { RECONCILE_INTERVAL_MS: '3600000', RECONCILE_STALE_MS: '1' } });
  });

  afterAll(async () => {
    await stack?.close();
  });

  const store = () => stack.workers[0]!.context.store;
  const queues = () => stack.workers[0]!.context.queues;
  // A record written in the sweep's own millisecond is not yet older than RECONCILE_STALE_MS.
  const sweep = async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return stack.workers[0]!.reconciler.sweep();
  };

  /** A job written as the API writes it, whose submit-queue entry was then lost. */
  async function orphanJob(): Promise<string> {
    const id = newJobId();
    const created = await store().createJob({
      id,
      provider: 'liblib',
      operation: 'kontext.text2img',
      input: { prompt: `an orphan ${id}` },
      createdAt: Date.now(),
    });
    if (!created.created) throw new Error('not created');
    await store().outboxDone(created.outbox[0]!.member);
    return id;
  }

  it('re-enqueues a queued job that has no submit job, and the job then runs', async () => {
    const id = await orphanJob();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await queues().submitQueue('liblib').getJob(bullJobId(id, 0))).toBeUndefined();
    expect((await stack.job(id)).state).toBe('queued');

    const report = await sweep();
    expect(report?.repaired.submit).toBe(1);
    expect((await stack.ended(id, 30_000)).state).toBe('succeeded');
  });

  it('schedules a poll job for a running job that lost its own, and one sink job for a storing job', async () => {
    // running: the real pipeline accepts the task, then its poll job disappears.
    const id = await stack.postJob('kontext.text2img', { prompt: 'a lighthouse, poll job lost' });
    await stack.waitFor(async () => (await stack.job(id)).state === 'running', 20_000, 'running');
    await stack.waitFor(
      async () => (await queues().poll.remove(bullJobId(id, 0))) === 1,
      10_000,
      'poll job removed',
    );
    expect(await queues().poll.getJob(bullJobId(id, 0))).toBeUndefined();

    // storing: the task's outputs are recorded, but no sink job was ever added.
    const storing = await orphanJob();
    await store().taskAccepted(storing, { providerTaskId: 'task-storing', submittedAt: Date.now() });
    await store().taskEnded(storing, 'storing', { taskOutputs: [{ url: PNG_1PX, kind: 'image' }] });

    const report = await sweep();
    expect(report?.repaired).toMatchObject({ poll: 1, sink: 1 });
    expect((await stack.ended(id, 30_000)).state).toBe('succeeded');
    const stored = await stack.ended(storing, 30_000);
    expect(stored.state).toBe('succeeded');
    expect(stored.outputs).toHaveLength(1);
  });

  it('fails a running task older than TASK_DEADLINE_MS with the reason', async () => {
    const id = await orphanJob();
    await store().taskAccepted(id, { providerTaskId: 'task-forever', submittedAt: Date.now() - 40 * 60_000 });
    const report = await sweep();
    expect(report?.repaired.deadline).toBe(1);
    const job = await stack.job(id);
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('task_timeout');
    expect(job.error?.message).toContain('35 min after its submission');
  });

  it('leaves pending jobs alone, sweeps one worker at a time, and counts repairs in /metrics', async () => {
    // Nothing stuck now: a sweep repairs nothing.
    const quiet = await sweep();
    expect(quiet?.repaired).toEqual({ submit: 0, poll: 0, sink: 0, deadline: 0 });
    // Another worker holds the lock: this one does not sweep.
    expect(await store().acquireLock('reconciler', 'someone-else', 10_000)).toBe(true);
    expect(await sweep()).toBeUndefined();
    await store().releaseLock('reconciler', 'someone-else');
    expect(await sweep()).toBeDefined();

    const metrics = await stack.waitFor(
      async () => {
        const res = await request(`${stack.api.url}/metrics`, {
          headers: { authorization: `Bearer ${TEST_TOKEN}` },
        });
        const text = await res.body.text();
        return text.includes('genqueue_reconciler_repairs_total{repair="deadline"} 1') ? text : undefined;
      },
      10_000,
      'repairs in /metrics',
    );
    expect(metrics).toContain('genqueue_reconciler_repairs_total{repair="submit"} 1');
    expect(metrics).toContain('genqueue_reconciler_repairs_total{repair="poll"} 1');
    expect(metrics).toContain('genqueue_reconciler_repairs_total{repair="sink"} 1');
  });

  // After the /metrics test, which counts one deadline repair.
  it('fails an overdue task whose record names no configured account, and frees the slot its poller held', async () => {
    const pool = stack.workers[0]!.context.pools.get('liblib')!;
    const first = pool.accounts[0]!.id;
    // A record written before accounts has neither account nor lease token; one whose account was
    // since removed from the configuration names an unknown one. Either's poller refreshes its
    // lease on the provider's first account, so that is the slot it holds.
    const tasks = [
      { name: 'no account', accepted: {}, token: 'adopted' },
      { name: 'removed account', accepted: { account: 'retired', leaseToken: 'token-1' }, token: 'token-1' },
    ];
    const ids: string[] = [];
    for (const { name, accepted, token } of tasks) {
      const id = await orphanJob();
      await store().taskAccepted(id, {
        providerTaskId: `task-${name.replace(' ', '-')}`,
        submittedAt: Date.now() - 40 * 60_000,
        ...accepted,
      });
      // What its poller did: refresh the lease, which takes the slot on the first account.
      await pool.refresh({ account: first, holder: id, token });
      ids.push(id);
    }
    const leases = ids.map((id, i) => ({ account: first, holder: id, token: tasks[i]!.token }));
    for (const lease of leases) expect(await pool.refresh(lease)).toBe(true);

    const report = await sweep();
    expect(report?.repaired.deadline).toBe(2);
    for (const lease of leases) {
      expect((await stack.job(lease.holder)).error?.code).toBe('task_timeout');
      // Already freed by the sweep: nothing is left to release.
      expect(await pool.release(lease)).toBe(false);
    }
  });
});

describe('poller deadline', () => {
  let stack: Stack;

  beforeAll(async () => {
    // One slot for genqueue; the provider keeps each task running for a minute. (Its own limit is
    // two: a real LiblibAI task has timed out by TASK_DEADLINE_MS, this one still counts.)
    stack = await startStack({
      sim: { submitQps: 5, maxInFlight: 2, latencyMs: { min: 60_000, max: 60_000 } },
      env: { TASK_DEADLINE_MS: '1500', LIBLIB_MAX_IN_FLIGHT: '1' },
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('fails a task still running past TASK_DEADLINE_MS and frees its slot for the next job', async () => {
    const first = await stack.postJob('kontext.text2img', { prompt: 'a task that never ends' });
    const second = await stack.postJob('kontext.text2img', { prompt: 'the job behind it' });
    const ended = await stack.ended(first, 20_000);
    expect(ended.state).toBe('failed');
    expect(ended.error?.code).toBe('task_timeout');
    // The slot came back: the second task was accepted while the first still "runs" at the provider.
    await stack.waitFor(async () => (await stack.job(second)).state === 'running', 10_000, 'second running');
    expect(stack.sim.stats().accepted).toBe(2);
  });
});
