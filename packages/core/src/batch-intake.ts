/**
 * Batch intake: validates every item of a batch and writes the valid ones in chunks (job records
 * in one pipeline per chunk), so a 50,000-prompt batch costs a few dozen round trips and no
 * per-item work beyond validation.
 *
 * All-or-nothing by default: items are validated first (they are small, and the count is capped,
 * so memory stays bounded), and one bad row rejects the batch listing every bad row. With
 * `skipInvalid`, the valid rows are accepted and the rejected ones reported.
 *
 * All-or-nothing for the client, too, whatever fails when: the items are written first, invisible
 * and expiring; then one atomic step commits the batch (its record, its `Idempotency-Key` and an
 * outbox entry that enqueues its items). Before that step nothing of the batch exists or runs; after
 * it every item gets enqueued, by this request or, if it dies, by a worker's outbox sweep. A client
 * that resubmits with the same `Idempotency-Key` gets the batch that was committed, never a second.
 *
 * Fairness. A batch's items get BullMQ priorities by their position in the batch (item i has
 * priority i + 1, single jobs priority 1), and BullMQ serves the lowest priority first, FIFO within
 * one priority. So the submit queue always takes the waiting job that is earliest in its own
 * batch: batches of different sizes interleave round-robin from the moment they are all waiting,
 * and a small batch or a single job posted after a 20,000-prompt batch starts at once instead of
 * after it. (A batch that has already had many of its items submitted yields to newer batches
 * until they catch up: the least-served batch goes first.)
 */
import { createHash } from 'node:crypto';
import type { OperationSpec } from '@genqueue/model';
import {
  checkUrlsBounded,
  DEFAULT_TENANT,
  findUrls,
  newBatchId,
  URL_CHECK_BOUNDS,
  type UrlCheckBounds,
} from '@genqueue/model';
import type { JobStore } from './job-store.ts';
import type { JobLifecycle } from './lifecycle.ts';

/** BullMQ's highest priority value. */
export const MAX_PRIORITY = 2_097_152;

/** The submit priority of a batch's item `index`: see the fairness note above. */
export function batchItemPriority(index: number): number {
  return Math.min(index + 1, MAX_PRIORITY);
}

/** Items written per round trip. */
const CHUNK = 1_000;

/** Most URLs one item may hold (each is checked by the SSRF guard). */
export const MAX_URLS_PER_ITEM = 64;

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
  /** Bounds of the URL checks. Default {@link URL_CHECK_BOUNDS}. */
  urlBounds?: UrlCheckBounds;
  /** The request's `Idempotency-Key`, per tenant. */
  idempotency?: { scope: string; key: string; ttlSeconds: number };
  /** Whose batch it is. Default `default`. */
  tenant?: string;
  /**
   * Called with the number of accepted items once they are known, before anything is written;
   * throws to refuse the batch (a tenant's quota).
   */
  admit?: (total: number) => Promise<void>;
}

export type BatchIntakeResult =
  | { ok: true; id: string; total: number; rejected: RejectedRow[]; replayed: boolean }
  | { ok: false; reason: 'invalid'; rejected: RejectedRow[] }
  | { ok: false; reason: 'empty' }
  | { ok: false; reason: 'too_many'; maxItems: number }
  | { ok: false; reason: 'too_many_hosts'; maxHosts: number }
  | { ok: false; reason: 'idempotency_key_reused' };

export async function intakeBatch(
  deps: { store: JobStore; lifecycle: JobLifecycle; now?: () => number },
  params: BatchIntakeParams,
  items: AsyncIterable<BatchItem> | Iterable<BatchItem>,
): Promise<BatchIntakeResult> {
  const now = deps.now ?? Date.now;
  const rows: { row: number; item: BatchItem; issues: ItemIssue[]; urls: { path: string; url: string }[] }[] =
    [];
  const rejected: RejectedRow[] = [];
  const bounds = params.urlBounds ?? URL_CHECK_BOUNDS;
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
    const found = params.checkUrl ? findUrls(item.input, ['input'], MAX_URLS_PER_ITEM) : [];
    // the finder stops past the bound: an item past it is refused, never partly checked
    if (found.length > MAX_URLS_PER_ITEM)
      issues.push({ path: 'input', message: `holds more than ${MAX_URLS_PER_ITEM} URLs` });
    const urls = found.slice(0, MAX_URLS_PER_ITEM).map((url) => ({ path: url.path.join('.'), url: url.url }));
    rows.push({ row, item, issues, urls });
  }
  if (params.checkUrl) {
    // One verdict per URL (a batch often repeats the same reference image), resolved with bounded
    // parallelism and a timeout, and at most `maxHosts` distinct hosts per request.
    const verdicts = await checkUrlsBounded(
      rows.flatMap((r) => r.urls.map((u) => u.url)),
      params.checkUrl,
      bounds,
    );
    if (!verdicts.ok) return { ok: false, reason: 'too_many_hosts', maxHosts: bounds.maxHosts };
    for (const r of rows) {
      for (const { path, url } of r.urls) {
        const refusal = verdicts.refusals.get(url);
        if (refusal) r.issues.push({ path, message: refusal });
      }
    }
  }
  const accepted: BatchItem[] = [];
  for (const r of rows) {
    if (r.issues.length) rejected.push({ row: r.row, issues: r.issues });
    else accepted.push(r.item);
  }
  rejected.sort((a, b) => a.row - b.row);
  if (rejected.length && !params.skipInvalid) return { ok: false, reason: 'invalid', rejected };
  if (accepted.length === 0)
    return rejected.length ? { ok: false, reason: 'invalid', rejected } : { ok: false, reason: 'empty' };

  const fingerprint = params.idempotency ? fingerprintOf(params, accepted) : '';
  if (params.idempotency) {
    const existing = await deps.store.findIdempotentBatch(params.idempotency);
    if (existing) return replay(deps.store, existing, fingerprint, rejected);
  }

  await params.admit?.(accepted.length);
  const id = newBatchId(now());
  for (let start = 0; start < accepted.length; start += CHUNK) {
    await deps.store.writeBatchItems(id, accepted.slice(start, start + CHUNK));
  }
  const committed = await deps.store.commitBatch(
    {
      id,
      tenant: params.tenant ?? DEFAULT_TENANT,
      provider: params.provider,
      operation: params.operation,
      defaults: params.defaults,
      total: accepted.length,
      maxPoints: params.maxPoints,
      webhookUrl: params.webhookUrl,
      events: params.events,
      metadata: params.metadata,
      createdAt: now(),
    },
    params.idempotency && { ...params.idempotency, fingerprint },
  );
  // A concurrent request with the same key committed first: this one's items expire unseen.
  if (!committed.created)
    return replay(
      deps.store,
      { batchId: committed.existingId, fingerprint: committed.fingerprint },
      fingerprint,
      rejected,
    );
  // The batch exists from here on: enqueuing its items is the outbox's job, done now unless this
  // process dies, and then by a worker's sweep.
  await deps.lifecycle.drain(committed.outbox);
  return { ok: true, id, total: accepted.length, rejected, replayed: false };
}

async function replay(
  store: JobStore,
  existing: { batchId: string; fingerprint: string },
  fingerprint: string,
  rejected: RejectedRow[],
): Promise<BatchIntakeResult> {
  if (existing.fingerprint !== fingerprint) return { ok: false, reason: 'idempotency_key_reused' };
  const batch = await store.getBatch(existing.batchId);
  return { ok: true, id: existing.batchId, total: batch?.total ?? 0, rejected, replayed: true };
}

/** What makes two batch requests the same one: their settings and accepted items. */
function fingerprintOf(params: BatchIntakeParams, accepted: readonly BatchItem[]): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify([
      params.provider,
      params.operation,
      params.defaults,
      params.webhookUrl ?? null,
      params.events,
      params.maxPoints ?? null,
      params.metadata ?? null,
    ]),
  );
  for (const item of accepted) hash.update(`\n${JSON.stringify([item.input, item.metadata ?? null])}`);
  return hash.digest('hex');
}
