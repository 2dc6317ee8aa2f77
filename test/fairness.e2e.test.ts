/**
 * Fairness between batches: a single job and a small batch posted after a large batch has started
 * are served at once, not after it. It comes from the submit priorities `intakeBatch` assigns (an
 * item's priority is its position in its batch; single jobs have none), against the simulator at
 * a fraction of its limits so the large batch stays queued for a while.
 */
import type { BatchView, JobView } from '@genqueue/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const TERMINAL = ['succeeded', 'failed', 'canceled'];

describe('fairness between batches', () => {
  it('serves a later single job and small batch long before a 300-prompt batch ends', async () => {
    stack = await startStack({
      sim: { submitQps: 20, maxInFlight: 5, latencyMs: { min: 200, max: 400 } },
    });
    const s = stack;
    const batchView = async (id: string) => (await s.call<BatchView>('GET', `/v1/batches/${id}`)).body;

    const big = await s.call<{ id: string }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      prompts: Array.from({ length: 300 }, (_, i) => `fairness big ${i}`),
    });
    expect(big.status).toBe(202);
    // Let the big batch get going, so the later work has to overtake it.
    await s.waitFor(
      async () => (await batchView(big.body.id)).counts.succeeded >= 5,
      20_000,
      'the big batch to start',
    );

    const single = await s.call<{ id: string }>('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'fairness single' },
    });
    const small = await s.call<{ id: string }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      prompts: ['fairness small 0', 'fairness small 1', 'fairness small 2'],
    });
    expect([single.status, small.status]).toEqual([202, 202]);
    // From here on the later work is queued: big items submitted while the two requests were still
    // being answered (20 a second, more on a loaded machine) did not overtake anything.
    const postedAt = Date.now();
    const laterIds = [single.body.id, ...(await s.itemIds(small.body.id))];

    const later = await s.waitFor(
      async () => {
        const jobs = await Promise.all(laterIds.map((id) => s.job(id)));
        return jobs.every((j) => TERMINAL.includes(j.state)) ? jobs : undefined;
      },
      15_000,
      'the single job and the small batch to finish',
    );
    expect(later.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const bigNow = await batchView(big.body.id);
    expect(bigNow.done).toBe(false);
    // Most of the big batch is still waiting when the later work is all done.
    expect(bigNow.counts.queued).toBeGreaterThanOrEqual(0.7 * 300);
    expect((await batchView(small.body.id)).done).toBe(true);

    // Order: once posted, the later jobs were submitted before all but a handful of big-batch
    // items (those already taken by the worker's 5 concurrent submit slots).
    const lastLaterSubmit = Math.max(...later.map((j) => Date.parse(j.submittedAt!)));
    const page = await s.call<{ items: JobView[] }>('GET', `/v1/batches/${big.body.id}/jobs?limit=1000`);
    const overtaking = page.body.items.filter((j) => {
      const at = j.submittedAt ? Date.parse(j.submittedAt) : undefined;
      return at !== undefined && at > postedAt && at < lastLaterSubmit;
    });
    expect(overtaking.length).toBeLessThanOrEqual(6);
    console.info(
      `fairness: later work done ${Date.now() - postedAt} ms after posting; big batch then ${JSON.stringify(bigNow.counts)}; ${overtaking.length} big items submitted in between`,
    );

    // End the big batch rather than wait for it.
    const canceled = await s.call<{ canceled: number }>('POST', `/v1/batches/${big.body.id}/cancel`);
    expect(canceled.status).toBe(202);
    const ended = await s.waitFor(
      async () => {
        const view = await batchView(big.body.id);
        return view.done ? view : undefined;
      },
      15_000,
      'the canceled big batch to end',
    );
    expect(ended.counts.canceled).toBeGreaterThanOrEqual(0.7 * 300);
    expect(ended.canceledReason).toBe('batch canceled by user');
  });
});
