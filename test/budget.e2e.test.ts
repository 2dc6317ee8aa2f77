/**
 * Batch budgets: once a batch has spent its `maxPoints`, the worker cancels the rest of it with
 * `budget_exceeded`. Kontext pro costs 29 points per image in the simulator, so a budget of 100 is
 * reached by the 4th image.
 */
import type { BatchView, JobView } from '@genqueue/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('batch budget', () => {
  it('cancels the rest of a 20-prompt batch with budget_exceeded once maxPoints 100 is spent', async () => {
    stack = await startStack({
      sim: { submitQps: 5, maxInFlight: 5, latencyMs: { min: 200, max: 400 } },
    });
    const s = stack;
    const created = await s.call<{ id: string; total: number }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      defaults: { model: 'pro' },
      prompts: Array.from({ length: 20 }, (_, i) => `budget prompt ${i}`),
      maxPoints: 100,
    });
    expect(created.status).toBe(202);
    const id = created.body.id;

    const done = await s.waitFor(
      async () => {
        const view = (await s.call<BatchView>('GET', `/v1/batches/${id}`)).body;
        return view.done ? view : undefined;
      },
      30_000,
      'the batch to end',
    );
    expect(done).toMatchObject({ maxPoints: 100, canceledReason: 'the batch reached its maxPoints budget' });
    // 3 images cost 87 < 100; the 4th reaches the budget and is kept (its points are spent). A task
    // ending in the same instant may slip through before the cancel lands.
    expect(done.counts.succeeded).toBeGreaterThanOrEqual(4);
    expect(done.counts.succeeded).toBeLessThanOrEqual(6);
    expect(done.counts.failed).toBe(0);
    expect(done.counts.succeeded + done.counts.canceled).toBe(20);
    expect(done.pointsCost).toBeGreaterThanOrEqual(100);

    const jobs = (
      await s.call<{ items: JobView[] }>('GET', `/v1/batches/${id}/jobs?state=canceled&limit=1000`)
    ).body.items;
    expect(jobs).toHaveLength(done.counts.canceled);
    for (const job of jobs) expect(job.error?.code).toBe('budget_exceeded');
    // The provider saw no more than the jobs that were already in flight when the budget was hit.
    expect(s.sim.stats().accepted).toBeLessThanOrEqual(done.counts.succeeded + 5);
    console.info(
      `budget: ${JSON.stringify(done.counts)}, ${done.pointsCost} points, ${s.sim.stats().accepted} tasks`,
    );
  });
});
