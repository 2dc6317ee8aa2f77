/**
 * `/v1/batches`: create a batch (JSON, CSV or NDJSON), read it, list its jobs, cancel it, retry its
 * failed jobs.
 *
 * Creating. `POST /v1/batches` by `Content-Type`:
 * - `application/json` (up to 32 MB): `{ provider? ('liblib'), operation, defaults?, items:
 *   [{ input, metadata? }] | prompts: ["…"], webhookUrl?, events?, maxPoints?, metadata?,
 *   skipInvalid? }`; `prompts[i]` stands for `{ input: { prompt } }`. `?skipInvalid=true` works too.
 * - `text/csv` (up to 64 MB, streamed): a header row naming input fields (`prompt`, `aspectRatio`,
 *   …) and `metadata.<key>` columns; see `internal/batch-csv.ts` for cells and typing.
 * - `application/x-ndjson` (also `application/ndjson`, `application/jsonl`; up to 64 MB,
 *   streamed): one `{ input, metadata? }` or bare input object per line.
 * For CSV and NDJSON the settings are query parameters: `provider`, `operation`, `webhookUrl`,
 * `events` (comma list), `maxPoints`, `skipInvalid`, `metadata=<JSON>`, `defaults=<JSON object>`
 * and `set.<field>=<value>` (typed like a CSV cell; wins over `defaults`).
 *
 * Every item is validated (the operation's schema on `defaults` + the item's input, and the SSRF
 * guard on the URLs in it) before anything is written. One bad row rejects the batch with
 * `400 invalid_request`, whose `issues` name each bad field (`items[3].input.prompt`,
 * `prompts[3]`, or `rows[4].input.prompt` for uploads, rows counted from 1 after the header) and
 * whose `rejected` lists `{ row, line?, issues }` per bad row (`row` is the 1-based position among
 * the items sent, `line` the line of the upload). With `skipInvalid` the valid rows are accepted
 * and the answer `202 { id, total, rejected }` reports the others. More than 50,000 items answers
 * `413 too_many_items`; a larger body `413 payload_too_large`.
 *
 * Per-job webhook events are opt-in for batches (`events`), since a large batch would otherwise
 * send one delivery per item; `batch.completed` is always sent when `webhookUrl` is set.
 */
import {
  type BatchIntakeResult,
  type BatchItem,
  type BatchRecord,
  findUrls,
  intakeBatch,
  isBatchDone,
  nestsDeeperThan,
  type RejectedRow,
  toBatchView,
} from '@genqueue/core';
import express, { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { idempotencyScopeOf, principalOf, readsOf, requireScope } from '../access.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, type Issue, invalidRequest } from '../http-error.ts';
import { coerceCell, type FieldSchemas, inputFieldSchemas } from '../internal/batch-coerce.ts';
import { csvItems } from '../internal/batch-csv.ts';
import { itemFromEnvelope, itemFromPrompt, MAX_ITEM_DEPTH } from '../internal/batch-items.ts';
import { ndjsonItems, type UploadRow } from '../internal/batch-ndjson.ts';
import {
  BATCH_EVENTS,
  type BatchEvent,
  maxPointsSchema,
  parseJsonBodyQuery,
  parseListQuery,
  parseUploadQuery,
} from '../internal/batch-query.ts';
import { limitBytes, UploadParseError, UploadTooLargeError } from '../internal/batch-stream.ts';
import {
  checkUrls,
  DEFAULT_PROVIDER,
  IDEMPOTENCY_TTL_SECONDS,
  idempotencyKeyOf,
  metadataSchema,
  resolveOperation,
  webhookUrlSchema,
  zodIssues,
} from '../internal/request-checks.ts';
import { requireWebhookSecret } from '../internal/webhook-config.ts';
import type { Reads } from '../reads.ts';

/** Most items one batch may hold. */
export const MAX_BATCH_ITEMS = 50_000;
/** Largest JSON batch body; larger ones get `413 payload_too_large`. */
export const BATCH_JSON_LIMIT = '32mb';
/** Largest CSV/NDJSON upload, in bytes. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
/** Most items one listing request examines when filtering by state (bounded work per request). */
export const MAX_LIST_SCAN = 5_000;
/** Most URLs checked in a batch's `defaults`. */
const MAX_DEFAULT_URLS = 64;
const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
];

/** The body of a JSON `POST /v1/batches`. Items are checked one by one later, so one bad item is a bad row. */
export const batchBodySchema = z
  .object({
    provider: z.string().min(1).max(64).default(DEFAULT_PROVIDER),
    operation: z.string().min(1).max(128),
    defaults: z.record(z.unknown()).optional(),
    items: z.array(z.unknown()).optional(),
    prompts: z.array(z.unknown()).optional(),
    webhookUrl: webhookUrlSchema.optional(),
    events: z.array(z.enum(BATCH_EVENTS)).optional(),
    maxPoints: maxPointsSchema.optional(),
    metadata: metadataSchema.optional(),
    skipInvalid: z.boolean().optional(),
  })
  .strict();

/** A batch's settings, however they were sent. */
interface BatchSettings {
  provider: string;
  operation: string;
  defaults: Record<string, unknown>;
  webhookUrl?: string;
  events?: BatchEvent[];
  maxPoints?: number;
  metadata?: Record<string, unknown>;
  skipInvalid: boolean;
}

/** Names a row's issue in the flat `issues` list: `items[3].input.prompt`, `prompts[3]`, `rows[4].input.prompt`. */
type IssuePath = (row: number, path: string) => string;

/**
 * Issue paths for rows named `name[n]`, where `n` is the 1-based row plus `offset` (-1 for JSON
 * arrays, 0 for uploads). Issues at `wholeRow` paths name the row itself.
 */
function issuePaths(name: string, offset: number, wholeRow: readonly string[]): IssuePath {
  return (row, path) => {
    const label = `${name}[${row + offset}]`;
    return wholeRow.includes(path) ? label : `${label}.${bracketIndexes(path)}`;
  };
}

/** The `/v1/batches` routes. Mount under `/v1` behind `keyAuth`, before the jobs' JSON parser. */
export function batchesRouter(deps: RouteDeps): Router {
  const router = Router();
  const now = deps.now ?? Date.now;
  const { lifecycle } = deps;

  /** Validates the settings and runs the intake; answers 202, 400 or 413. */
  async function create(
    res: Response,
    settings: BatchSettings,
    items: (spec: FieldSchemas | undefined) => AsyncIterable<BatchItem> | Iterable<BatchItem>,
    issuePath: IssuePath,
    lines?: number[],
  ): Promise<void> {
    const idempotencyKey = idempotencyKeyOf(res.req);
    const { spec } = resolveOperation(deps.providers, settings.provider, settings.operation);
    if (settings.events?.length && !settings.webhookUrl) {
      throw invalidRequest([{ path: 'events', message: 'needs a webhookUrl to send them to' }]);
    }
    if (nestsDeeperThan(settings.defaults, MAX_ITEM_DEPTH)) {
      throw invalidRequest([{ path: 'defaults', message: `nests deeper than ${MAX_ITEM_DEPTH} levels` }]);
    }
    // Item URLs are checked by the intake; the defaults are merged into every item, so their URLs
    // are checked here, once.
    await checkUrls(
      deps.checkUrl,
      [
        ...(settings.webhookUrl ? [{ path: ['webhookUrl'], url: settings.webhookUrl }] : []),
        ...findUrls(settings.defaults, ['defaults'], MAX_DEFAULT_URLS),
      ],
      MAX_DEFAULT_URLS + 1,
    );
    // After the URL checks, so a refused URL is reported by field whatever the server's setup.
    if (settings.webhookUrl) requireWebhookSecret(deps.config);

    const principal = principalOf(res);
    // Refuse early when the tenant is already out of quota, before reading a large upload.
    await deps.quotas.admit(principal.tenant, 0);
    const result = await intakeBatch(
      { store: deps.store, lifecycle, now },
      {
        provider: settings.provider,
        operation: settings.operation,
        spec,
        defaults: settings.defaults,
        webhookUrl: settings.webhookUrl,
        events: [...new Set(settings.events ?? [])],
        maxPoints: settings.maxPoints,
        metadata: settings.metadata,
        skipInvalid: settings.skipInvalid,
        maxItems: MAX_BATCH_ITEMS,
        checkUrl: deps.checkUrl,
        tenant: principal.tenant,
        admit: (total) => deps.quotas.admit(principal.tenant, total),
        ...(idempotencyKey === undefined
          ? {}
          : {
              idempotency: {
                scope: idempotencyScopeOf(principal),
                key: idempotencyKey,
                ttlSeconds: IDEMPOTENCY_TTL_SECONDS,
              },
            }),
      },
      items(inputFieldSchemas(spec.schema)),
    );
    answerIntake(res, result, issuePath, lines);
    if (result.ok && !result.replayed) {
      deps.logger.info(
        {
          batchId: result.id,
          total: result.total,
          rejected: result.rejected.length,
          provider: settings.provider,
        },
        'batch:created',
      );
    }
  }

  router.post(
    '/batches',
    requireScope('jobs:write'),
    express.json({ limit: BATCH_JSON_LIMIT }),
    async (req: Request, res: Response) => {
      if (req.is('application/json')) {
        await createFromJson(req, res);
      } else if (req.is('text/csv') || req.is(NDJSON_TYPES)) {
        await createFromUpload(req, res);
      } else {
        throw new ApiError(
          415,
          'unsupported_media_type',
          'send the batch as application/json, text/csv or application/x-ndjson',
        );
      }
    },
  );

  async function createFromJson(req: Request, res: Response): Promise<void> {
    const query = parseJsonBodyQuery(req.query as Record<string, unknown>);
    if (nestsDeeperThan(req.body, MAX_ITEM_DEPTH + 3)) {
      throw invalidRequest([{ path: 'body', message: `nests deeper than ${MAX_ITEM_DEPTH + 3} levels` }]);
    }
    const envelope = batchBodySchema.safeParse(req.body);
    if (!envelope.success) throw invalidRequest(zodIssues(envelope.error));
    const { items, prompts, defaults, skipInvalid, ...rest } = envelope.data;
    if ((items === undefined) === (prompts === undefined)) {
      throw invalidRequest([{ path: 'items', message: 'send exactly one of items and prompts' }]);
    }
    const list = (items ?? prompts)!;
    if (list.length > MAX_BATCH_ITEMS) throw tooManyItems();
    await create(
      res,
      { ...rest, defaults: defaults ?? {}, skipInvalid: query.skipInvalid ?? skipInvalid ?? false },
      () => list.map(items ? itemFromEnvelope : itemFromPrompt),
      items ? issuePaths('items', -1, ['item']) : issuePaths('prompts', -1, ['item', 'input.prompt']),
    );
  }

  async function createFromUpload(req: Request, res: Response): Promise<void> {
    const encoding = req.get('content-encoding');
    try {
      if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
        throw new ApiError(415, 'unsupported_media_type', 'compressed uploads are not supported');
      }
      const settings = parseUploadQuery(req.query as Record<string, unknown>);
      const { spec } = resolveOperation(deps.providers, settings.provider, settings.operation);
      const fields = inputFieldSchemas(spec.schema);
      const defaults = { ...settings.defaults };
      for (const [field, value] of Object.entries(settings.set))
        defaults[field] = coerceCell(value, fields?.[field]);

      const lines: number[] = [];
      const parse = req.is('text/csv') ? csvItems : ndjsonItems;
      // The request's own async iterator would destroy the socket when the parse stops early,
      // and the client would never read the answer: read it through one that doesn't.
      const chunks = limitBytes(req.iterator({ destroyOnReturn: false }), MAX_UPLOAD_BYTES);
      await create(
        res,
        { ...settings, defaults },
        (fieldSchemas) => recordLines(parse(chunks, fieldSchemas), lines),
        issuePaths('rows', 0, ['row', 'item']),
        lines,
      );
    } catch (error) {
      if (error instanceof UploadTooLargeError) {
        // Don't read the rest of an oversized body: answer, then close the connection.
        res.setHeader('Connection', 'close');
        throw new ApiError(413, 'payload_too_large', `the upload is larger than ${MAX_UPLOAD_BYTES} bytes`);
      }
      if (error instanceof UploadParseError) {
        throw invalidRequest([{ path: `line ${error.line}`, message: error.message }]);
      }
      throw error;
    } finally {
      // Whatever was not read (an early 400 or 413) is read and dropped, so the client gets the
      // answer instead of a reset and the connection can be reused.
      if (!req.complete && res.getHeader('Connection') !== 'close') req.resume();
    }
  }

  router.get(
    '/batches/:id',
    requireScope('jobs:read'),
    async (req: Request<{ id: string }>, res: Response) => {
      const batch = await findBatch(res, req.params.id);
      const webhooks = await deps.store.listWebhooks(batch.id);
      res.json(toBatchView(batch, { now: now(), webhooks }));
    },
  );

  router.get(
    '/batches/:id/jobs',
    requireScope('jobs:read'),
    async (req: Request<{ id: string }>, res: Response) => {
      const { states, limit, start } = parseListQuery(req.query as Record<string, unknown>);
      const batch = await findBatch(res, req.params.id);
      // Without a filter a page reads exactly `limit` items; with one it reads until the page is
      // full or MAX_LIST_SCAN items were examined, and the cursor says where to go on. Records of
      // finished items expire after the retention time; they are skipped.
      const r = reads(res);
      const page = await r.batchJobs(batch, { start, limit, states, maxScan: MAX_LIST_SCAN });
      const items = await Promise.all(page.jobs.map((job) => r.view(job, { webhooks: true })));
      res.json({ items, nextCursor: page.next === undefined ? null : String(page.next) });
    },
  );

  router.post(
    '/batches/:id/cancel',
    requireScope('jobs:write'),
    async (req: Request<{ id: string }>, res: Response) => {
      const batch = await findBatch(res, req.params.id);
      if (isBatchDone(batch)) throw new ApiError(409, 'conflict', 'batch already done');
      const canceled = await lifecycle.cancelBatch(batch.id, {
        code: 'canceled',
        message: 'batch canceled by user',
      });
      res.status(202).json({ id: batch.id, canceled });
    },
  );

  router.post(
    '/batches/:id/retry',
    requireScope('jobs:write'),
    async (req: Request<{ id: string }>, res: Response) => {
      const batch = await findBatch(res, req.params.id);
      const requeued = await lifecycle.retryBatch(batch.id);
      res.status(202).json({ id: batch.id, requeued });
    },
  );

  const reads = (res: Response): Reads => readsOf(deps, res);

  async function findBatch(res: Response, id: string): Promise<BatchRecord> {
    const batch = await reads(res).batch(id);
    if (!batch) throw new ApiError(404, 'not_found', 'batch not found');
    return batch;
  }

  return router;
}

/** Passes items through, noting the upload line of each (index = row - 1). */
async function* recordLines(rows: AsyncIterable<UploadRow>, lines: number[]): AsyncGenerator<BatchItem> {
  for await (const { line, ...item } of rows) {
    lines.push(line);
    yield item;
  }
}

function tooManyItems(): ApiError {
  return new ApiError(413, 'too_many_items', `a batch holds at most ${MAX_BATCH_ITEMS} items`);
}

// The intake reports paths like `input.image_list.0`; the API writes indexes in brackets.
function bracketIndexes(path: string): string {
  return path.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
}

/** One rejected row as answered: issue paths relative to the row, `line` for uploads. */
function rejectedView(rejected: RejectedRow, lines: number[] | undefined) {
  const line = lines?.[rejected.row - 1];
  return {
    row: rejected.row,
    ...(line === undefined ? {} : { line }),
    issues: rejected.issues.map((issue) => ({ path: bracketIndexes(issue.path), message: issue.message })),
  };
}

function answerIntake(
  res: Response,
  result: BatchIntakeResult,
  issuePath: IssuePath,
  lines: number[] | undefined,
): void {
  if (result.ok && result.replayed) {
    res.status(200).set('Idempotent-Replayed', 'true').json({ id: result.id, total: result.total });
    return;
  }
  if (result.ok) {
    res.status(202).json({
      id: result.id,
      total: result.total,
      ...(result.rejected.length ? { rejected: result.rejected.map((r) => rejectedView(r, lines)) } : {}),
    });
    return;
  }
  if (result.reason === 'too_many') throw tooManyItems();
  if (result.reason === 'too_many_hosts') {
    throw invalidRequest([{ path: 'items', message: `name more than ${result.maxHosts} distinct hosts` }]);
  }
  if (result.reason === 'idempotency_key_reused') {
    throw new ApiError(
      422,
      'idempotency_key_reused',
      'this Idempotency-Key was used with a different request',
    );
  }
  if (result.reason === 'empty') throw invalidRequest([{ path: 'items', message: 'the batch has no items' }]);
  const issues: Issue[] = result.rejected.flatMap((rejected) =>
    rejected.issues.map((issue) => ({ path: issuePath(rejected.row, issue.path), message: issue.message })),
  );
  const count = result.rejected.length;
  const first = issues[0];
  const error = invalidRequest(
    issues,
    `${count} invalid ${count === 1 ? 'row' : 'rows'}, nothing was created` +
      (first ? ` (first: ${first.path}: ${first.message})` : ''),
  );
  res.status(400).json({
    error: {
      code: error.code,
      message: error.message,
      issues,
      rejected: result.rejected.map((r) => rejectedView(r, lines)),
    },
  });
}
