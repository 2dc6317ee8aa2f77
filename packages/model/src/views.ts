/**
 * The job and batch views: what `GET /v1/jobs/:id`, `GET /v1/batches/:id` and webhook bodies show.
 * Built in one place so the API and the webhooks never disagree.
 */
import type { JobError } from './errors.ts';
import { type JobState, TERMINAL_STATES } from './job-state.ts';
import type { BatchRecord, JobRecord, WebhookDeliveryRecord } from './records.ts';

export interface OutputView {
  bucket: string;
  key: string;
  /** Public or presigned URL of the stored object. */
  url: string;
  contentType: string;
  bytes: number;
  sha256: string;
  seed?: number;
  /** The small WebP preview stored beside it (384 px on the long side), when one was made. */
  thumbnail?: { key: string; url: string };
  /** A video's cover image, stored beside it (same bucket). */
  cover?: { key: string; url: string; contentType: string; bytes: number };
}

export interface WebhookView {
  id: string;
  type: string;
  attempts: number;
  lastStatus?: number;
  deliveredAt?: string;
}

export interface JobView {
  id: string;
  state: JobState;
  /** Whose job it is. */
  tenant: string;
  provider: string;
  operation: string;
  input: Record<string, unknown>;
  /** The provider account that submitted the task (null until one did): it polls and cancels it. */
  account: string | null;
  providerTaskId: string | null;
  providerStatus: string | null;
  attempts: number;
  outputs: OutputView[];
  pointsCost: number | null;
  /** The provider account's balance after the task, when the provider reports it (LiblibAI). */
  accountBalance: number | null;
  error?: JobError;
  batchId?: string;
  metadata?: Record<string, unknown>;
  createdAt: string;
  submittedAt?: string;
  finishedAt?: string;
  webhooks?: WebhookView[];
}

export interface BatchView {
  id: string;
  /** Whose batch it is. */
  tenant: string;
  provider: string;
  operation: string;
  total: number;
  counts: Record<JobState, number>;
  done: boolean;
  pointsCost: number;
  /** The provider account's balance as the latest ended task of the batch reported it. */
  accountBalance?: number;
  maxPoints?: number;
  canceledReason?: string;
  metadata?: Record<string, unknown>;
  createdAt: string;
  finishedAt?: string;
  /** Estimated completion time, from the rate jobs have finished at so far. */
  eta?: string;
  webhooks?: WebhookView[];
}

/**
 * One provider account as `GET /v1/accounts` shows it: limits, load, pause, counters; never a
 * secret. Times are ISO 8601.
 */
export interface AccountView {
  provider: string;
  id: string;
  tags: readonly string[];
  weight: number;
  /** The limits the next grant applies: a runtime change, else the configured value. */
  limits: { submitQps: number; maxInFlight: number };
  /** The limits of the configuration (what `null` in a change goes back to). */
  configuredLimits: { submitQps: number; maxInFlight: number };
  /** Tasks of this account in flight now (live leases). */
  inFlight: number;
  paused: boolean;
  /** Why and since when; `nextProbeAt` for an account error's pause (an operator's is never probed). */
  pause: { reason: string; since: string; manual: boolean; nextProbeAt?: string } | null;
  /** The last balance the provider reported, and when. */
  balance: { value: number; at: string } | null;
  /** Points the provider kept for this account's ended tasks. */
  pointsSpent: number;
  /** Tasks this account submitted that the provider accepted. */
  submitted: number;
}

/** Makes a URL for a stored object (public URL or presigned). */
export type ObjectUrlFn = (bucket: string, key: string) => Promise<string>;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function webhookViews(records: WebhookDeliveryRecord[] | undefined): WebhookView[] | undefined {
  if (!records || records.length === 0) return undefined;
  return records.map((r) => ({
    id: r.id,
    type: r.type,
    attempts: r.attempts,
    lastStatus: r.lastStatus,
    deliveredAt: iso(r.deliveredAt),
  }));
}

export async function toJobView(
  job: JobRecord,
  deps: { objectUrl: ObjectUrlFn; webhooks?: WebhookDeliveryRecord[] },
): Promise<JobView> {
  const outputs = await Promise.all(
    job.outputs.map(async (o) => ({
      bucket: o.bucket,
      key: o.key,
      url: await deps.objectUrl(o.bucket, o.key),
      contentType: o.contentType,
      bytes: o.bytes,
      sha256: o.sha256,
      ...(o.seed === undefined ? {} : { seed: o.seed }),
      ...(o.thumbnail
        ? { thumbnail: { key: o.thumbnail.key, url: await deps.objectUrl(o.bucket, o.thumbnail.key) } }
        : {}),
      ...(o.cover ? { cover: { ...o.cover, url: await deps.objectUrl(o.bucket, o.cover.key) } } : {}),
    })),
  );
  return {
    id: job.id,
    state: job.state,
    tenant: job.tenant,
    provider: job.provider,
    operation: job.operation,
    input: job.input,
    account: job.account ?? null,
    providerTaskId: job.providerTaskId ?? null,
    providerStatus: job.providerStatus ?? null,
    attempts: job.attempts,
    outputs,
    pointsCost: job.pointsCost ?? null,
    accountBalance: job.accountBalance ?? null,
    ...(job.error ? { error: job.error } : {}),
    ...(job.batchId ? { batchId: job.batchId } : {}),
    ...(job.metadata ? { metadata: job.metadata } : {}),
    createdAt: iso(job.createdAt)!,
    submittedAt: iso(job.submittedAt),
    finishedAt: iso(job.finishedAt),
    webhooks: webhookViews(deps.webhooks),
  };
}

export function toBatchView(
  batch: BatchRecord,
  deps: { now: number; webhooks?: WebhookDeliveryRecord[] },
): BatchView {
  const finished = TERMINAL_STATES.reduce((sum, s) => sum + batch.counts[s], 0);
  const done = finished >= batch.total;
  let eta: string | undefined;
  if (!done && finished > 0) {
    const elapsed = deps.now - batch.createdAt;
    eta = iso(deps.now + Math.round((elapsed / finished) * (batch.total - finished)));
  }
  return {
    id: batch.id,
    tenant: batch.tenant,
    provider: batch.provider,
    operation: batch.operation,
    total: batch.total,
    counts: batch.counts,
    done,
    pointsCost: batch.pointsCost,
    ...(batch.accountBalance === undefined ? {} : { accountBalance: batch.accountBalance }),
    ...(batch.maxPoints === undefined ? {} : { maxPoints: batch.maxPoints }),
    ...(batch.canceledReason ? { canceledReason: batch.canceledReason } : {}),
    ...(batch.metadata ? { metadata: batch.metadata } : {}),
    createdAt: iso(batch.createdAt)!,
    finishedAt: done ? iso(batch.finishedAt) : undefined,
    eta,
    webhooks: webhookViews(deps.webhooks),
  };
}
