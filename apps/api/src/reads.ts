/**
 * Every read of job and batch records made for callers (the `/v1` routes, the gallery, the result
 * files) goes through {@link Reads}, built per request from the caller's {@link ReadScope}: the
 * one place where what a caller may see is decided. A tenant sees its own records only; another
 * tenant's answer exactly as records that do not exist, so a route answers 404 for both and ids
 * cannot be probed. An admin key sees every tenant's.
 */
import {
  type BatchRecord,
  type JobRecord,
  type JobState,
  type JobStore,
  type JobView,
  type ObjectUrlFn,
  toJobView,
} from '@genqueue/core';

/** Who is reading. */
export interface ReadScope {
  /** The caller's tenant. */
  tenant: string;
  /** Whether the caller sees every tenant's records (an `admin` key, or the board's admin). */
  admin: boolean;
}

/** Job records read per Redis round trip when paging through a batch. */
export const READ_PAGE = 500;

const BATCH_ID = /^b_[0-9a-z]{16,40}$/;
const JOB_ID = /^(?:j_[0-9a-z]{16,40}|b_[0-9a-z]{16,40}-[0-9a-f]{16})$/;

/** Whether `id` looks like a genqueue job id (anything else is a 404 without a Redis read). */
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

/** Whether `id` looks like a genqueue batch id. */
export function isBatchId(id: string): boolean {
  return BATCH_ID.test(id);
}

/** A page of a batch's jobs in submission order, and where the next page starts. */
export interface JobPage {
  jobs: JobRecord[];
  /** Each job's position in its batch (`indexes[i]` is `jobs[i]`'s). */
  indexes: number[];
  /** Index of the next item to examine, or undefined at the batch's end. */
  next?: number;
}

/** Reads on behalf of one caller. */
export class Reads {
  constructor(
    private readonly store: JobStore,
    private readonly objectUrl: ObjectUrlFn,
    readonly scope: ReadScope,
  ) {}

  private sees(record: { tenant: string } | undefined): boolean {
    return record !== undefined && (this.scope.admin || record.tenant === this.scope.tenant);
  }

  /** Batches newest first (the caller's tenant's; every tenant's for an admin), `count` after `offset`. */
  async batches(offset: number, count: number): Promise<{ batches: BatchRecord[]; more: boolean }> {
    return this.store.listBatches(offset, count, this.scope.admin ? undefined : this.scope.tenant);
  }

  /** The batch, or undefined when it does not exist or the caller may not see it. */
  async batch(id: string): Promise<BatchRecord | undefined> {
    const batch = BATCH_ID.test(id) ? await this.store.getBatch(id) : undefined;
    return this.sees(batch) ? batch : undefined;
  }

  /** The job, or undefined when it does not exist or the caller may not see it. */
  async job(id: string): Promise<JobRecord | undefined> {
    const job = JOB_ID.test(id) ? await this.store.getJob(id) : undefined;
    return this.sees(job) ? job : undefined;
  }

  /** The jobs of `batch` (one the caller may see) at these positions; missing ones are left out. */
  async batchJobsAt(
    batch: BatchRecord,
    indexes: readonly number[],
  ): Promise<{ job: JobRecord; index: number }[]> {
    const ids = await this.store.batchItemIdsAt(batch.id, indexes);
    const jobs = await this.store.getJobs(ids.filter((id) => id !== undefined));
    const byId = new Map(jobs.filter((job) => job !== undefined).map((job) => [job.id, job]));
    return ids.flatMap((id, n) => {
      const job = id === undefined ? undefined : byId.get(id);
      return job ? [{ job, index: indexes[n]! }] : [];
    });
  }

  /**
   * Up to `limit` jobs of `batch` from item `start` on, in submission order, only those in
   * `states` when given. With a filter it examines at most `maxScan` items, so a page's work is
   * bounded however rare the state; `next` says where to go on. Expired records are skipped.
   */
  async batchJobs(
    batch: BatchRecord,
    options: { start: number; limit: number; states?: ReadonlySet<JobState>; maxScan?: number },
  ): Promise<JobPage> {
    const { start, limit, states } = options;
    const scanEnd = Math.min(batch.total, start + (states ? (options.maxScan ?? 5_000) : limit));
    const jobs: JobRecord[] = [];
    const indexes: number[] = [];
    let next = start;
    while (next < scanEnd && jobs.length < limit) {
      const size = Math.min(states ? READ_PAGE : limit, scanEnd - next);
      const records = await this.store.getJobs(await this.store.batchItemIds(batch.id, next, next + size));
      if (records.length === 0) break;
      for (const job of records) {
        next++;
        if (job && (!states || states.has(job.state))) {
          jobs.push(job);
          indexes.push(next - 1);
        }
        if (jobs.length === limit) break;
      }
    }
    return { jobs, indexes, next: next < batch.total ? next : undefined };
  }

  /** Every job of `batch` in submission order, read {@link READ_PAGE} at a time. */
  async *allBatchJobs(batch: BatchRecord): AsyncGenerator<JobRecord[]> {
    for (let start = 0; start < batch.total; start += READ_PAGE) {
      const page = await this.batchJobs(batch, { start, limit: Math.min(READ_PAGE, batch.total - start) });
      yield page.jobs;
    }
  }

  /** The job's API view (outputs with their URLs), with its webhook deliveries when asked. */
  async view(job: JobRecord, options: { webhooks?: boolean } = {}): Promise<JobView> {
    const webhooks = options.webhooks ? await this.store.listWebhooks(job.id) : undefined;
    return toJobView(job, { objectUrl: this.objectUrl, ...(webhooks ? { webhooks } : {}) });
  }

  /** URL of a stored object (public or presigned). */
  async url(bucket: string, key: string): Promise<string> {
    return this.objectUrl(bucket, key);
  }
}
