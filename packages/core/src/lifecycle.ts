/**
 * Ending, canceling and retrying jobs, and announcing what ended: the operations the API and the
 * worker share, so a job canceled through the API and a job failed by the worker both send their
 * webhooks and complete their batch the same way.
 *
 * Announcements are crash-safe and exactly-once: a delivery's id is derived from the job or batch
 * id, the event and the `finishedAt` it carries, and it is the BullMQ job id of the delivery, so
 * announcing again after a crash adds nothing. A retried job that ends again gets a new
 * `finishedAt`, hence a new delivery.
 */
import { type JobTag, jobTag, type WebhookPayload } from './catalog.ts';
import type { JobError } from './errors.ts';
import { batchItemId } from './ids.ts';
import { isTerminal, type JobState } from './job-state.ts';
import { isBatchDone, type JobFields, type JobStore, type TransitionResult } from './job-store.ts';
import type { Logger } from './logger.ts';
import type { QueueSet } from './queues.ts';

export interface JobLifecycleOptions {
  store: JobStore;
  queues: QueueSet;
  logger: Logger;
  now?: () => number;
}

/** How many batch items are read per round trip when a batch is canceled or retried. */
const BATCH_CHUNK = 500;

export class JobLifecycle {
  private readonly store: JobStore;
  private readonly queues: QueueSet;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(options: JobLifecycleOptions) {
    this.store = options.store;
    this.queues = options.queues;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
  }

  /**
   * Moves a job to a terminal state and announces it. When the job already is in that state (a
   * retry after a crash), it announces again; the delivery ids make that a no-op.
   */
  async end(
    jobId: string,
    state: 'succeeded' | 'failed' | 'canceled',
    fields: JobFields = {},
    options: { from?: readonly JobState[]; addPoints?: number } = {},
  ): Promise<TransitionResult> {
    const result = await this.store.transition(jobId, state, { finishedAt: this.now(), ...fields }, options);
    if (result.ok || (result.reason === 'refused' && result.current === state)) await this.announce(jobId);
    return result;
  }

  /** Enqueues the webhooks a terminal job owes: its own event, and its batch's completion. */
  async announce(jobId: string): Promise<void> {
    const job = await this.store.getJob(jobId);
    if (!job || !isTerminal(job.state)) return;
    const type = `job.${job.state}` as WebhookPayload['type'];
    if (job.webhookUrl && job.events.includes(type)) {
      await this.enqueueWebhook({
        deliveryId: `${type}.${job.id}.${job.finishedAt ?? 0}`,
        owner: { kind: 'job', id: job.id },
        type,
        url: job.webhookUrl,
      });
    }
    if (job.batchId) {
      const batch = await this.store.getBatch(job.batchId);
      if (batch?.webhookUrl && batch.finishedAt && isBatchDone(batch)) {
        await this.enqueueWebhook({
          deliveryId: `batch.completed.${batch.id}.${batch.finishedAt}`,
          owner: { kind: 'batch', id: batch.id },
          type: 'batch.completed',
          url: batch.webhookUrl,
        });
      }
    }
  }

  private async enqueueWebhook(payload: WebhookPayload): Promise<void> {
    await this.queues.webhook.add(payload.type, payload, { jobId: payload.deliveryId });
    await this.store.recordWebhook(payload.owner.id, {
      id: payload.deliveryId,
      type: payload.type,
      url: payload.url,
      attempts: 0,
      ...(await this.store.getWebhook(payload.owner.id, payload.deliveryId)),
    });
  }

  /**
   * Cancels a job. A queued job is canceled at once and leaves its submit queue. A running one is
   * flagged: the worker cancels it at the provider where it can, otherwise marks it canceled when
   * it ends. Returns the job's state after the call, or undefined when there is no such job.
   */
  async cancel(jobId: string, reason: JobError): Promise<JobState | undefined> {
    const job = await this.store.getJob(jobId);
    if (!job) return undefined;
    if (isTerminal(job.state)) return job.state;
    if (job.state === 'queued' || (job.state === 'submitting' && !job.providerTaskId)) {
      const result = await this.end(jobId, 'canceled', { error: reason }, { from: ['queued', 'submitting'] });
      if (result.ok) {
        // An active BullMQ job can't be removed; its processor sees the canceled record and stops.
        await this.queues
          .submitQueue(job.provider)
          .remove(jobId)
          .catch(() => undefined);
        return 'canceled';
      }
    }
    await this.store.update(jobId, { cancelRequested: true, error: reason });
    const poll = await this.queues.poll.getJob(jobId);
    if (poll && (await poll.isDelayed())) await poll.promote().catch(() => undefined);
    return (await this.store.getJob(jobId))?.state;
  }

  /**
   * Cancels every unfinished job of a batch, except those already storing their results. Returns
   * how many were canceled or flagged.
   */
  async cancelBatch(batchId: string, reason: JobError): Promise<number> {
    const batch = await this.store.getBatch(batchId);
    if (!batch) return 0;
    await this.store.setBatchCanceledReason(batchId, reason.message);
    let touched = 0;
    for (let start = 0; start < batch.total; start += BATCH_CHUNK) {
      const ids = Array.from({ length: Math.min(BATCH_CHUNK, batch.total - start) }, (_, i) =>
        batchItemId(batchId, start + i),
      );
      const jobs = await this.store.getJobs(ids);
      for (const job of jobs) {
        // A storing job has succeeded at the provider and its points are spent: canceling it
        // would only throw its paid result away (the job that reached a budget is one of them).
        if (!job || isTerminal(job.state) || job.state === 'storing') continue;
        await this.cancel(job.id, reason);
        touched++;
      }
    }
    this.logger.info({ batchId, touched, reason: reason.code }, 'batch:canceled');
    return touched;
  }

  /** Re-queues a batch's failed jobs. Returns how many were re-queued. */
  async retryBatch(
    batchId: string,
    priorityOf: (index: number) => number | undefined = () => undefined,
  ): Promise<number> {
    const batch = await this.store.getBatch(batchId);
    if (!batch) return 0;
    const requeued: { jobId: string; priority?: number; tag: JobTag }[] = [];
    for (let start = 0; start < batch.total; start += BATCH_CHUNK) {
      const ids = Array.from({ length: Math.min(BATCH_CHUNK, batch.total - start) }, (_, i) =>
        batchItemId(batchId, start + i),
      );
      const jobs = await this.store.getJobs(ids);
      for (const [offset, job] of jobs.entries()) {
        if (job?.state !== 'failed') continue;
        // Old BullMQ jobs with the same id would make the new add a no-op.
        await Promise.all([
          this.queues.submitQueue(job.provider).remove(job.id),
          this.queues.poll.remove(job.id),
          this.queues.sink.remove(job.id),
        ]);
        const result = await this.store.transition(job.id, 'queued', {}, { from: ['failed'] });
        if (!result.ok) continue;
        await this.store.redis.hdel(
          this.store.jobKey(job.id),
          'error',
          'providerTaskId',
          'providerStatus',
          'submitStartedAt',
          'submittedAt',
          'taskEndedAt',
          'finishedAt',
          'outputs',
        );
        requeued.push({ jobId: job.id, priority: priorityOf(start + offset), tag: jobTag(job) });
      }
    }
    await this.queues.enqueueSubmit(batch.provider, requeued);
    this.logger.info({ batchId, requeued: requeued.length }, 'batch:retried');
    return requeued.length;
  }
}
