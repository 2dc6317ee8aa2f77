/**
 * Batch intake: validates every item of a batch and writes the valid ones in chunks (job records
 * in one pipeline, BullMQ jobs with one `addBulk`), so a 50,000-prompt batch costs a few dozen
 * round trips and no per-item work beyond validation.
 *
 * All-or-nothing by default: items are validated first (they are small, and the count is capped,
 * so memory stays bounded), and one bad row rejects the batch listing every bad row. With
 * `skipInvalid`, the valid rows are accepted and the rejected ones reported.
 *
 * Fairness. A batch's items get BullMQ priorities by their position in the batch (item i has
 * priority i + 1, single jobs priority 1), and BullMQ serves the lowest priority first, FIFO within
 * one priority. So the submit queue always takes the waiting job that is earliest in its own
 * batch: batches of different sizes interleave round-robin from the moment they are all waiting,
 * and a small batch or a single job posted after a 20,000-prompt batch starts at once instead of
 * after it. (A batch that has already had many of its items submitted yields to newer batches
 * until they catch up: the least-served batch goes first.)
 */
import { jobTag } from './catalog.ts';
import { batchItemId, newBatchId } from './ids.ts';
import type { JobStore } from './job-store.ts';
import type { OperationSpec } from './provider.ts';
import type { QueueSet } from './queues.ts';

/** BullMQ's highest priority value. */
export const MAX_PRIORITY = 2_097_152;

/** The submit priority of a batch's item `index`: see the fairness note above. */
export function batchItemPriority(index: number): number {
  return Math.min(index + 1, MAX_PRIORITY);
}

/** Items written per round trip. */
const CHUNK = 1_000;

export interface BatchItem {
  input: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  /**
   * Problems the caller found while reading the item (a CSV row with too many cells, an NDJSON
   * line that is not JSON). The item is rejected with them, like an item that fails validation,
   * so `skipInvalid` applies to it and row numbers stay aligned with the upload.
   */
  issues?: ItemIssue[];
}

export interface ItemIssue {
  path: string;
  message: string;
}

/** A rejected item: `row` is its 1-based position among the items sent. */
export interface RejectedRow {
  row: number;
  issues: ItemIssue[];
}

export interface BatchIntakeParams {
  provider: string;
  operation: string;
  spec: OperationSpec;
  defaults: Record<string, unknown>;
  webhookUrl?: string;
  /** Per-job events to send to the webhook (`job.succeeded`, `job.failed`). */
  events: string[];
  maxPoints?: number;
  metadata?: Record<string, unknown>;
  skipInvalid: boolean;
  maxItems: number;
  /** Checks a URL found in an item's input (SSRF guard); throws with a message when refused. */
  checkUrl?: (url: string) => Promise<void>;
}

export type BatchIntakeResult =
  | { ok: true; id: string; total: number; rejected: RejectedRow[] }
  | { ok: false; reason: 'invalid'; rejected: RejectedRow[] }
  | { ok: false; reason: 'empty' }
  | { ok: false; reason: 'too_many'; maxItems: number };

/** Every http(s) URL string anywhere in a value, with its path. */
export function findUrls(value: unknown, path = 'input'): { path: string; url: string }[] {
  if (typeof value === 'string') return /^https?:\/\//i.test(value) ? [{ path, url: value }] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => findUrls(item, `${path}.${i}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => findUrls(item, `${path}.${key}`));
  }
  return [];
}

export async function intakeBatch(
  deps: { store: JobStore; queues: QueueSet; now?: () => number },
  params: BatchIntakeParams,
  items: AsyncIterable<BatchItem> | Iterable<BatchItem>,
): Promise<BatchIntakeResult> {
  const now = deps.now ?? Date.now;
  const accepted: BatchItem[] = [];
  const rejected: RejectedRow[] = [];
  const urlVerdicts = new Map<string, Promise<string | undefined>>();
  const checkUrl = params.checkUrl;
  let row = 0;
  for await (const item of items) {
    row++;
    if (row > params.maxItems) return { ok: false, reason: 'too_many', maxItems: params.maxItems };
    if (item.issues?.length) {
      rejected.push({ row, issues: item.issues });
      continue;
    }
    const issues: ItemIssue[] = [];
    const parsed = params.spec.schema.safeParse({ ...params.defaults, ...item.input });
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        issues.push({ path: ['input', ...issue.path].join('.'), message: issue.message });
    }
    if (checkUrl) {
      for (const { path, url } of findUrls(item.input)) {
        // One verdict per URL: a batch often repeats the same reference image.
        if (!urlVerdicts.has(url)) {
          urlVerdicts.set(
            url,
            checkUrl(url).then(
              () => undefined,
              (error: Error) => error.message,
            ),
          );
        }
        const refusal = await urlVerdicts.get(url);
        if (refusal) issues.push({ path, message: refusal });
      }
    }
    if (issues.length) rejected.push({ row, issues });
    else accepted.push(item);
  }
  if (rejected.length && !params.skipInvalid) return { ok: false, reason: 'invalid', rejected };
  if (accepted.length === 0)
    return rejected.length ? { ok: false, reason: 'invalid', rejected } : { ok: false, reason: 'empty' };

  const id = newBatchId(now());
  await deps.store.createBatch({
    id,
    provider: params.provider,
    operation: params.operation,
    defaults: params.defaults,
    total: accepted.length,
    maxPoints: params.maxPoints,
    webhookUrl: params.webhookUrl,
    events: params.events,
    metadata: params.metadata,
    createdAt: now(),
  });
  for (let start = 0; start < accepted.length; start += CHUNK) {
    const chunk = accepted.slice(start, start + CHUNK);
    const pipeline = deps.store.redis.pipeline();
    for (const [offset, item] of chunk.entries()) {
      deps.store.writeJob(pipeline, {
        id: batchItemId(id, start + offset),
        input: item.input,
        metadata: item.metadata,
      });
    }
    await pipeline.exec();
    await deps.queues.enqueueSubmit(
      params.provider,
      chunk.map((item, offset) => ({
        jobId: batchItemId(id, start + offset),
        priority: batchItemPriority(start + offset),
        tag: jobTag({
          id: batchItemId(id, start + offset),
          provider: params.provider,
          operation: params.operation,
          input: { ...params.defaults, ...item.input },
          batchId: id,
        }),
      })),
    );
  }
  return { ok: true, id, total: accepted.length, rejected };
}
