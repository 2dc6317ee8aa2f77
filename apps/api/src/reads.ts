/**
 * Every read of job and batch records made for people (the gallery, the result files) goes
 * through {@link Reads}, built per request from the caller's {@link ReadScope}: the one place
 * where what a caller may see is decided.
 */
import {
  type BatchRecord,
  batchItemId,
  type JobRecord,
  type JobState,
  type JobStore,
  type JobView,
  type ObjectUrlFn,
  toJobView,
} from '@genqueue/core';

/** Who is reading. Every credential sees every record today; a tenant would narrow it here. */
export interface ReadScope {
  /** How the caller proved who they are. */
  via: 'token' | 'admin';
}

/** Job records read per Redis round trip when paging through a batch. */
export const READ_PAGE = 500;

const BATCH_ID = /^b_[0-9a-z]{16,40}$/;
const JOB_ID = /^(?:j_[0-9a-z]{16,40}|b_[0-9a-z]{16,40}-\d{1,6})$/;

/** A page of a batch's jobs in submission order, and where the next page starts. */
export interface JobPage {
  jobs: JobRecord[];
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

  /** Batches newest first, `count` after `offset`. */
  async batches(offset: number, count: number): Promise<{ batches: BatchRecord[]; more: boolean }> {
    return this.store.listBatches(offset, count);
  }

  /** The batch, or undefined when it does not exist (or the caller may not see it). */
  async batch(id: string): Promise<BatchRecord | undefined> {
    return BATCH_ID.test(id) ? this.store.getBatch(id) : undefined;
  }

  /** The job, or undefined when it does not exist (or the caller may not see it). */
  async job(id: string): Promise<JobRecord | undefined> {
    return JOB_ID.test(id) ? this.store.getJob(id) : undefined;
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
    let next = start;
    while (next < scanEnd && jobs.length < limit) {
      const size = Math.min(states ? READ_PAGE : limit, scanEnd - next);
      const records = await this.store.getJobs(
        Array.from({ length: size }, (_, i) => batchItemId(batch.id, next + i)),
      );
      for (const job of records) {
        next++;
        if (job && (!states || states.has(job.state))) jobs.push(job);
        if (jobs.length === limit) break;
      }
    }
    return { jobs, next: next < batch.total ? next : undefined };
  }

  /** Every job of `batch` in submission order, read {@link READ_PAGE} at a time. */
  async *allBatchJobs(batch: BatchRecord): AsyncGenerator<JobRecord[]> {
    for (let start = 0; start < batch.total; start += READ_PAGE) {
      const page = await this.batchJobs(batch, { start, limit: Math.min(READ_PAGE, batch.total - start) });
      yield page.jobs;
    }
  }

  /** The job's API view (outputs with their URLs), without webhook deliveries. */
  async view(job: JobRecord): Promise<JobView> {
    return toJobView(job, { objectUrl: this.objectUrl });
  }

  /** URL of a stored object (public or presigned). */
  async url(bucket: string, key: string): Promise<string> {
    return this.objectUrl(bucket, key);
  }
}
