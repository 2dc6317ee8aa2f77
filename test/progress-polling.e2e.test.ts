/**
 * Polling on the task's own progress: where LiblibAI fills `percentCompleted`, the poller
 * extrapolates two readings to the task's end instead of asking on the age-based schedule, and
 * so notices the end as soon for fewer status queries. Against the simulator over HTTP (which
 * fills it linearly after a task's queued fifth, in steps of 0.01) with real Redis and s3rver;
 * the same three-second tasks once with progress and once without, on a kind with no history.
 */
import { JobStore } from '@genqueue/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Runs `n` 3 s tasks; answers status queries per task and each slot's release delay (ms). */
async function run(percentMissingRate: number, n = 5) {
  stack = await startStack({
    sim: { submitQps: 10, maxInFlight: 5, latencyMs: { min: 3_000, max: 3_000 }, percentMissingRate },
    // The real defaults: 250 ms while a task is young, dense 50 ms.
    env: { POLL_MIN_INTERVAL_MS: '250', POLL_MAX_INTERVAL_MS: '1000' },
  });
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
  await stack.close();
  stack = undefined;
  return { queries, delays };
}

describe('polling on percentCompleted', () => {
  it('notices a 3 s task ending as soon, with fewer status queries than without progress', async () => {
    const without = await run(1);
    const withProgress = await run(0);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    // Age-based: every 250 ms (plus the delayed job's own latency) for 3 s is 9–12 queries a task;
    // extrapolating needs about 6.
    expect(mean(without.queries)).toBeGreaterThanOrEqual(8);
    expect(mean(withProgress.queries)).toBeLessThanOrEqual(mean(without.queries) * 0.8);
    // ...and notices the ends sooner (measured 50–100 ms against 170–190 ms on average; this test
    // shares one event loop with the simulator, the API and s3rver, so single delays jitter).
    expect(mean(withProgress.delays)).toBeLessThan(mean(without.delays));
  }, 60_000);
});
