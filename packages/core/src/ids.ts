import { randomBytes } from 'node:crypto';

/**
 * genqueue ids: a prefix, a time part (so ids sort by creation) and randomness. They never contain
 * `:` (BullMQ uses it as a key separator) and never look like integers (BullMQ refuses those).
 */
function timeSortable(prefix: string, now: number): string {
  return `${prefix}_${now.toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}

/** A job posted alone: `j_…`. */
export function newJobId(now = Date.now()): string {
  return timeSortable('j', now);
}

/** A batch: `b_…`. */
export function newBatchId(now = Date.now()): string {
  return timeSortable('b', now);
}

/**
 * A batch item's job id is derived from the batch id and the item's position, so listing a batch
 * in submission order needs no index of its own.
 */
export function batchItemId(batchId: string, index: number): string {
  return `${batchId}-${index}`;
}

/** The inverse of `batchItemId`, or undefined for a job posted alone. */
export function parseBatchItemId(jobId: string): { batchId: string; index: number } | undefined {
  const match = /^(b_[0-9a-z]+)-(\d+)$/.exec(jobId);
  if (!match) return undefined;
  return { batchId: match[1]!, index: Number(match[2]) };
}
