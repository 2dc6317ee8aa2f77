import { isTaskEnded, isTerminal } from '@genqueue/core';
import { type Job, UnrecoverableError } from 'bullmq';
import { providerOfRecord, type WorkerContext } from './context.ts';
import { failJob, finishTask } from './task-end.ts';

/**
 * A BullMQ job that failed for good for a reason the processor did not handle (a bug, Redis
 * trouble) must still end its genqueue job with a reason. Its slot is given back only when its
 * provider task is known to have ended: a poll job's failure says nothing about the task, which may
 * still run and occupy a provider slot, so the provider is asked once more; a task it still reports
 * alive (or cannot report on) keeps its slot until the provider's own timeout has passed.
 */
export async function recordFinalFailure(
  ctx: WorkerContext,
  queue: string,
  job: Job,
  error: Error,
): Promise<void> {
  const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
  const jobId = typeof job.data?.jobId === 'string' ? job.data.jobId : undefined;
  if (!final || !jobId) return;
  try {
    const record = await ctx.store.getJob(jobId);
    if (!record || isTerminal(record.state)) return;
    // A provider this worker does not serve: its job still fails, and its slot is left to its lease.
    if (ctx.pools.has(record.provider) && record.providerTaskId) {
      const { lease, pool, provider } = providerOfRecord(ctx, record);
      const status = await provider
        .status(record.operation, record.providerTaskId, { jobId, signal: ctx.shutdownSignal })
        .catch(() => undefined);
      if (status && isTaskEnded(status)) {
        await finishTask(ctx, record, status);
        return;
      }
      // The longest a task can live at the provider (TASK_DEADLINE_MS): its slot stays taken till then.
      const deadline = (record.submittedAt ?? ctx.clock.now()) + ctx.config.worker.taskDeadlineMs;
      const held = Math.max(0, deadline - ctx.clock.now());
      await pool.refresh(lease, { ttlMs: Math.max(held, pool.leaseTtl, 1) });
      ctx.logger.warn(
        { jobId, account: lease.account, providerStatus: status?.providerStatus, heldMs: held },
        `${queue}: job failed while its provider task may still run; its slot stays taken until the task's timeout`,
      );
    }
    // A job never submitted holds no slot past its grant's turn: that pending lease expires by itself.
    await failJob(ctx, jobId, { code: 'internal_error', message: `${queue}: ${error.message}` });
  } catch (cause) {
    ctx.logger.error({ jobId, err: String(cause) }, 'could not record a final failure');
  }
}
