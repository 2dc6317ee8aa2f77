/**
 * The webhook step: one BullMQ job per delivery (event × URL), written into the job store's outbox
 * by the transition that ended its job or batch, and added by `JobLifecycle` with the delivery id
 * as its job id. Each run is one signed Standard Webhooks attempt; failures
 * are retried by BullMQ on `WEBHOOK_RETRY_SCHEDULE_MS` through {@link webhookBackoffStrategy}, so a
 * crashed worker's delivery resumes where it was, with the same `webhook-id`.
 *
 * Outcomes of an attempt, each recorded with `store.recordWebhook` (the job or batch view shows them):
 * - 2xx: delivered (`deliveredAt`). A delivery already marked delivered is never sent again, so a
 *   re-run after a crash cannot deliver a second time once the success was recorded.
 * - 410 Gone: the receiver asked us to stop. No more attempts for this delivery, and the URL is
 *   remembered as gone for a week: later deliveries to it are skipped and recorded as such.
 * - refused by the SSRF guard (private address at connect time, bad URL): given up at once, since
 *   retrying cannot change the answer.
 * - anything else (non-2xx, redirect, timeout, network error): retried after the schedule's next
 *   delay with jitter, never sooner than the receiver's `Retry-After`; given up when the schedule
 *   is used up.
 *
 * The event's `data` is built at attempt time, so a retried delivery carries the current view (and
 * fresh presigned output URLs, valid `S3_PRESIGN_TTL_SECONDS` from the attempt).
 */
import { createHash } from 'node:crypto';
import {
  type BatchView,
  type JobView,
  toBatchView,
  toJobView,
  type WebhookDeliveryRecord,
  type WebhookPayload,
  webhookPayloadSchema,
} from '@genqueue/core';
import { deliverWebhook, webhookRetryDelay } from '@genqueue/webhooks';
import { type BackoffStrategy, type Job, UnrecoverableError } from 'bullmq';
import type { Dispatcher } from 'undici';
import type { WorkerContext } from './context.ts';

/** Deliveries in flight per worker process. They mostly wait on receivers, so this can be high. */
export const WEBHOOK_CONCURRENCY = 20;

/** How long a URL that answered 410 Gone is skipped, in seconds (a week). */
export const GONE_URL_TTL_SECONDS = 7 * 86_400;

/**
 * Longest `Retry-After` honoured, in milliseconds (a day). A receiver may slow us down, but not
 * park a delivery in the queue for months.
 */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/** What a run of {@link processWebhook} did, stored as the BullMQ job's return value. */
export type WebhookRunResult = 'delivered' | 'already_delivered';

/**
 * A failed attempt that BullMQ should retry. Carries the receiver's `Retry-After` to
 * {@link webhookBackoffStrategy}, which BullMQ calls with the error the processor threw.
 */
export class WebhookAttemptError extends Error {
  override readonly name = 'WebhookAttemptError';
  constructor(
    message: string,
    /** The receiver's `Retry-After`, in milliseconds, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Parts of the webhook step that are not in the worker context. */
export interface WebhookProcessorDeps {
  /** The SSRF-guarded dispatcher (`createGuardedDispatcher`); it follows no redirects. */
  dispatcher: Dispatcher;
}

/**
 * BullMQ's custom backoff (`settings.backoffStrategy` of the webhook Worker; the jobs carry
 * `backoff: { type: 'webhook' }`): the next delay of the Standard Webhooks schedule with ±20%
 * jitter, at least the receiver's `Retry-After` (capped at {@link MAX_RETRY_AFTER_MS}), or -1 (no
 * more retries) when the schedule is used up.
 *
 * @param scheduleMs `WEBHOOK_RETRY_SCHEDULE_MS`: `scheduleMs[i]` is the delay before attempt `i + 1`.
 * @param random injectable randomness in [0, 1), for the jitter.
 */
export function webhookBackoffStrategy(
  scheduleMs: readonly number[],
  random: () => number = Math.random,
): BackoffStrategy {
  return (attemptsMade, type, error) => {
    if (type !== 'webhook') return -1;
    const retryAfterMs = error instanceof WebhookAttemptError ? error.retryAfterMs : undefined;
    return webhookRetryDelay(
      attemptsMade,
      scheduleMs,
      retryAfterMs === undefined ? undefined : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS),
      random,
    );
  };
}

/** The job store's name for `url` among gone receivers. Hashed: webhook URLs often carry tokens. */
export function goneUrlKey(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/**
 * Makes one delivery attempt of a `webhook` queue job and records it.
 *
 * @returns how the run ended when the delivery is done.
 * @throws {WebhookAttemptError} when the attempt failed and BullMQ should retry (it is recorded
 *   with `gaveUpAt` already when this was the last attempt).
 * @throws {UnrecoverableError} when the delivery is given up at once (410, SSRF refusal, gone URL,
 *   owner record expired).
 */
export async function processWebhook(
  ctx: WorkerContext,
  job: Job<WebhookPayload>,
  deps: WebhookProcessorDeps,
): Promise<WebhookRunResult> {
  const payload = webhookPayloadSchema.parse(job.data);
  const { deliveryId, owner, type, url } = payload;
  const previous = await ctx.store.getWebhook(owner.id, deliveryId);
  if (previous?.deliveredAt !== undefined) return 'already_delivered';
  const attemptsBefore = previous?.attempts ?? 0;
  const log = ctx.logger.child({ deliveryId, type, owner: owner.id });
  const record = (fields: Omit<WebhookDeliveryRecord, 'id' | 'type' | 'url'>) =>
    ctx.store.recordWebhook(owner.id, { id: deliveryId, type, url, ...fields });
  const giveUp = async (message: string, fields: Partial<WebhookDeliveryRecord> = {}): Promise<never> => {
    await record({ attempts: attemptsBefore, lastError: message, ...fields, gaveUpAt: ctx.clock.now() });
    log.warn({ err: message }, 'webhook:gave-up');
    throw new UnrecoverableError(message);
  };

  const goneKey = goneUrlKey(url);
  const goneSince = await ctx.store.webhookUrlGoneSince(goneKey);
  if (goneSince !== undefined) {
    return giveUp(
      `skipped: this URL answered 410 Gone at ${new Date(goneSince).toISOString()}; ` +
        'deliveries to it stop for a week',
    );
  }

  const secret = ctx.config.webhooks.secret;
  if (!secret) {
    // Never send unsigned: wait (on the retry schedule) for a worker that has the secret.
    const message = 'not sent: WEBHOOK_SECRET is not configured on this worker';
    const last = isLastAttempt(job, ctx.config.webhooks.retryScheduleMs);
    await record({
      attempts: attemptsBefore,
      lastError: message,
      ...(last ? { gaveUpAt: ctx.clock.now() } : {}),
    });
    throw new WebhookAttemptError(message);
  }

  const data = await eventData(ctx, owner);
  if (!data) return giveUp(`not sent: the ${owner.kind} record no longer exists`);

  const result = await deliverWebhook({
    url,
    secret,
    id: deliveryId,
    type,
    timestamp: new Date(eventTime(deliveryId) ?? job.timestamp),
    payload: data,
    timeoutMs: ctx.config.webhooks.timeoutMs,
    dispatcher: deps.dispatcher,
    now: ctx.clock.now,
    signal: ctx.shutdownSignal,
  });
  const attempts = attemptsBefore + 1;
  const at = ctx.clock.now();
  // metrics: this attempt's outcome (refused by the SSRF guard, or the last attempt, is a failure)
  ctx.metrics?.webhookDelivered(
    result.ok
      ? 'delivered'
      : result.gone
        ? 'gone'
        : (result.error ?? '').startsWith('refused:') ||
            isLastAttempt(job, ctx.config.webhooks.retryScheduleMs)
          ? 'failed'
          : 'retry',
  );
  const outcome = { attempts, ...(result.status === undefined ? {} : { lastStatus: result.status }) };

  if (result.ok) {
    await record({ ...outcome, deliveredAt: at });
    log.info({ status: result.status, attempts, ms: result.durationMs }, 'webhook:delivered');
    return 'delivered';
  }
  const error = result.error ?? `HTTP ${result.status}`;
  if (result.gone) {
    await ctx.store.markWebhookUrlGone(goneKey, at, GONE_URL_TTL_SECONDS);
    return giveUp('the receiver answered 410 Gone: no more deliveries to this URL', outcome);
  }
  if (error.startsWith('refused:')) return giveUp(error, outcome);

  const last = isLastAttempt(job, ctx.config.webhooks.retryScheduleMs);
  await record({ ...outcome, lastError: error, ...(last ? { gaveUpAt: at } : {}) });
  log[last ? 'warn' : 'info'](
    { err: error, status: result.status, attempts, retryAfterMs: result.retryAfterMs },
    last ? 'webhook:gave-up' : 'webhook:retrying',
  );
  throw new WebhookAttemptError(error, result.retryAfterMs);
}

/** Whether BullMQ will not run this job again after a failure of the current attempt. */
function isLastAttempt(job: Job, scheduleMs: readonly number[]): boolean {
  const made = job.attemptsMade + 1;
  return made >= (job.opts.attempts ?? 1) || webhookRetryDelay(made, scheduleMs, undefined, () => 0.5) < 0;
}

/** The event's `data`: the owner's view now, without its delivery log (the receiver is reading it). */
async function eventData(
  ctx: WorkerContext,
  owner: WebhookPayload['owner'],
): Promise<JobView | BatchView | undefined> {
  if (owner.kind === 'job') {
    const job = await ctx.store.getJob(owner.id);
    return job && (await toJobView(job, { objectUrl: (bucket, key) => ctx.sink.objectUrl(bucket, key) }));
  }
  const batch = await ctx.store.getBatch(owner.id);
  return batch && toBatchView(batch, { now: ctx.clock.now() });
}

/**
 * When the event happened: the `finishedAt` the lifecycle put at the end of the delivery id
 * (`job.succeeded.<jobId>.<finishedAt>`), so every attempt carries the same body `timestamp`.
 */
function eventTime(deliveryId: string): number | undefined {
  const ms = Number(deliveryId.slice(deliveryId.lastIndexOf('.') + 1));
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}
