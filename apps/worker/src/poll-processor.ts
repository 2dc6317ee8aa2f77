/**
 * The poll step: one BullMQ job per task in flight. It asks the provider for the task's status and
 * re-delays itself (without using an attempt) until the task ends; then it frees the slot and
 * routes the job on. Because the poll jobs live in Redis, a killed worker's tasks are picked up by
 * any other worker once the job's lock expires.
 *
 * The slot. Until the task is known to have ended, every poll keeps its lease for a full lease TTL
 * past the next poll, so a task that stays queued or running longer than `LEASE_TTL_MS` never loses
 * its slot to a new submission, however short that TTL; a dead poller's slot still comes back one
 * TTL after the poll it missed.
 */
import {
  CallAbortedError,
  isTaskEnded,
  type JobPayload,
  type JobRecord,
  jobPayloadSchema,
  ProviderError,
  type TaskStatus,
} from '@genqueue/core';
import type { AccountPool, Lease } from '@genqueue/limiter';
import { DelayedError, type Job } from 'bullmq';
import { z } from 'zod';
import { providerOfRecord, type WorkerContext } from './context.ts';
import { nextPollDelay, type ProgressReading, windowSpacing } from './poll-schedule.ts';
import { failOverdueTask, isOverdue } from './reconciler.ts';
import { cappedRetryAfter } from './retry-after.ts';
import { requestSize, type TaskKind } from './task-durations.ts';
import { failJob, finishTask, freeSlot, scheduleSink } from './task-end.ts';

/** After a failed status query, wait at least this long (the error may be an outage). */
const STATUS_ERROR_DELAY_MS = 2_000;

/** What a poll job returns to BullMQ once its task ended (shown in Bull Board). */
export interface PollReturn {
  taskId: string;
  state: string;
}

/** What {@link delay} answers when it waited in the processor: query again now. */
const QUERY_AGAIN = Symbol('query again');

export async function processPoll(
  ctx: WorkerContext,
  job: Job<JobPayload>,
  token: string | undefined,
): Promise<PollReturn | undefined> {
  for (;;) {
    const outcome = await pollOnce(ctx, job, token);
    if (outcome !== QUERY_AGAIN) return outcome;
  }
}

/** One status query of the job's task, and what follows from its answer. */
async function pollOnce(
  ctx: WorkerContext,
  job: Job<JobPayload>,
  token: string | undefined,
): Promise<PollReturn | undefined | typeof QUERY_AGAIN> {
  const { jobId, run = 0 } = jobPayloadSchema.parse(job.data);
  const record = await ctx.store.getJob(jobId);
  if (!record?.providerTaskId || record.run !== run) {
    ctx.logger.warn({ jobId, run }, 'poll: no job record or task id in this run; nothing to poll');
    return;
  }
  // Task ids belong to the account that submitted the task: only its key sees it.
  const { lease, provider, pool, descriptor } = providerOfRecord(ctx, record);
  if (record.state === 'storing' || record.state === 'succeeded' || record.state === 'failed') {
    // Already seen ending (a retried poll after a crash): the slot is free, and the sink job must
    // exist. A job failed while its task was not seen ending (a poll that failed for good) keeps
    // the slot held for the task.
    if (record.state !== 'failed' || record.taskEndedAt !== undefined) await pool.release(lease);
    if (record.state === 'storing') await scheduleSink(ctx, record);
    return;
  }
  const call = { jobId, signal: ctx.shutdownSignal };
  const log = ctx.logger.child({ jobId, taskId: record.providerTaskId, account: lease.account });

  if (
    (record.cancelRequested || record.state === 'canceled') &&
    descriptor.capabilities.cancelable &&
    provider.cancel
  ) {
    try {
      await provider.cancel(record.operation, record.providerTaskId, call);
    } catch (error) {
      log.warn({ err: describe(error) }, 'poll: cancel at the provider failed; waiting for the task to end');
    }
  }

  // The account's cap on status queries: over it, ask again once the window has room.
  const cap = await ctx.statusCaps.get(provider.name)?.get(lease.account)?.tryTake();
  if (cap && !cap.granted) return delay(ctx, pool, lease, job, token, cap.retryInMs);

  let status: TaskStatus;
  const queryStarted = ctx.clock.now(); // metrics
  const statusStarted = performance.now(); // metrics
  try {
    status = await provider.status(record.operation, record.providerTaskId, call);
    ctx.metrics?.providerRequest(provider.name, lease.account, 'status', performance.now() - statusStarted);
  } catch (error) {
    ctx.metrics?.providerRequest(provider.name, lease.account, 'status', performance.now() - statusStarted);
    if (error instanceof CallAbortedError) {
      // Our own shutdown: the next worker polls again at once.
      log.info('poll: status query aborted by shutdown');
      return delay(ctx, pool, lease, job, token, 0);
    }
    if (error instanceof ProviderError && error.errorClass === 'invalid_job') {
      // e.g. 100051 "task does not exist": it will never end by itself.
      await freeSlot(ctx, record.provider, pool, lease);
      await failJob(ctx, jobId, error.toJobError());
      await job.log(`failed: ${error.code ?? ''} ${error.message}`);
      return { taskId: record.providerTaskId, state: 'failed' };
    }
    // Outages, rate limits and account errors don't end the task at the provider: keep polling.
    const retryAfter =
      error instanceof ProviderError ? cappedRetryAfter(ctx, error.retryAfterMs, log) : undefined;
    const wait = Math.max(STATUS_ERROR_DELAY_MS, retryAfter ?? 0);
    log.warn({ err: describe(error), wait }, 'poll: status query failed; polling again later');
    return delay(ctx, pool, lease, job, token, wait);
  }

  if (!isTaskEnded(status) && isOverdue(ctx, record)) {
    log.warn(
      { providerStatus: status.providerStatus },
      'poll: task alive past TASK_DEADLINE_MS; job failed, slot freed',
    );
    await failOverdueTask(ctx, record);
    return { taskId: record.providerTaskId, state: 'failed' };
  }
  if (!isTaskEnded(status)) {
    rememberQuery(jobId, queryStarted); // metrics
    if (status.state === 'running') {
      ctx.metrics?.runningAnswer(provider.name, lease.account, status.progress !== undefined);
    }
    if (status.providerStatus !== record.providerStatus) {
      await ctx.store.noteProviderStatus(jobId, status.providerStatus);
      await job.log(`status ${status.providerStatus} ${status.state}`);
    }
    const progress = await progressReadings(ctx, job, record, status, queryStarted);
    return delay(ctx, pool, lease, job, token, await pollDelay(ctx, record, progress));
  }
  // metrics: finishTask frees the slot first thing; see rememberQuery for the bound.
  const previous = previousQueries.get(jobId) ?? (job.attemptsStarted <= 1 ? record.submittedAt : undefined);
  previousQueries.delete(jobId);
  const seenAt = ctx.clock.now();
  if (previous !== undefined) ctx.metrics?.slotReleaseDelay(provider.name, lease.account, seenAt - previous);
  await finishTask(ctx, record, status);
  if (record.submittedAt !== undefined && (status.state === 'succeeded' || status.state === 'failed')) {
    // The task ended between the previous query and this one: take the middle.
    const endedAt = previous === undefined ? seenAt : (previous + seenAt) / 2;
    await ctx.durations
      .record(taskKind(record), endedAt - record.submittedAt)
      .catch((error: Error) => log.warn({ err: error.message }, 'poll: task duration not recorded'));
  }
  await job.log(
    `status ${status.providerStatus} ${status.state}` +
      (status.state === 'succeeded' ? `: ${status.outputs.length} outputs to store` : ''),
  );
  return { taskId: record.providerTaskId, state: status.state };
}

function taskKind(record: JobRecord): TaskKind {
  return { provider: record.provider, operation: record.operation, size: requestSize(record.input) };
}

/** A progress reading kept in the poll job's data (see {@link progressReadings}). */
const keptReadingSchema = z.object({ atMs: z.number(), progress: z.number() });

/**
 * The task's first progress reading and the first one at its current value, when this answer has
 * one. Both are kept in the poll job's data (written when the value changes), so any worker process
 * that polls next extrapolates from the same baseline, the longer the better; and a value that stops
 * changing (a task under review at 100 %, a stalled generation) keeps its old time, so the task
 * outlives the extrapolated span and the history and age schedules take over, instead of a span
 * that moved forward with every answer and kept the task polled at the dense interval.
 */
async function progressReadings(
  ctx: WorkerContext,
  job: Job<JobPayload & { firstProgress?: ProgressReading; currentProgress?: ProgressReading }>,
  record: JobRecord,
  status: TaskStatus,
  queryStarted: number,
): Promise<{ first: ProgressReading; latest: ProgressReading } | undefined> {
  if (status.state !== 'running' || status.progress === undefined) return undefined;
  // The provider read its progress somewhere between our request and its answer.
  const atMs = (queryStarted + ctx.clock.now()) / 2 - (record.submittedAt ?? record.createdAt);
  const reading = { atMs, progress: status.progress };
  const first = keptReadingSchema.safeParse(job.data.firstProgress);
  const current = keptReadingSchema.safeParse(job.data.currentProgress);
  if (first.success && current.success && current.data.progress === reading.progress) {
    return { first: first.data, latest: current.data };
  }
  const firstProgress = first.success ? first.data : reading;
  await job.updateData({ ...job.data, firstProgress, currentProgress: reading });
  return first.success ? { first: firstProgress, latest: reading } : undefined;
}

/**
 * The wait before the next status query of `record`'s task, from the task's own progress where
 * the provider reports it, else from the durations of its kind.
 */
export async function pollDelay(
  ctx: WorkerContext,
  record: JobRecord,
  progress?: { first: ProgressReading; latest: ProgressReading },
): Promise<number> {
  const { pollMinIntervalMs, pollMaxIntervalMs, pollDenseIntervalMs, pollWindowQueries } = ctx.config.worker;
  const { lease, pool, provider } = providerOfRecord(ctx, record);
  const maxInFlight = pool.accounts.find((a) => a.id === lease.account)?.maxInFlight ?? 1;
  const cap = ctx.statusCaps.get(provider.name)?.get(lease.account)?.maxPerSecond;
  const schedule = {
    minMs: pollMinIntervalMs,
    maxMs: pollMaxIntervalMs,
    denseMs: pollDenseIntervalMs,
    windowQueries: pollWindowQueries,
    windowMinMs: Math.min(pollMaxIntervalMs, windowSpacing(pollDenseIntervalMs, maxInFlight, cap)),
  };
  const elapsed = ctx.clock.now() - (record.submittedAt ?? record.createdAt);
  const durations = await ctx.durations.durations(taskKind(record)).catch(() => []);
  return nextPollDelay(elapsed, schedule, durations, progress);
}

/**
 * metrics: when each task was last seen running, for the slot-release delay. The provider's end
 * time is unknown, but it lies after the last query that saw the task running, so "release time
 * minus that query's start" is an upper bound of the delay. The first poll uses `submittedAt`;
 * a task whose previous query ran in another worker process is not measured. Bounded, so tasks
 * handed over to other processes cannot grow it forever.
 */
const previousQueries = new Map<string, number>();
const MAX_REMEMBERED_QUERIES = 10_000;

function rememberQuery(jobId: string, at: number): void {
  previousQueries.delete(jobId);
  previousQueries.set(jobId, at);
  if (previousQueries.size > MAX_REMEMBERED_QUERIES) {
    previousQueries.delete(previousQueries.keys().next().value!);
  }
}

/**
 * Schedules the next poll in `ms`, keeping the task's slot until a full lease TTL past it.
 *
 * A wait of at most `POLL_HOLD_MAX_MS` is slept here, the job staying active under its lock, and
 * answers {@link QUERY_AGAIN}. A BullMQ delay would come late: the worker wakes for a delayed job
 * when its blocking Redis call times out, and Redis checks those timeouts on its `hz` tick, every
 * 100 ms by default, so a 50 ms wait near a task's end took 50–230 ms. Longer waits go through
 * BullMQ's delayed set, where they hold no concurrency and survive this process; so does every
 * wait once the worker starts closing.
 */
async function delay(
  ctx: WorkerContext,
  pool: AccountPool,
  lease: Lease,
  job: Job,
  token: string | undefined,
  ms: number,
): Promise<typeof QUERY_AGAIN> {
  await pool.refresh(lease, { ttlMs: ms + pool.leaseTtl });
  const closing = ctx.closingSignal ?? ctx.shutdownSignal;
  if (ms > 0 && ms <= ctx.config.worker.pollHoldMaxMs && !closing.aborted) {
    const slept = await ctx.clock.sleep(ms, closing).then(
      () => true,
      () => false, // shutting down: hand the poll over to the next worker
    );
    if (slept) return QUERY_AGAIN;
  }
  await job.moveToDelayed(ctx.clock.now() + ms, token);
  throw new DelayedError();
}

function describe(error: unknown): { message: string; code?: string; status?: number } {
  if (error instanceof ProviderError)
    return { message: error.message, code: error.code, status: error.status };
  return { message: error instanceof Error ? error.message : String(error) };
}
