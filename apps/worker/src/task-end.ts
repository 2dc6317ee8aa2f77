/**
 * What happens when a provider task ends, whether the poller saw it end or a synchronous provider
 * answered with it: free the slot first, then record the end in one transition (the outputs, the
 * points the provider kept, and for a synchronous answer the task id too) and hand over to the
 * sink, or end the job. The transition writes the job's webhook, its batch's completion and a spent
 * budget's cancel into the outbox in the same step; `settle` drains them.
 */
import {
  type AcceptedTask,
  bullJobId,
  type JobError,
  type JobRecord,
  jobTag,
  type TaskStatus,
} from '@genqueue/core';
import type { AccountPool, Lease } from '@genqueue/limiter';
import { leaseOfRecord, providerOf, type WorkerContext } from './context.ts';

export async function failJob(ctx: WorkerContext, jobId: string, error: JobError): Promise<void> {
  await ctx.lifecycle.settle(await ctx.store.fail(jobId, error));
}

const CANCELED: JobError = { code: 'canceled', message: 'canceled by user' };

/** Schedules the sink job of a `storing` job (a no-op when it exists: same BullMQ id). */
export async function scheduleSink(ctx: WorkerContext, record: JobRecord): Promise<void> {
  const tag = jobTag(record);
  await ctx.queues.sink.add(tag.name, tag.data, { jobId: bullJobId(record.id, record.run) });
}

/**
 * Frees a task's slot, and wakes a submission waiting for one (in any worker process; the wake-up
 * is a hint, so not awaited).
 */
export async function freeSlot(
  ctx: WorkerContext,
  provider: string,
  pool: AccountPool,
  lease: Lease,
): Promise<void> {
  await pool.release(lease);
  ctx.slotSignal?.freed(provider).catch(() => undefined);
}

/**
 * @param accepted for a synchronous provider, the task id and submission time, saved in the
 *   same step as the outputs, so a crash cannot leave a paid task's outputs only in memory.
 */
export async function finishTask(
  ctx: WorkerContext,
  record: JobRecord,
  status: TaskStatus,
  accepted?: AcceptedTask,
): Promise<void> {
  const { pool } = providerOf(ctx, record.provider);
  const lease = leaseOfRecord(pool, { ...record, ...accepted });
  // The slot is the provider's scarcest resource: give it back before anything else.
  await freeSlot(ctx, record.provider, pool, lease);
  const now = ctx.clock.now();
  const balance = 'accountBalance' in status ? status.accountBalance : undefined;
  const common = {
    providerStatus: status.providerStatus,
    taskEndedAt: now,
    ...(balance === undefined ? {} : { accountBalance: balance }),
    ...accepted,
  };
  // The points the provider kept: a refunded task (LiblibAI status 7, 002 §4.3.1) reports none.
  const points = 'pointsCost' in status ? status.pointsCost : undefined;
  ctx.logger.debug({ jobId: record.id, state: status.state }, 'task:finished');

  const current = await ctx.store.getJob(record.id);
  if (!current || current.run !== record.run) return;
  if (balance !== undefined && current.batchId) {
    await ctx.store.noteBatchAccountBalance(current.batchId, balance);
  }
  const [to, fields, kept] = ended(current, status, points);
  const result = await ctx.store.taskEnded(record.id, to, { ...common, ...fields }, kept);
  if (result.ok) {
    // metrics: counted by the transition that recorded the end, so a replayed poll counts nothing
    const submittedAt = accepted?.submittedAt ?? current.submittedAt;
    if (submittedAt !== undefined) {
      ctx.metrics?.generationTime(record.provider, lease.account, now - submittedAt);
    }
    // The account's own figures (points spent, last balance): counted by the same transition.
    if (points !== undefined || balance !== undefined) {
      await pool
        .recordCost(lease.account, { points, balance })
        .catch((error: Error) =>
          ctx.logger.warn({ jobId: record.id, err: error.message }, 'task end: account cost not recorded'),
        );
    }
    await ctx.hooks?.at('task-ended', record.id);
    await ctx.lifecycle.settle(result);
  }
  // After a crash between the transition and this add, the retried poll or submit job comes here
  // again: the transition is refused (already storing) and the sink job is added then.
  if (result.ok ? to === 'storing' : result.reason === 'refused' && result.current === 'storing') {
    await scheduleSink(ctx, current);
  }
}

/** Where an ended task takes its job, with the fields and points to record. */
function ended(
  current: JobRecord,
  status: TaskStatus,
  points: number | undefined,
): [
  'storing' | 'failed' | 'canceled',
  Parameters<WorkerContext['store']['taskEnded']>[2],
  number | undefined,
] {
  if (current.state === 'canceled' || current.cancelRequested) {
    return ['canceled', { pointsCost: points, error: current.error ?? CANCELED }, points];
  }
  switch (status.state) {
    case 'succeeded':
      if (status.outputs.length === 0) {
        const error = { code: 'no_outputs', message: 'the provider reported success without outputs' };
        return ['failed', { pointsCost: points, error }, points];
      }
      return ['storing', { pointsCost: points, taskOutputs: status.outputs }, points];
    case 'failed':
      return ['failed', { pointsCost: points, error: status.error }, points];
    case 'canceled': {
      const error = { code: 'canceled_by_provider', message: 'the provider canceled the task' };
      return ['canceled', { error }, undefined];
    }
    default:
      throw new Error(`finishTask called with a task still ${status.state}`);
  }
}
