/**
 * Job and batch records as the job store (@genqueue/core's `JobStore`, their only writer) keeps
 * them in Redis, and as every reader (views, the API, the worker) receives them.
 */
import type { JobError } from './errors.ts';
import type { JobState } from './job-state.ts';
import type { ProviderOutput } from './provider.ts';

/** One stored result file. */
export interface StoredOutput {
  bucket: string;
  key: string;
  contentType: string;
  bytes: number;
  sha256: string;
  seed?: number;
  /** A small WebP preview stored beside the result (not a provider output). */
  thumbnail?: { key: string };
  /** A video's cover image as the provider gave it (LiblibAI `coverPath`), stored beside the video. */
  cover?: { key: string; contentType: string; bytes: number };
}

/** A job as the store knows it. Times are epoch milliseconds. */
export interface JobRecord {
  id: string;
  state: JobState;
  /** Whose job it is: only this tenant's keys (and admin keys) see it. A batch item has its batch's. */
  tenant: string;
  provider: string;
  operation: string;
  /** The job's input, batch defaults merged in. */
  input: Record<string, unknown>;
  /** The input after the provider's `prepare` (uploaded images replaced by URLs), when it differs. */
  preparedInput?: Record<string, unknown>;
  webhookUrl?: string;
  /** Which events this job sends to `webhookUrl`. */
  events: string[];
  metadata?: Record<string, unknown>;
  batchId?: string;
  /**
   * How many times the job was retried (0 for a new job). Its BullMQ jobs carry it (`bullJobId`),
   * so a retried job never collides with the BullMQ jobs of its earlier run, even a locked one.
   */
  run: number;
  providerTaskId?: string;
  /** The provider account that submitted the task: it alone can poll and cancel it. */
  account?: string;
  /** The only account the job may go to (private models, LoRAs); checked at arrival. */
  accountPin?: string;
  /** Tags every account the job goes to must have. */
  accountTags?: string[];
  /** Token of the task's slot lease in the account pool: only its holder releases or refreshes it. */
  leaseToken?: string;
  providerStatus?: string;
  /** Submission attempts that reached the provider or failed transiently. */
  attempts: number;
  /**
   * The ended task's outputs (provider URLs or inline `data:` URLs) while the job is `storing`:
   * durable from the moment the task is known to have ended, removed when the job is terminal.
   */
  taskOutputs?: ProviderOutput[];
  outputs: StoredOutput[];
  pointsCost?: number;
  /** The provider account's balance as the task's last status answer reported it (LiblibAI `accountBalance`). */
  accountBalance?: number;
  error?: JobError;
  createdAt: number;
  /** When the last submission request started; set before the request leaves. */
  submitStartedAt?: number;
  submittedAt?: number;
  /** When the provider reported the task ended. */
  taskEndedAt?: number;
  finishedAt?: number;
  /** A cancel was asked for while the task was running at a provider that can't cancel. */
  cancelRequested: boolean;
  /** The job's batch has spent its `maxPoints`: the job must not be submitted. */
  budgetSpent: boolean;
  /**
   * Every change of state after creation, oldest first, with its time (ms since the epoch), as the
   * transitions wrote it; the oldest are dropped past about 40.
   */
  history: StateChange[];
}

/** One entry of {@link JobRecord.history}. */
export interface StateChange {
  state: JobState;
  at: number;
}

/** A batch as the store knows it. */
export interface BatchRecord {
  id: string;
  /** Whose batch it is. */
  tenant: string;
  provider: string;
  operation: string;
  defaults: Record<string, unknown>;
  total: number;
  counts: Record<JobState, number>;
  pointsCost: number;
  /** The provider account's balance as the latest ended task of the batch reported it. */
  accountBalance?: number;
  maxPoints?: number;
  webhookUrl?: string;
  /** Per-job events the batch asked for (`job.succeeded`, `job.failed`). `batch.completed` is always sent when a webhook URL is set. */
  events: string[];
  metadata?: Record<string, unknown>;
  createdAt: number;
  finishedAt?: number;
  canceledReason?: string;
}

/** A webhook delivery as shown in job and batch views. */
export interface WebhookDeliveryRecord {
  id: string;
  type: string;
  url: string;
  attempts: number;
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: number;
  gaveUpAt?: number;
}
