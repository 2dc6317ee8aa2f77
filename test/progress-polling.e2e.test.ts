/**
 * Polling on the task's own progress: where LiblibAI fills `percentCompleted`, the poller
 * extrapolates two readings to the task's end instead of asking on the age-based schedule, and
 * so notices the end as soon for fewer status queries. Against the simulator over HTTP (which
 * fills it linearly after a task's queued fifth, in steps of 0.01) with real Redis and s3rver;
 * the same three-second tasks once with progress and once without, on a kind with no history.
 */
import { JobStore, QUEUE } from '@genqueue/core';
import { QueueEvents } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/**
 * Runs `n` 3 s tasks; answers status queries per task, each slot's release delay (ms) and how
 * many times a poll job went to BullMQ's delayed set.
 */
async function run(percentMissingRate: number, n = 5, env: Record<string, string> = {}) {
  stack = await startStack({
    sim: { submitQps: 10, maxInFlight: 5, latencyMs: { min: 3_000, max: 3_000 }, percentMissingRate },
    // The real defaults: 250 ms while a task is young, dense 50 ms.
    env: { POLL_MIN_INTERVAL_MS: '250', POLL_MAX_INTERVAL_MS: '1000', ...env },
  });
  // Every move of a poll job to BullMQ's delayed set.
  const events = new QueueEvents(QUEUE.poll, { connection: stack.redis.duplicate(), prefix: stack.prefix });
  let delayedMoves = 0;
  events.on('delayed', () => delayedMoves++);
  await events.waitUntilReady();
  const ids = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      stack!.postJob('kontext.text2img', { prompt: `progress ${percentMissingRate} ${i}` }),
    ),
  );
  const store = new JobStore({ redis: stack.redis, prefix: stack.prefix, retentionSeconds: 60 });
  const queries: number[] = [];
  const delays: number[] = [];
  for (const id of ids) {
    expect((await stack.ended(id, 20_000)).state).toBe('succeeded');
    const record = (await store.getJob(id))!;
    const task = stack.sim.tasks().find((t) => t.id === record.providerTaskId)!;
    queries.push(task.statusQueries);
    delays.push(record.taskEndedAt! - task.endsAt);
  }
  await events.close();
  await stack.close();
  stack = undefined;
  return { queries, delays, delayedMoves };
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('polling on percentCompleted', () => {
  it('notices a 3 s task ending as soon, with fewer status queries than without progress', async () => {
    const without = await run(1);
    const withProgress = await run(0);
    // Age-based: every 250 ms (plus the delayed job's own latency) for 3 s is 9–12 queries a task;
    // extrapolating needs about 6.
    expect(mean(without.queries)).toBeGreaterThanOrEqual(8);
    expect(mean(withProgress.queries)).toBeLessThanOrEqual(mean(without.queries) * 0.8);
    // ...and notices the ends sooner (measured 50–100 ms against 170–190 ms on average; this test
    // shares one event loop with the simulator, the API and s3rver, so single delays jitter).
    expect(mean(withProgress.delays)).toBeLessThan(mean(without.delays));
  }, 60_000);

  it('sleeps waits up to POLL_HOLD_MAX_MS in the processor, not through a BullMQ delay that Redis wakes late', async () => {
    // Every wait 100–150 ms: with the hold off each one is a delayed job (the first poll too);
    // with the default 200 ms hold only the first poll, scheduled at submission, is.
    const env = { POLL_MIN_INTERVAL_MS: '100', POLL_MAX_INTERVAL_MS: '300' };
    const viaBullmq = await run(1, 5, { ...env, POLL_HOLD_MAX_MS: '0' });
    const held = await run(1, 5, env);
    const total = (v: number[]) => v.reduce((a, b) => a + b, 0);
    expect(viaBullmq.delayedMoves).toBe(total(viaBullmq.queries));
    expect(held.delayedMoves).toBe(5);
    expect(total(held.queries)).toBeGreaterThan(5 * 15);
  }, 60_000);

  it('hands a held poll back to BullMQ as soon as the worker starts closing, not after the grace period', async () => {
    stack = await startStack({
      sim: { submitQps: 10, maxInFlight: 5, latencyMs: { min: 20_000, max: 20_000 }, percentMissingRate: 1 },
      // Every wait short enough to be held; a long grace, which a held poll used to run on through.
      env: { POLL_MIN_INTERVAL_MS: '100', POLL_MAX_INTERVAL_MS: '300', SHUTDOWN_GRACE_MS: '8000' },
    });
    const id = await stack.postJob('kontext.text2img', { prompt: 'held at shutdown' });
    await stack.waitFor(async () => (await stack!.job(id)).state === 'running', 10_000, 'the task to run');
    await new Promise((r) => setTimeout(r, 500)); // polled, and held, a few times
    const started = Date.now();
    await stack.workers[0]!.close();
    expect(Date.now() - started).toBeLessThan(3_000);
  }, 60_000);
});
