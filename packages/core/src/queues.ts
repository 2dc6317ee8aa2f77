/**
 * The BullMQ queues of one deployment, created from the catalog, and the one way to put a job
 * into the pipeline (`enqueueSubmit`), shared by the API's single-job, batch and retry routes.
 */

import {
  type JobPayload,
  type JobTag,
  QUEUE,
  type SinkPayload,
  submitQueueName,
  type WebhookPayload,
} from '@genqueue/model';
import { type ConnectionOptions, Queue } from 'bullmq';
import { JOB_OPTIONS } from './job-options.ts';
import { bullJobId } from './job-store.ts';

export interface QueueSetOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix (`QUEUE_PREFIX`). */
  prefix: string;
  /** Provider names; each gets its own submit queue. */
  providers: readonly string[];
  submitAttempts: number;
  transientBackoffMs: number;
  sinkAttempts: number;
  webhookAttempts: number;
}

/** Every queue of the deployment. */
/** The parts of the configuration (`@genqueue/config`) the queues are built from. */
export interface QueueConfig {
  queuePrefix: string;
  worker: { submitAttempts: number; transientBackoffMs: number };
  s3: { attempts: number };
  webhooks: { retryScheduleMs: readonly number[] };
}

export class QueueSet {
  readonly submit: ReadonlyMap<string, Queue<JobPayload>>;
  readonly poll: Queue<JobPayload>;
  readonly sink: Queue<SinkPayload>;
  readonly webhook: Queue<WebhookPayload>;

  constructor(options: QueueSetOptions) {
    const common = { connection: options.connection, prefix: options.prefix };
    this.submit = new Map(
      options.providers.map((name) => [
        name,
        new Queue<JobPayload>(submitQueueName(name), {
          ...common,
          defaultJobOptions: JOB_OPTIONS.submit(options.submitAttempts, options.transientBackoffMs),
        }),
      ]),
    );
    this.poll = new Queue<JobPayload>(QUEUE.poll, { ...common, defaultJobOptions: JOB_OPTIONS.poll });
    this.sink = new Queue<SinkPayload>(QUEUE.sink, {
      ...common,
      defaultJobOptions: JOB_OPTIONS.sink(options.sinkAttempts),
    });
    this.webhook = new Queue<WebhookPayload>(QUEUE.webhook, {
      ...common,
      defaultJobOptions: JOB_OPTIONS.webhook(options.webhookAttempts),
    });
  }

  /** The deployment's queues as its configuration sets them up (API and workers alike). */
  static fromConfig(
    config: QueueConfig,
    connection: ConnectionOptions,
    providers: readonly string[],
  ): QueueSet {
    return new QueueSet({
      connection,
      prefix: config.queuePrefix,
      providers,
      submitAttempts: config.worker.submitAttempts,
      transientBackoffMs: config.worker.transientBackoffMs,
      sinkAttempts: config.s3.attempts,
      webhookAttempts: config.webhooks.retryScheduleMs.length,
    });
  }

  /** All queues, for Bull Board and metrics. */
  all(): Queue[] {
    return [...this.submit.values(), this.poll, this.sink, this.webhook] as Queue[];
  }

  submitQueue(provider: string): Queue<JobPayload> {
    const queue = this.submit.get(provider);
    if (!queue) throw new Error(`no submit queue for provider ${provider}`);
    return queue;
  }

  /**
   * Adds jobs to their provider's submit queue. The BullMQ job id is the genqueue id of the job's
   * run (`bullJobId`), so adding twice is a no-op. `priority` implements fairness between batches
   * (see the batch routes); `tag` names the job in Bull Board (`jobTag`). Callers write the entry into the job store's outbox first and drain it
   * (`JobLifecycle.drain`), so a job never waits queued with no submit job.
   */
  async enqueueSubmit(
    provider: string,
    jobs: readonly { jobId: string; run?: number; priority?: number; tag?: JobTag }[],
  ): Promise<void> {
    if (jobs.length === 0) return;
    await this.submitQueue(provider).addBulk(
      jobs.map(({ jobId, run, priority, tag }) => ({
        name: tag?.name ?? 'submit',
        data: tag?.data ?? (run ? { jobId, run } : { jobId }),
        opts: { jobId: bullJobId(jobId, run), ...(priority ? { priority } : {}) },
      })),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((queue) => queue.close()));
  }
}
