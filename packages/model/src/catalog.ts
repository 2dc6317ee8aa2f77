/**
 * The job catalog (conventions §2): every queue's name and payload schema. The API validates before
 * it enqueues; processors parse what they dequeue. The queues' default BullMQ job options are
 * `JOB_OPTIONS` in @genqueue/core, beside the queues, so that this package never loads BullMQ.
 *
 * Queues:
 * - `submit-<provider>`: one per provider, so a paused or rate-limited account never holds up
 *   another provider's jobs. Jobs wait here until the provider's limiter grants a slot.
 * - `poll`: one job per task in flight; re-delays itself until the task ends.
 * - `sink`: streams a finished task's outputs into S3.
 * - `webhook`: one job per delivery (event × URL), retried on the Standard Webhooks schedule.
 *
 * Every BullMQ job id is derived from the genqueue id it carries (a job id and its run, or a
 * delivery id), so adding the same job twice is a no-op, and the job record in the job store is the
 * source of truth.
 */
import { z } from 'zod';

export const QUEUE = {
  poll: 'poll',
  sink: 'sink',
  webhook: 'webhook',
} as const;

/** The submit queue of a provider. */
export function submitQueueName(provider: string): string {
  return `submit-${provider}`;
}

/**
 * `submit-*`, `poll` and `sink` jobs are driven by the genqueue job id and its run (absent for the
 * first run) alone: a processor that finds the record in another run leaves it alone. The rest of
 * their data ({@link JobTag}) is there for people reading Bull Board. The sink reads the task's
 * outputs from the job record, so no provider URL or inline image sits in a BullMQ job.
 */
export const jobPayloadSchema = z.object({
  jobId: z.string().min(1),
  run: z.number().int().min(1).optional(),
});
export type JobPayload = z.infer<typeof jobPayloadSchema>;

/** Characters of the prompt shown in a BullMQ job's name and data. */
export const PROMPT_EXCERPT_CHARS = 24;

/** The first {@link PROMPT_EXCERPT_CHARS} characters of a job's prompt, on one line, `…` when cut. */
export function promptExcerpt(input: Record<string, unknown>): string {
  const prompt = typeof input.prompt === 'string' ? input.prompt.replace(/\s+/g, ' ').trim() : '';
  const chars = [...prompt];
  return chars.length > PROMPT_EXCERPT_CHARS
    ? `${chars.slice(0, PROMPT_EXCERPT_CHARS - 1).join('')}…`
    : prompt;
}

/** What the pipeline's BullMQ jobs show in Bull Board besides the job id. */
export interface JobTag {
  /** `kontext.text2img · a cat on a…` */
  name: string;
  data: JobPayload & { provider: string; batchId?: string; prompt?: string; account?: string };
}

/** The Bull Board name and data of a pipeline job. Only `jobId` is read by the processors. */
export function jobTag(job: {
  id: string;
  run?: number;
  provider: string;
  operation: string;
  input: Record<string, unknown>;
  batchId?: string;
  account?: string;
}): JobTag {
  const prompt = promptExcerpt(job.input);
  return {
    name: prompt ? `${job.operation} · ${prompt}` : job.operation,
    data: {
      jobId: job.id,
      ...(job.run ? { run: job.run } : {}),
      provider: job.provider,
      ...(job.batchId ? { batchId: job.batchId } : {}),
      ...(job.account ? { account: job.account } : {}),
      ...(prompt ? { prompt } : {}),
    },
  };
}

/** The sink's payload is a job payload like the others. */
export const sinkPayloadSchema = jobPayloadSchema;
export type SinkPayload = JobPayload;

export const webhookPayloadSchema = z.object({
  deliveryId: z.string().min(1),
  /** Whose view the event carries, and where its delivery attempts are recorded. */
  owner: z.object({ kind: z.enum(['job', 'batch']), id: z.string().min(1) }),
  type: z.enum(['job.succeeded', 'job.failed', 'job.canceled', 'batch.completed']),
  url: z.string().url(),
});
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;
