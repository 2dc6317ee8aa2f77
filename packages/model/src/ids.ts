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
 * A batch item's job id: its batch's id and a random part, so one item's id says nothing of any
 * other's (the batch id is in the item's view anyway). The batch keeps its items' order in a list
 * of their random parts (`JobStore.batchItemIds`).
 */
export function newBatchItemId(batchId: string): string {
  return `${batchId}-${newBatchItemSuffix()}`;
}

/** The random part of a batch item's id: 64 bits, hex. */
export function newBatchItemSuffix(): string {
  return randomBytes(8).toString('hex');
}

/** The batch id of a batch item's job id, or undefined for a job posted alone. */
export function parseBatchItemId(jobId: string): { batchId: string; suffix: string } | undefined {
  const match = /^(b_[0-9a-z]+)-([0-9a-f]{16})$/.exec(jobId);
  if (!match) return undefined;
  return { batchId: match[1]!, suffix: match[2]! };
}

/** The tenant of records written without one, and of `API_TOKENS`. */
export const DEFAULT_TENANT = 'default';
