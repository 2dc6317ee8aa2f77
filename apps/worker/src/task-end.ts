/**
 * What happens when a provider task ends, whether the poller saw it end or a synchronous provider
 * answered with it: free the slot first, then route the job to the sink or end it.
 */
import { type JobError, type JobRecord, jobTag, type TaskStatus } from '@genqueue/core';
import { providerOf, type WorkerContext } from './context.ts';

export async function failJob(ctx: WorkerContext, jobId: string, error: JobError): Promise<void> {
  await ctx.lifecycle.end(jobId, 'failed', { error });
}

const CANCELED: JobError = { code: 'canceled', message: 'canceled by user' };

export async function finishTask(ctx: WorkerContext, record: JobRecord, status: TaskStatus): Promise<void> {
  const { limiter } = providerOf(ctx, record.provider);
  // The slot is the provider's scarcest resource: give it back before anything else.
  await limiter.release(record.id);
  // Wakes a submission waiting for a slot (in any worker process); a hint, so not awaited.
  ctx.slotSignal?.freed(record.provider).catch(() => undefined);
  const now = ctx.clock.now();
  const balance = 'accountBalance' in status ? status.accountBalance : undefined;
  const common = {
    providerStatus: status.providerStatus,
    taskEndedAt: now,
    ...(balance === undefined ? {} : { accountBalance: balance }),
  };
  const points = 'pointsCost' in status ? status.pointsCost : undefined;
  // metrics: generation time, points and balance as last seen
  if (record.submittedAt !== undefined)
    ctx.metrics?.generationTime(record.provider, now - record.submittedAt);
  ctx.metrics?.taskCost(record.provider, points, balance);
  ctx.logger.debug({ jobId: record.id, state: status.state }, 'task:finished');

  const current = await ctx.store.getJob(record.id);
  if (!current) return;
  if (balance !== undefined && current.batchId) {
    await ctx.store.noteBatchAccountBalance(current.batchId, balance);
  }
  if (current.state === 'canceled' || current.cancelRequested) {
    await ctx.lifecycle.end(
      record.id,
      'canceled',
      { ...common, pointsCost: points, error: current.error ?? CANCELED },
      { addPoints: points },
    );
    return;
  }

  switch (status.state) {
    case 'succeeded': {
      if (status.outputs.length === 0) {
        await ctx.lifecycle.end(
          record.id,
          'failed',
          {
            ...common,
            pointsCost: points,
            error: { code: 'no_outputs', message: 'the provider reported success without outputs' },
          },
          { addPoints: points },
        );
        return;
      }
      // The sink job goes first: if we crash before the transition, the retried poll or submit job
      // adds it again (same id, so a no-op), and the sink accepts a job still marked running.
      const tag = jobTag(record);
      await ctx.queues.sink.add(tag.name, { ...tag.data, outputs: status.outputs }, { jobId: record.id });
      const moved = await ctx.store.transition(
        record.id,
        'storing',
        { ...common, pointsCost: points },
        { addPoints: points },
      );
      if (moved.ok && moved.budgetReached && current.batchId) {
        await ctx.lifecycle.cancelBatch(current.batchId, {
          code: 'budget_exceeded',
          message: 'the batch reached its maxPoints budget',
        });
      }
      return;
    }
    case 'failed':
      await ctx.lifecycle.end(
        record.id,
        'failed',
        { ...common, pointsCost: points, error: status.error },
        { addPoints: points },
      );
      return;
    case 'canceled':
      await ctx.lifecycle.end(record.id, 'canceled', {
        ...common,
        error: { code: 'canceled_by_provider', message: 'the provider canceled the task' },
      });
      return;
    default:
      throw new Error(`finishTask called with a task still ${status.state}`);
  }
}
