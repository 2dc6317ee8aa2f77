/**
 * The submit step: gate → submit → save the task id → hand over to polling (or to the sink, for
 * providers whose descriptor says `synchronous`).
 *
 * Limits. Every submission first takes a slot and a QPS turn from the provider's `AccountPool` (a
 * lease in Redis, held until the poller sees the task end, with a token only this grant knows).
 * When the gate says no, one submission per process and provider waits in the processor for its
 * turn or a freed slot; the others rate-limit the whole submit queue of that provider in BullMQ
 * for the time the gate asks, and go back to waiting without using an attempt. The same happens
 * for the provider's own retry-later answers (`ProviderError.limit` says which limit; a
 * `Retry-After` is capped), and for a call the worker's own shutdown aborted (`CallAbortedError`).
 *
 * Crash safety. The task id is written to the job record right after the provider answers, before
 * anything else. A job that already has a task id is never submitted again: after a crash it goes
 * straight to polling. The window left is between the provider accepting and that one Redis write;
 * a job that restarts with `submitStartedAt` set but no task id is logged as a possible duplicate.
 */
import {
  type AcceptedTask,
  actionFor,
  BUDGET_EXCEEDED,
  bullJobId,
  CallAbortedError,
  isTaskEnded,
  isTerminal,
  type JobPayload,
  type JobRecord,
  jobPayloadSchema,
  jobTag,
  ProviderError,
  type SubmitResult,
  type TaskStatus,
} from '@genqueue/core';
import {
  type AccountFilter,
  type AccountPool,
  type AcquireResult,
  type Lease,
  NoMatchingAccountError,
} from '@genqueue/limiter';
import { ANY_ACCOUNT, type SubmissionOutcome } from '@genqueue/metrics';
import { type Job, UnrecoverableError } from 'bullmq';
import { leaseOfRecord, providerOf, type WorkerContext } from './context.ts';
import { pollDelay } from './poll-processor.ts';
import { cappedRetryAfter } from './retry-after.ts';
import { failJob, finishTask, scheduleSink } from './task-end.ts';

/** Pauses the provider's whole submit queue; returns the error BullMQ expects to requeue the job. */
export type RateLimitFn = (ms: number) => Promise<Error>;

/** Default waits when the provider says "later" without a Retry-After. */
const RETRY_LATER_DEFAULT_MS = 1_000;
/** While paused, how often a worker re-checks the gate (the gate itself spaces the probes). */
const PAUSED_RECHECK_MS = 1_000;
/**
 * At capacity, how often a worker re-checks the gate for a freed slot. The gate suggests up to
 * 250 ms, but every millisecond between the poller freeing a slot and the next submission is an
 * idle slot: at 250 ms a freed slot waited ~125 ms on average (`npm run bench`, scenario 2). A
 * re-check costs each worker process a few Redis calls, so not much shorter than this.
 */
const IN_FLIGHT_RECHECK_MS = 100;
/**
 * How long a submission waits in the processor for a QPS turn or a freed slot before it goes back
 * to the queue. Each waiting job holds one of the submit worker's concurrency; the worker's
 * `close()` ends the waits at once.
 */
const GATE_WAIT_MS = 5_000;

/** What a submit job returns to BullMQ (shown in Bull Board): the provider's task id. */
export interface SubmitReturn {
  taskId: string;
}

export async function processSubmit(
  ctx: WorkerContext,
  job: Job<JobPayload>,
  rateLimit: RateLimitFn,
  delayThisJob: RateLimitFn = rateLimit,
): Promise<SubmitReturn | undefined> {
  const { jobId, run = 0 } = jobPayloadSchema.parse(job.data);
  const record = await ctx.store.getJob(jobId);
  if (!record) {
    ctx.logger.warn({ jobId }, 'submit: job record is gone; nothing to do');
    return;
  }
  if (isTerminal(record.state)) return; // canceled while it waited
  if (record.run !== run) return; // a BullMQ job of an earlier run of a retried job
  if (record.budgetSpent && !record.providerTaskId) return cancelOverBudget(ctx, job, jobId);
  const { provider, pool, descriptor } = providerOf(ctx, record.provider);
  const log = ctx.logger.child({ jobId, provider: provider.name, operation: record.operation });

  if (record.state === 'storing') {
    // A synchronous answer was saved before a crash: its outputs are in the record.
    await scheduleSink(ctx, record);
    return { taskId: record.providerTaskId ?? '' };
  }
  if (record.providerTaskId) {
    // Submitted before a crash: the task is in flight at the provider whatever we do now.
    await pool.refresh(leaseOfRecord(pool, record));
    if (record.state === 'submitting') {
      const submittedAt = record.submittedAt ?? ctx.clock.now();
      await acceptTask(ctx, record, { providerTaskId: record.providerTaskId, submittedAt });
    }
    await handOverToPolling(ctx, record);
    await job.log(`task ${record.providerTaskId} was submitted before a restart; polling it`);
    return { taskId: record.providerTaskId };
  }

  const spec = provider.operations[record.operation];
  const parsed = spec?.schema.safeParse(record.input);
  if (!spec || !parsed?.success) {
    const message = spec
      ? `invalid input: ${parsed?.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`
      : `unknown operation ${record.operation}`;
    await failJob(ctx, jobId, { code: 'invalid_request', message });
    await job.log(`failed: ${message}`);
    throw new UnrecoverableError(message);
  }

  // A pinned or tag-restricted job may only use its accounts; it must never hold back the queue's
  // other jobs, which another account may take now.
  const filter = {
    ...(record.accountPin ? { account: record.accountPin } : {}),
    ...(record.accountTags?.length ? { tags: record.accountTags } : {}),
  };
  const restricted = filter.account !== undefined || filter.tags !== undefined;

  // Input files are uploaded before the grant, so a slow upload holds neither a slot nor a QPS
  // turn: by an account the job may use, live, with the most free slots (the gate's own first
  // choice, so usually the one that submits it). LiblibAI's uploads are public OSS URLs (the
  // upload document: inputs must be public URLs), so another account may submit the job.
  let input = record.preparedInput ?? parsed.data;
  let prepared = !(descriptor.capabilities.needsUpload && provider.prepare) || !!record.preparedInput;
  const prepare = async (account: string, granted?: { lease: Lease; probe: boolean }) => {
    const { provider: uploader } = providerOf(ctx, record.provider, account);
    try {
      input = await uploader.prepare!(record.operation, parsed.data, { jobId, signal: ctx.shutdownSignal });
    } catch (error) {
      if (granted) await pool.release(granted.lease);
      throw await onSubmitError(ctx, job, record, error, rateLimit, {
        account,
        probe: granted?.probe ?? false,
      });
    }
    await ctx.store.savePreparedInput(jobId, input);
    prepared = true;
  };
  if (!prepared) {
    const uploader = await uploadAccount(pool, filter);
    // Every account it may use is paused: only a probe's grant says which one to try (below).
    if (uploader) await prepare(uploader);
  }

  // The QPS turn stays open until the request is known to have reached the provider, so the next
  // submission arrives a full window after this one however long this worker takes between the
  // grant and the send: a polled provider's quick answer ends it; a synchronous provider, whose
  // answer only comes with the images, ends it once the request is written (`requestSent`).
  const acquire = async () => {
    try {
      return await pool.tryAcquire(jobId, { holdTurn: true, ...filter });
    } catch (error) {
      if (!(error instanceof NoMatchingAccountError)) throw error;
      // The configuration changed since the API accepted the job: it can never run here.
      await failJob(ctx, jobId, { code: 'invalid_request', message: error.message });
      throw new UnrecoverableError(error.message);
    }
  };
  let gate = await acquire();
  // At capacity, wait here for a worker process to say it freed a slot, re-checking the gate at
  // its suggested interval meanwhile: a freed slot is taken within a Redis round trip rather than
  // at the next re-check of a rate-limited queue.
  // Refused for QPS, wait here for the time the gate asks, then ask again: the turn is taken one
  // Redis round trip after it frees up. Through the rate-limited queue, BullMQ's limiter (set a
  // round trip after the gate's answer), a fetch of the job and a read of its record came first,
  // for every refused job of every process at the same instant: ~17 ms per turn with three worker
  // processes on loopback (`npm run bench`, scenario 1), ~60 ms with a 10 ms round trip to Redis.
  // (A budget of wait time rather than a deadline: an early wake-up only shortens the total.)
  // Only one submission per process and provider waits so (`SlotSignal.claim`); the others go back
  // to the queue, where priorities keep batches interleaved.
  const signal = ctx.slotSignal;
  const waits = (g: AcquireResult): g is Extract<AcquireResult, { granted: false }> =>
    !g.granted && g.reason !== 'paused';
  if (waits(gate) && signal?.claim(provider.name)) {
    try {
      let waitLeft = GATE_WAIT_MS;
      while (waits(gate) && waitLeft > 0) {
        const ms = Math.max(1, Math.min(gate.retryInMs, waitLeft));
        waitLeft -= ms;
        await signal.wait(provider.name, ms);
        gate = await acquire();
      }
    } finally {
      signal.unclaim(provider.name);
    }
  }
  if (!gate.granted) {
    if (!restricted) await ctx.pauseWatch?.refused(provider.name, pool, gate.reason);
    // metrics: the gate's pacing (not a provider refusal)
    if (gate.reason !== 'paused') {
      ctx.metrics?.submission(
        provider.name,
        filter.account ?? ANY_ACCOUNT,
        gate.reason === 'qps' ? 'rate_limited' : 'concurrency_limited',
        'gate',
      );
    }
    const recheck = { paused: PAUSED_RECHECK_MS, in_flight: IN_FLIGHT_RECHECK_MS, qps: Infinity }[
      gate.reason
    ];
    const wait = Math.min(gate.retryInMs, recheck);
    throw await (restricted ? delayThisJob(wait) : rateLimit(wait));
  }
  const { lease } = gate;
  ctx.pauseWatch?.granted(provider.name);
  // A probe of an account while every other was paused: it uploads the job's files itself.
  if (!prepared) await prepare(lease.account, { lease, probe: gate.probe });

  if (record.submitStartedAt) {
    log.warn(
      { submitStartedAt: record.submitStartedAt },
      'submit: an earlier submission started but saved no task id; submitting again may duplicate it',
    );
  }
  const started = await ctx.store.startSubmit(jobId, {
    submitStartedAt: ctx.clock.now(),
    attempts: record.attempts + 1,
  });
  if (!started.ok) {
    await pool.release(lease);
    // The budget was spent while this submission waited for its turn or a slot.
    if (started.reason === 'budget_spent') return cancelOverBudget(ctx, job, jobId);
    return; // canceled in the meantime
  }
  // The fair share's virtual time follows what is being submitted (`fair-share.ts`).
  await ctx.lifecycle.fairShare?.served(record.provider, job.opts.priority).catch(() => undefined);

  let result: SubmitResult;
  const submitStarted = performance.now(); // metrics
  try {
    // The granted account's adapter: its key submits, so its key alone can poll and cancel the task.
    result = await providerOf(ctx, record.provider, lease.account).provider.submit(record.operation, input, {
      jobId,
      signal: ctx.shutdownSignal,
      requestSent: async () => {
        await pool.endTurn(lease, { sending: true });
      },
    });
    ctx.metrics?.providerRequest(provider.name, lease.account, 'submit', performance.now() - submitStarted);
    ctx.metrics?.submission(provider.name, lease.account, 'accepted', 'provider');
  } catch (error) {
    ctx.metrics?.providerRequest(provider.name, lease.account, 'submit', performance.now() - submitStarted);
    ctx.metrics?.submission(provider.name, lease.account, submissionOutcome(error), 'provider');
    await pool.release(lease);
    throw await onSubmitError(ctx, job, record, error, rateLimit, {
      account: lease.account,
      probe: gate.probe,
    });
  }

  // Save the task id first: from here on the job is never submitted again. The turn ends in the
  // same round trip (which also holds the lease for the full lease TTL: a task exists now). A
  // synchronous answer carries the outputs: the task id and the outputs are saved in one step, so
  // a crash cannot lose a paid result that exists only in memory.
  const submittedAt = ctx.clock.now();
  const accepted = {
    providerTaskId: result.taskId,
    submittedAt,
    account: lease.account,
    leaseToken: lease.token,
  };
  // A synchronous provider's answer is the task's end: it is never polled. A polled one may also
  // answer with the task ended (003's proxy holding the request, an OpenAI-style answer).
  const ended: TaskStatus | undefined =
    result.status && isTaskEnded(result.status)
      ? result.status
      : descriptor.capabilities.synchronous
        ? {
            state: 'failed',
            providerStatus: 'no_result',
            error: {
              code: 'no_result',
              message: `${provider.name} is synchronous but its answer carried no ended task`,
            },
          }
        : undefined;
  await Promise.all([
    ended ? finishTask(ctx, record, ended, accepted) : acceptTask(ctx, record, accepted),
    pool.endTurn(lease),
    pool.recordSubmitted(lease.account),
  ]);
  if (gate.probe) {
    await pool.resume(lease.account);
    log.info({ account: lease.account }, 'submit: probe succeeded; account resumed');
  }
  log.debug({ taskId: result.taskId, account: lease.account }, 'job:submitted');
  // Bull Board's story of the job; written after the send, so it costs the QPS turn nothing.
  const limit = pool.accounts.find((a) => a.id === lease.account)?.maxInFlight;
  await job.log(
    `granted slot ${gate.inFlight}${limit ? `/${limit}` : ''} of account ${lease.account}${gate.probe ? ' (probe)' : ''}`,
  );
  await job.log(`submitted task ${result.taskId} (attempt ${record.attempts + 1})`);

  if (ended) {
    await job.log(`task ended at once: ${ended.state}`);
    return { taskId: result.taskId };
  }
  await handOverToPolling(ctx, { ...record, ...accepted });
  return { taskId: result.taskId };
}

/**
 * Cancels a job whose batch has spent its budget: the batch's cancel is in the outbox, but never
 * spend past it meanwhile.
 */
async function cancelOverBudget(ctx: WorkerContext, job: Job<JobPayload>, jobId: string): Promise<undefined> {
  await ctx.lifecycle.settle(await ctx.store.cancel(jobId, BUDGET_EXCEEDED));
  await job.log('canceled: the batch reached its maxPoints budget');
  return undefined;
}

/** Saves the task id and moves the job to `running`, in one step. */
async function acceptTask(ctx: WorkerContext, record: JobRecord, accepted: AcceptedTask): Promise<void> {
  const moved = await ctx.store.taskAccepted(record.id, accepted);
  // A job canceled while it was being submitted still has a task at the provider: the poller
  // follows it to its end to free the slot (and cancels it where the provider can).
  if (!moved.ok && moved.reason === 'refused' && moved.current === 'canceled') {
    await ctx.store.keepLateTaskId(record.id, accepted);
  } else if (!moved.ok) {
    ctx.logger.warn({ jobId: record.id, moved }, 'submit: unexpected state after submission');
  }
}

/** Schedules the first status query of an accepted task (a no-op when it exists: same BullMQ id). */
async function handOverToPolling(ctx: WorkerContext, record: JobRecord): Promise<void> {
  const tag = jobTag(record);
  await ctx.queues.poll.add(tag.name, tag.data, {
    jobId: bullJobId(record.id, record.run),
    delay: await pollDelay(ctx, record),
  });
}

/**
 * The account that uploads a job's input files before its grant: of those the job may use, one
 * that is not paused, with the most free slots (ties: configuration order). Undefined when every
 * one is paused, or none matches (the gate then fails the job).
 */
async function uploadAccount(pool: AccountPool, filter: AccountFilter): Promise<string | undefined> {
  let allowed: Set<string>;
  try {
    allowed = new Set(pool.candidates(filter).map((a) => a.id));
  } catch (error) {
    if (error instanceof NoMatchingAccountError) return undefined;
    throw error;
  }
  const live = (await pool.accountStates()).filter((s) => allowed.has(s.id) && !s.pause.paused);
  const free = (s: (typeof live)[number]) => s.maxInFlight - s.inFlight;
  return live.reduce<(typeof live)[number] | undefined>(
    (best, s) => (!best || free(s) > free(best) ? s : best),
    undefined,
  )?.id;
}

/** metrics: how a refused submission counts, by the limit the provider said was hit. */
function submissionOutcome(error: unknown): Exclude<SubmissionOutcome, 'accepted'> {
  if (error instanceof CallAbortedError) return 'aborted';
  if (!(error instanceof ProviderError) || error.errorClass !== 'retry_later') return 'failed';
  return error.limit === 'in_flight' ? 'concurrency_limited' : 'rate_limited';
}

/** Classifies a failed submission and returns the error to throw to BullMQ. */
async function onSubmitError(
  ctx: WorkerContext,
  job: Job<JobPayload>,
  record: JobRecord,
  error: unknown,
  rateLimit: RateLimitFn,
  /** The account whose call failed, and whether that call was its probe. */
  grant?: { account: string; probe: boolean },
): Promise<Error> {
  const log = ctx.logger.child({ jobId: record.id, provider: record.provider });
  if (error instanceof CallAbortedError) {
    // Our own shutdown, not the provider's answer: the job goes back to waiting for the next
    // worker without using an attempt. A submission that may have left keeps `submitStartedAt`,
    // so the next try is logged as a possible duplicate.
    await ctx.store.deferSubmit(record.id);
    log.info({ ambiguous: error.ambiguous }, 'submit: call aborted by shutdown; job back to waiting');
    return rateLimit(1);
  }
  const providerError =
    error instanceof ProviderError
      ? error
      : new ProviderError({
          provider: record.provider,
          errorClass: 'transient',
          message: error instanceof Error ? error.message : String(error),
          cause: error,
        });
  switch (actionFor(providerError.errorClass)) {
    case 'delay': {
      await ctx.store.deferSubmit(record.id);
      const wait =
        cappedRetryAfter(ctx, providerError.retryAfterMs, log.child({ code: providerError.code })) ??
        RETRY_LATER_DEFAULT_MS;
      await job.log(
        `provider says later (${providerError.code ?? providerError.status}); waiting ${wait} ms`,
      );
      log.info(
        { code: providerError.code, status: providerError.status, limit: providerError.limit, wait },
        'submit: provider says later',
      );
      return rateLimit(wait);
    }
    case 'pause_provider': {
      const { pool } = providerOf(ctx, record.provider);
      const account = grant?.account ?? pool.accounts[0]!.id;
      await pool.pause(
        account,
        `${providerError.code ?? providerError.status ?? 'account'}: ${providerError.message}`,
        { probeFailed: grant?.probe ?? false },
      );
      await ctx.store.deferSubmit(record.id);
      log.error(
        { code: providerError.code, status: providerError.status, account, probe: grant?.probe ?? false },
        `submit: account error, submissions to ${record.provider} account ${account} paused until a probe succeeds: ${providerError.message}`,
      );
      // Back to the queue at once: the gate now skips the paused account, so another account may
      // take the job right away; when none can, the gate's own answer sets the wait.
      return rateLimit(1);
    }
    case 'fail': {
      await failJob(ctx, record.id, providerError.toJobError());
      await job.log(`failed: ${providerError.code ?? ''} ${providerError.message}`);
      log.info({ code: providerError.code }, `job:failed ${providerError.message}`);
      return new UnrecoverableError(providerError.message);
    }
    case 'retry': {
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 >= attempts) {
        await failJob(ctx, record.id, providerError.toJobError());
        log.warn(
          { code: providerError.code, attempts },
          `job:failed after ${attempts} attempts: ${providerError.message}`,
        );
        return new UnrecoverableError(providerError.message);
      }
      await ctx.store.deferSubmit(record.id);
      await job.log(`transient error, will retry: ${providerError.message}`);
      log.warn(
        { code: providerError.code, status: providerError.status, ambiguous: providerError.ambiguous },
        'submit: transient error, will retry',
      );
      return providerError;
    }
  }
}
