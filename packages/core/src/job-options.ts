/** Each queue's default BullMQ job options (the queues themselves are named in @genqueue/model). */
import type { JobsOptions } from 'bullmq';

/** Finished BullMQ jobs are dropped quickly: the job store keeps the record users see. */
const removeFinished = {
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
} satisfies JobsOptions;

export const JOB_OPTIONS = {
  /** Attempts are spent only by transient errors; retry-later answers never use one. */
  submit: (attempts: number, backoffMs: number): JobsOptions => ({
    ...removeFinished,
    attempts,
    backoff: { type: 'exponential', delay: backoffMs, jitter: 0.5 },
  }),
  /** Poll jobs re-delay themselves while a task runs; attempts only count unexpected errors. */
  poll: { ...removeFinished, attempts: 50, backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 } },
  sink: (attempts: number): JobsOptions => ({
    ...removeFinished,
    attempts,
    backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
  }),
  /**
   * Webhook jobs stay a week after completion: their ids are the delivery ids, so a second add of
   * the same event (after a crash) is refused by BullMQ instead of delivering twice.
   */
  webhook: (attempts: number): JobsOptions => ({
    removeOnComplete: { age: 7 * 86_400 },
    removeOnFail: { age: 7 * 86_400 },
    attempts,
    backoff: { type: 'webhook' },
  }),
} as const;
