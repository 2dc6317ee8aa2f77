import { newBatchId, newJobId } from '@genqueue/model';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, uniquePrefix } from '../../../test/support/redis.ts';
import { JobStore, type OutboxItem, type TransitionResult } from './job-store.ts';

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

const OUTPUTS = [{ url: 'https://cdn.example.test/a.png', kind: 'image' as const }];
const kinds = (result: TransitionResult) =>
  result.ok ? result.outbox.map((item: OutboxItem) => item.entry.kind) : [];

async function newJob(extra: { webhookUrl?: string } = {}): Promise<string> {
  const id = newJobId();
  const created = await store.createJob({
    id,
    provider: 'liblib',
    operation: 'kontext.text2img',
    input: { prompt: 'a' },
    createdAt: 1,
    ...extra,
  });
  if (created.created) for (const item of created.outbox) await store.outboxDone(item.member);
  return id;
}

/** Item ids by batch, as `writeBatchItems` drew them (in submission order). */
const itemIds = new Map<string, string[]>();
const batchItemId = (batchId: string, index: number): string => itemIds.get(batchId)![index]!;

async function writeItems(batchId: string, items: { input: Record<string, unknown> }[]): Promise<void> {
  await store.writeBatchItems(batchId, items);
  itemIds.set(batchId, await store.batchItemIds(batchId, 0, items.length));
}

async function newBatch(total: number, extra: { maxPoints?: number; webhookUrl?: string } = {}) {
  const batchId = newBatchId();
  await writeItems(
    batchId,
    Array.from({ length: total }, (_, i) => ({ input: { prompt: `p${i}` } })),
  );
  const committed = await store.commitBatch({
    id: batchId,
    provider: 'liblib',
    operation: 'kontext.text2img',
    defaults: { aspectRatio: '3:4' },
    total,
    events: [],
    createdAt: 100,
    ...extra,
  });
  if (committed.created) for (const item of committed.outbox) await store.outboxDone(item.member);
  await store.activateBatchItems(batchId, 0, total);
  return batchId;
}

async function outboxEntries(): Promise<string[]> {
  return redis.zrange(`${prefix}:outbox`, 0, -1);
}

describe('JobStore', () => {
  it('walks a job through the named transitions and refuses to leave a terminal state', async () => {
    const id = await newJob();
    expect((await store.startSubmit(id, { submitStartedAt: 2, attempts: 1 })).ok).toBe(true);
    expect((await store.taskAccepted(id, { providerTaskId: 'task-1', submittedAt: 5 })).ok).toBe(true);
    expect((await store.taskEnded(id, 'storing', { taskOutputs: OUTPUTS })).ok).toBe(true);
    expect((await store.getJob(id))?.taskOutputs).toEqual(OUTPUTS);
    const done = await store.stored(id, []);
    expect(done).toMatchObject({ ok: true, previous: 'storing' });
    expect(await store.cancel(id, { code: 'c', message: 'm' }, ['queued', 'storing'])).toEqual({
      ok: false,
      reason: 'refused',
      current: 'succeeded',
    });
    const job = await store.getJob(id);
    expect(job).toMatchObject({ state: 'succeeded', providerTaskId: 'task-1', submittedAt: 5, attempts: 1 });
    // the task's outputs (provider URLs, inline images) leave Redis with the terminal step
    expect(job?.taskOutputs).toBeUndefined();
    expect(await redis.hexists(store.jobKey(id), 'taskOutputs')).toBe(0);
    // terminal records get the retention TTL; live ones never expire
    expect(await redis.ttl(store.jobKey(id))).toBeGreaterThan(3000);
  });

  it('keeps every change of state with its time, and none for a same-state re-entry', async () => {
    const id = await newJob();
    await store.startSubmit(id, { submitStartedAt: 2, attempts: 1 });
    await store.startSubmit(id, { submitStartedAt: 3, attempts: 2 });
    await store.deferSubmit(id);
    await store.startSubmit(id, { submitStartedAt: 4, attempts: 3 });
    await store.taskAccepted(id, { providerTaskId: 't', submittedAt: 5 });
    await store.fail(id, { code: 'x', message: 'y' });
    const history = (await store.getJob(id))!.history;
    expect(history.map((c) => c.state)).toEqual(['submitting', 'queued', 'submitting', 'running', 'failed']);
    for (const change of history) expect(change.at).toBeGreaterThan(Date.now() - 60_000);
    expect(history.map((c) => c.at)).toEqual([...history.map((c) => c.at)].sort((a, b) => a - b));
  });

  it('bounds the history of a job that goes round without end, keeping the newest changes', async () => {
    const id = await newJob();
    for (let i = 0; i < 150; i++) {
      await store.startSubmit(id, { submitStartedAt: i, attempts: i });
      await store.deferSubmit(id);
    }
    await store.startSubmit(id, { submitStartedAt: 999, attempts: 999 });
    const history = (await store.getJob(id))!.history;
    expect(history.length).toBeGreaterThan(30);
    expect(history.length).toBeLessThan(100);
    expect(history.at(-1)!.state).toBe('submitting');
    for (const change of history) expect(['submitting', 'queued']).toContain(change.state);
    expect(history.every((c) => Number.isFinite(c.at))).toBe(true);
  });

  it('reports a missing job and never resurrects one through a field update', async () => {
    expect(await store.fail('j_missing', { code: 'x', message: 'y' })).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(await store.noteProviderStatus('j_missing', '2')).toBe(false);
    expect(await redis.exists(store.jobKey('j_missing'))).toBe(0);
  });

  it('changes and counts nothing on a transition into the state a job is already in', async () => {
    const batchId = await newBatch(2, { maxPoints: 100, webhookUrl: 'https://hooks.example.test/b' });
    const id = batchItemId(batchId, 0);
    await store.startSubmit(id, { submitStartedAt: 1, attempts: 1 });
    await store.taskAccepted(id, { providerTaskId: 't', submittedAt: 2 });
    await store.requestCancel(id, { code: 'canceled', message: 'canceled by user' });
    const first = await store.taskEnded(id, 'canceled', { pointsCost: 60 }, 60);
    expect(first.ok).toBe(true);
    // a replayed poll of the job canceled while running: refused, no points, no announcement
    const replay = await store.taskEnded(id, 'canceled', { pointsCost: 60 }, 60);
    expect(replay).toEqual({ ok: false, reason: 'refused', current: 'canceled' });
    const again = await store.fail(id, { code: 'x', message: 'y' });
    expect(again).toEqual({ ok: false, reason: 'refused', current: 'canceled' });
    const batch = await store.getBatch(batchId);
    expect(batch).toMatchObject({ pointsCost: 60, counts: { canceled: 1, queued: 1 } });
  });

  it('keeps exact batch counters, merges defaults, and writes batch.completed into the outbox once', async () => {
    const batchId = await newBatch(3, { webhookUrl: 'https://hooks.example.test/b' });
    const first = await store.getJob(batchItemId(batchId, 0));
    expect(first).toMatchObject({
      provider: 'liblib',
      operation: 'kontext.text2img',
      input: { aspectRatio: '3:4', prompt: 'p0' },
      batchId,
      run: 0,
    });

    await store.fail(batchItemId(batchId, 0), { code: 'x', message: 'y' });
    await store.cancel(batchItemId(batchId, 1), { code: 'c', message: 'm' });
    let batch = await store.getBatch(batchId);
    expect(batch?.counts).toMatchObject({ queued: 1, failed: 1, canceled: 1, succeeded: 0 });
    expect(batch?.finishedAt).toBeUndefined();

    const id = batchItemId(batchId, 2);
    await store.startSubmit(id, { submitStartedAt: 1, attempts: 1 });
    await store.taskAccepted(id, { providerTaskId: 'task-2', submittedAt: 2 });
    await store.taskEnded(id, 'storing', { taskOutputs: OUTPUTS, pointsCost: 58 }, 58);
    const last = await store.stored(id, []);
    expect(last).toMatchObject({ ok: true, batchCompleted: true });
    expect(kinds(last)).toEqual(['webhook']);
    const completed = last.ok ? last.outbox[0]!.entry : undefined;
    batch = await store.getBatch(batchId);
    expect(completed).toEqual({
      kind: 'webhook',
      payload: {
        deliveryId: `batch.completed.${batchId}.${batch?.finishedAt}`,
        owner: { kind: 'batch', id: batchId },
        type: 'batch.completed',
        url: 'https://hooks.example.test/b',
      },
    });
    expect(batch).toMatchObject({
      pointsCost: 58,
      counts: { succeeded: 1, failed: 1, canceled: 1, queued: 0 },
    });
    expect(await outboxEntries()).toContain(last.ok ? last.outbox[0]!.member : '');

    // a retried failed job: a new run, the old run's fields gone and its submit entry written, in one step
    const retried = await store.retry((await store.getJob(batchItemId(batchId, 0)))!);
    expect(retried.ok && retried.outbox.map((i) => i.entry)).toMatchObject([
      { kind: 'submit', provider: 'liblib', jobId: batchItemId(batchId, 0), run: 1 },
    ]);
    expect(await store.getJob(batchItemId(batchId, 0))).toMatchObject({
      state: 'queued',
      run: 1,
      error: undefined,
    });
    expect((await store.getBatch(batchId))?.finishedAt).toBeUndefined();
    const again = await store.cancel(batchItemId(batchId, 0), { code: 'c', message: 'm' });
    expect(again).toMatchObject({ ok: true, batchCompleted: true });
  });

  it('writes the job webhook of a terminal transition in the same step, only for the events asked', async () => {
    const id = await newJob({ webhookUrl: 'https://hooks.example.test/j' });
    const failed = await store.fail(id, { code: 'x', message: 'y' });
    const job = await store.getJob(id);
    expect(failed.ok && failed.outbox.map((i) => i.entry)).toEqual([
      {
        kind: 'webhook',
        payload: {
          deliveryId: `job.failed.${id}.${job?.finishedAt}`,
          owner: { kind: 'job', id },
          type: 'job.failed',
          url: 'https://hooks.example.test/j',
        },
      },
    ]);
    // batch items send per-job events only when the batch asked for them
    const batchId = await newBatch(1);
    const item = await store.fail(batchItemId(batchId, 0), { code: 'x', message: 'y' });
    expect(kinds(item)).toEqual([]);
  });

  it('writes the budget cancel into the outbox once, when the points first reach maxPoints', async () => {
    const batchId = await newBatch(3, { maxPoints: 100 });
    const results = [];
    for (let i = 0; i < 3; i++) {
      const id = batchItemId(batchId, i);
      results.push(await store.taskEnded(id, 'storing', { taskOutputs: OUTPUTS }, 58));
    }
    expect(results.map((r) => r.ok && r.budgetReached)).toEqual([false, true, false]);
    expect(results.map(kinds)).toEqual([[], ['cancelBatch'], []]);
  });

  it('refuses to start a submission once its batch has spent maxPoints, though the job was read before', async () => {
    const batchId = await newBatch(3, { maxPoints: 100 });
    const waiting = batchItemId(batchId, 2);
    // A worker reads the job while the budget is not yet spent, then waits for a slot …
    expect((await store.getJob(waiting))?.budgetSpent).toBe(false);
    for (const i of [0, 1])
      await store.taskEnded(batchItemId(batchId, i), 'storing', { taskOutputs: OUTPUTS }, 58);
    // … and by the time it starts the submission, the budget is spent.
    const started = await store.startSubmit(waiting, { submitStartedAt: 2, attempts: 1 });
    expect(started).toEqual({ ok: false, reason: 'budget_spent' });
    expect((await store.getJob(waiting))?.state).toBe('queued');
    // a job outside any batch has no budget
    expect((await store.startSubmit(await newJob(), { submitStartedAt: 2, attempts: 1 })).ok).toBe(true);
  });

  it('creates a job and claims its Idempotency-Key in one step', async () => {
    const claim = { scope: 'tok', key: `k-${Date.now()}`, ttlSeconds: 60 };
    const job = { provider: 'liblib', operation: 'op', input: {} };
    const a = await store.createJob({ id: newJobId(), ...job }, claim);
    expect(a.created).toBe(true);
    const firstId = a.created ? a.outbox[0]!.entry : undefined;
    const b = await store.createJob({ id: newJobId(), ...job }, claim);
    expect(b).toEqual({ created: false, existingId: (firstId as { jobId: string }).jobId });
    expect((await store.createJob({ id: newJobId(), ...job }, { ...claim, scope: 'other' })).created).toBe(
      true,
    );
  });

  it('keeps the items of an uncommitted batch invisible and expiring', async () => {
    const batchId = newBatchId();
    await writeItems(batchId, [{ input: { prompt: 'x' } }]);
    expect(await store.getJob(batchItemId(batchId, 0))).toBeUndefined();
    expect(await redis.ttl(store.jobKey(batchItemId(batchId, 0)))).toBeGreaterThan(0);
  });
});
