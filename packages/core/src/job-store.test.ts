import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, uniquePrefix } from '../../../test/support/redis.ts';
import { batchItemId, newBatchId, newJobId } from './ids.ts';
import { JobStore } from './job-store.ts';

let redis: Redis;
let prefix: string;
let store: JobStore;

beforeAll(() => {
  redis = connectRedis();
  prefix = uniquePrefix('store');
  store = new JobStore({ redis, prefix, retentionSeconds: 3600 });
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('JobStore', () => {
  it('walks a job through the state machine and refuses to leave a terminal state', async () => {
    const id = newJobId();
    await store.createJob({
      id,
      provider: 'liblib',
      operation: 'kontext.text2img',
      input: { prompt: 'a' },
      createdAt: 1,
    });
    expect((await store.transition(id, 'submitting')).ok).toBe(true);
    expect((await store.transition(id, 'running', { providerTaskId: 'task-1', submittedAt: 5 })).ok).toBe(
      true,
    );
    expect((await store.transition(id, 'storing')).ok).toBe(true);
    const done = await store.transition(id, 'succeeded', { finishedAt: 9 });
    expect(done).toMatchObject({ ok: true, previous: 'storing' });
    expect(await store.transition(id, 'canceled')).toEqual({
      ok: false,
      reason: 'refused',
      current: 'succeeded',
    });
    const job = await store.getJob(id);
    expect(job).toMatchObject({
      state: 'succeeded',
      providerTaskId: 'task-1',
      submittedAt: 5,
      finishedAt: 9,
    });
    // terminal records get the retention TTL; live ones never expire
    expect(await redis.ttl(store.jobKey(id))).toBeGreaterThan(3000);
  });

  it('reports a missing job and never resurrects one through update', async () => {
    expect(await store.transition('j_missing', 'running')).toEqual({ ok: false, reason: 'missing' });
    expect(await store.update('j_missing', { providerStatus: '2' })).toBe(false);
    expect(await redis.exists(store.jobKey('j_missing'))).toBe(0);
  });

  it('keeps exact batch counters, merges defaults, and reports completion once', async () => {
    const batchId = newBatchId();
    await store.createBatch({
      id: batchId,
      provider: 'liblib',
      operation: 'kontext.text2img',
      defaults: { aspectRatio: '3:4' },
      total: 3,
      events: [],
      createdAt: 100,
    });
    const pipeline = redis.pipeline();
    for (let i = 0; i < 3; i++)
      store.writeJob(pipeline, { id: batchItemId(batchId, i), input: { prompt: `p${i}` }, createdAt: 100 });
    await pipeline.exec();

    const first = await store.getJob(batchItemId(batchId, 0));
    expect(first).toMatchObject({
      provider: 'liblib',
      operation: 'kontext.text2img',
      input: { aspectRatio: '3:4', prompt: 'p0' },
      batchId,
    });

    await store.transition(batchItemId(batchId, 0), 'failed', { error: { code: 'x', message: 'y' } });
    await store.transition(batchItemId(batchId, 1), 'canceled');
    let batch = await store.getBatch(batchId);
    expect(batch?.counts).toMatchObject({ queued: 1, failed: 1, canceled: 1, succeeded: 0 });
    expect(batch?.finishedAt).toBeUndefined();

    await store.transition(batchItemId(batchId, 2), 'submitting');
    await store.transition(batchItemId(batchId, 2), 'running');
    await store.transition(batchItemId(batchId, 2), 'storing');
    const last = await store.transition(batchItemId(batchId, 2), 'succeeded', {}, { addPoints: 58 });
    expect(last).toMatchObject({ ok: true, batchCompleted: true });
    batch = await store.getBatch(batchId);
    expect(batch).toMatchObject({
      pointsCost: 58,
      counts: { succeeded: 1, failed: 1, canceled: 1, queued: 0 },
    });
    expect(batch?.finishedAt).toBeGreaterThan(0);

    // a retried failed job reopens the batch, and its completion is reported again
    expect((await store.transition(batchItemId(batchId, 0), 'queued', {}, { from: ['failed'] })).ok).toBe(
      true,
    );
    expect((await store.getBatch(batchId))?.finishedAt).toBeUndefined();
    const again = await store.transition(batchItemId(batchId, 0), 'canceled');
    expect(again).toMatchObject({ ok: true, batchCompleted: true });
  });

  it('reports the budget once, when the points first reach maxPoints', async () => {
    const batchId = newBatchId();
    await store.createBatch({
      id: batchId,
      provider: 'liblib',
      operation: 'op',
      defaults: {},
      total: 3,
      maxPoints: 100,
      events: [],
      createdAt: 1,
    });
    const pipeline = redis.pipeline();
    for (let i = 0; i < 3; i++)
      store.writeJob(pipeline, { id: batchItemId(batchId, i), input: {}, createdAt: 1 });
    await pipeline.exec();
    const results = [];
    for (let i = 0; i < 3; i++) {
      const id = batchItemId(batchId, i);
      await store.transition(id, 'storing');
      results.push(await store.transition(id, 'succeeded', {}, { addPoints: 58 }));
    }
    expect(results.map((r) => r.ok && r.budgetReached)).toEqual([false, true, false]);
  });

  it('returns the first job for a reused idempotency key', async () => {
    expect(await store.claimIdempotencyKey('tok', 'k1', 'j_a', 60)).toBeUndefined();
    expect(await store.claimIdempotencyKey('tok', 'k1', 'j_b', 60)).toBe('j_a');
    expect(await store.claimIdempotencyKey('other', 'k1', 'j_c', 60)).toBeUndefined();
  });
});
