/**
 * Draining the job store's outbox, canceling and retrying jobs and batches: the operations the API
 * and the worker share, so a job canceled through the API and a job failed by the worker both send
 * their webhooks and complete their batch the same way.
 *
 * Every transition writes what it owes (webhook deliveries, submit-queue entries, a budget cancel)
 * into the store's outbox in the same atomic step; `settle` drains what one transition wrote at
 * once, and `sweepOutbox` (run by every worker) drains what a crashed process left. Draining is
 * idempotent: a delivery's BullMQ job id is its delivery id (derived from the job or batch id, the
 * event and its `finishedAt`), a submit entry's is the job's run id, and a cancel skips what is
 * already terminal. So each terminal event is announced exactly once, whatever dies when.
 */

import type { JobError, Logger } from '@genqueue/model';
import { isTerminal, type JobState, jobTag } from '@genqueue/model';
import { batchItemPriority } from './batch-intake.ts';
import type { FairShare } from './fair-share.ts';
import {
  bullJobId,
  type JobStore,
  type OutboxEntry,
  type OutboxItem,
  type TransitionResult,
} from './job-store.ts';
import type { QueueSet } from './queues.ts';

export interface JobLifecycleOptions {
  store: JobStore;
  queues: QueueSet;
  logger: Logger;
  /**
   * Assigns submit priorities by tenant share (`fair-share.ts`). Without it, priorities are
   * per batch only (item i has priority i + 1; single and retried jobs none), as with a single
   * tenant.
   */
  fairShare?: FairShare;
}

/** How many batch items are read (or enqueued) per round trip when a batch is canceled, retried or enqueued. */
const BATCH_CHUNK = 500;

/** How many due outbox entries one sweep drains. */
const SWEEP_LIMIT = 200;

export class JobLifecycle {
  private readonly store: JobStore;
  private readonly queues: QueueSet;
  private readonly logger: Logger;
  /** The fair-share priorities, when the process has them (see {@link JobLifecycleOptions}). */
  readonly fairShare?: FairShare;

  constructor(options: JobLifecycleOptions) {
    this.store = options.store;
    this.queues = options.queues;
    this.logger = options.logger;
    this.fairShare = options.fairShare;
  }

  /**
   * Drains what a transition wrote into the outbox. A failure is logged, not thrown: the entry
   * stays in the outbox and a sweep drains it.
   */
  async settle<T extends TransitionResult>(result: T): Promise<T> {
    if (result.ok && result.outbox.length) await this.drain(result.outbox);
    return result;
  }

  /** Carries out outbox entries and removes each one done. Returns how many were done. */
  async drain(items: readonly OutboxItem[]): Promise<number> {
    let done = 0;
    // submit entries of one provider go in one addBulk (a retried batch holds many)
    const submits = new Map<string, OutboxItem[]>();
    for (const item of items) {
      const { entry } = item;
      if (entry.kind === 'submit') {
        const list = submits.get(entry.provider) ?? [];
        list.push(item);
        submits.set(entry.provider, list);
        continue;
      }
      if (await this.attempt([item], () => this.execute(entry))) done++;
    }
    for (const [provider, list] of submits) {
      const enqueue = async () => {
        const jobs = [];
        for (const { entry } of list) {
          const submit = entry as Extract<OutboxEntry, { kind: 'submit' }>;
          // A job posted alone or retried (a batch item too): its tenant's next single priority.
          const priority = await this.fairShare?.single(provider, submit.tenant, submit.jobId);
          jobs.push({ jobId: submit.jobId, run: submit.run, priority, tag: submit.tag });
        }
        await this.queues.enqueueSubmit(provider, jobs);
      };
      if (await this.attempt(list, enqueue)) done += list.length;
    }
    return done;
  }

  /** Drains outbox entries whose writer did not (it crashed, or Redis failed it). */
  async sweepOutbox(): Promise<number> {
    const due = await this.store.claimDueOutbox(SWEEP_LIMIT);
    if (due.length === 0) return 0;
    const done = await this.drain(due);
    this.logger.info({ due: due.length, done }, 'outbox: drained entries left by an earlier process');
    return done;
  }

  private async attempt(items: readonly OutboxItem[], run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      await Promise.all(items.map((item) => this.store.outboxDone(item.member)));
      return true;
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, kind: items[0]?.entry.kind },
        'outbox: could not drain an entry now; a sweep will retry it',
      );
      return false;
    }
  }

  /** Carries out one entry; `drain` enqueues submit entries itself, a provider's in one addBulk. */
  private async execute(entry: Exclude<OutboxEntry, { kind: 'submit' }>): Promise<void> {
    switch (entry.kind) {
      case 'webhook': {
        const { payload } = entry;
        await this.queues.webhook.add(payload.type, payload, { jobId: payload.deliveryId });
        await this.store.recordWebhookAnnounced(payload.owner.id, {
          id: payload.deliveryId,
          type: payload.type,
          url: payload.url,
        });
        return;
      }
      case 'enqueueBatch': {
        const priorityOf = this.fairShare
          ? await this.fairShare.batch(entry.provider, entry.tenant, entry.batchId, entry.total)
          : batchItemPriority;
        for (let start = 0; start < entry.total; start += BATCH_CHUNK) {
          const end = Math.min(entry.total, start + BATCH_CHUNK);
          const ids = await this.store.activateBatchItems(entry.batchId, start, end);
          const jobs = await this.store.getJobs(ids);
          await this.queues.enqueueSubmit(
            entry.provider,
            ids.map((jobId, i) => ({
              jobId,
              priority: priorityOf(start + i),
              ...(jobs[i] ? { tag: jobTag(jobs[i]!) } : {}),
            })),
          );
        }
        return;
      }
      case 'cancelBatch':
        await this.cancelBatch(entry.batchId, entry.error);
        return;
    }
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
      const result = await this.settle(await this.store.cancel(jobId, reason));
      if (result.ok) {
        // An active BullMQ job can't be removed; its processor sees the canceled record and stops.
        await this.queues
          .submitQueue(job.provider)
          .remove(bullJobId(jobId, job.run))
          .catch(() => undefined);
        return 'canceled';
      }
    }
    await this.store.requestCancel(jobId, reason);
    const poll = await this.queues.poll.getJob(bullJobId(jobId, job.run));
    if (poll && (await poll.isDelayed())) await poll.promote().catch(() => undefined);
    return (await this.store.getJob(jobId))?.state;
  }

  /**
   * Cancels every unfinished job of a batch, except those already storing their results. Returns
   * how many were canceled or flagged. Canceling again cancels nothing twice.
   */
  async cancelBatch(batchId: string, reason: JobError): Promise<number> {
    const batch = await this.store.getBatch(batchId);
    if (!batch) return 0;
    await this.store.setBatchCanceledReason(batchId, reason.message);
    let touched = 0;
    for (let start = 0; start < batch.total; start += BATCH_CHUNK) {
      const jobs = await this.store.getJobs(await this.chunkIds(batchId, start, batch.total));
      for (const job of jobs) {
        // A storing job has succeeded at the provider and its points are spent: canceling it
        // would only throw its paid result away (the job that reached a budget is one of them).
        if (!job || isTerminal(job.state) || job.state === 'storing' || job.cancelRequested) continue;
        await this.cancel(job.id, reason);
        touched++;
      }
    }
    this.logger.info({ batchId, touched, reason: reason.code }, 'batch:canceled');
    return touched;
  }

  /**
   * Re-queues a batch's failed jobs, each as a new run whose submit entry is written in the same
   * step as its move to `queued`. Returns how many were re-queued.
   */
  async retryBatch(batchId: string): Promise<number> {
    const batch = await this.store.getBatch(batchId);
    if (!batch) return 0;
    const written: OutboxItem[] = [];
    for (let start = 0; start < batch.total; start += BATCH_CHUNK) {
      const jobs = await this.store.getJobs(await this.chunkIds(batchId, start, batch.total));
      for (const job of jobs) {
        if (job?.state !== 'failed') continue;
        const result = await this.store.retry(job);
        if (result.ok) written.push(...result.outbox);
      }
    }
    await this.drain(written);
    this.logger.info({ batchId, requeued: written.length }, 'batch:retried');
    return written.length;
  }

  private chunkIds(batchId: string, start: number, total: number): Promise<string[]> {
    return this.store.batchItemIds(batchId, start, Math.min(total, start + BATCH_CHUNK));
  }
}
