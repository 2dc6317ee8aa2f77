/**
 * A batch's results as one file: `GET /v1/batches/:id/results.jsonl` (one JSON object per job) and
 * `results.csv` (the same fields, flattened), in submission order.
 *
 * Both are streamed: the jobs are read from Redis a page at a time and written as the client
 * takes them (backpressure), so a 50,000-job batch is never held in memory. A job whose record
 * has expired (`JOB_RETENTION_SECONDS` after it ended) has no line.
 */
import type { JobView } from '@genqueue/core';
import { stringify } from 'csv-stringify/sync';
import { type Request, type Response, Router } from 'express';
import { readsOf, requireScope } from '../access.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError } from '../http-error.ts';
import type { Reads } from '../reads.ts';

/** One line of `results.jsonl`. */
export interface ResultLine {
  id: string;
  metadata: Record<string, unknown> | null;
  state: JobView['state'];
  input: Record<string, unknown>;
  outputs: {
    bucket: string;
    key: string;
    url: string;
    sha256: string;
    seed: number | null;
    contentType: string;
    bytes: number;
  }[];
  pointsCost: number | null;
  error: { code: string; message: string } | null;
}

/** The columns of `results.csv`. Several outputs share a cell, separated by a space. */
export const RESULT_CSV_COLUMNS = [
  'id',
  'state',
  'prompt',
  'input',
  'metadata',
  'outputs',
  'output_keys',
  'output_urls',
  'output_sha256',
  'output_seeds',
  'output_content_types',
  'output_bytes',
  'points_cost',
  'error_code',
  'error_message',
] as const;

/** A job view as a result line. */
export function resultLine(view: JobView): ResultLine {
  return {
    id: view.id,
    metadata: view.metadata ?? null,
    state: view.state,
    input: view.input,
    outputs: view.outputs.map((o) => ({
      bucket: o.bucket,
      key: o.key,
      url: o.url,
      sha256: o.sha256,
      seed: o.seed ?? null,
      contentType: o.contentType,
      bytes: o.bytes,
    })),
    pointsCost: view.pointsCost,
    error: view.error ? { code: view.error.code, message: view.error.message } : null,
  };
}

function csvRow(line: ResultLine): (string | number)[] {
  const joined = (pick: (o: ResultLine['outputs'][number]) => unknown) =>
    line.outputs.map((o) => String(pick(o) ?? '')).join(' ');
  return [
    line.id,
    line.state,
    typeof line.input.prompt === 'string' ? line.input.prompt : '',
    JSON.stringify(line.input),
    line.metadata ? JSON.stringify(line.metadata) : '',
    line.outputs.length,
    joined((o) => o.key),
    joined((o) => o.url),
    joined((o) => o.sha256),
    joined((o) => o.seed),
    joined((o) => o.contentType),
    joined((o) => o.bytes),
    line.pointsCost ?? '',
    line.error?.code ?? '',
    line.error?.message ?? '',
  ];
}

/** Writes `text`, waiting for the client to drain; false once the client has gone. */
async function write(res: Response, text: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(text)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  return !res.destroyed;
}

/** The two result-file routes. Mount under `/v1` behind `keyAuth`. */
export function resultsRouter(deps: RouteDeps): Router {
  const router = Router();

  router.get(
    '/batches/:id/results.:format',
    requireScope('jobs:read'),
    async (req: Request<{ id: string; format: string }>, res: Response) => {
      const format = req.params.format;
      if (format !== 'jsonl' && format !== 'csv') throw new ApiError(404, 'not_found', 'not found');
      const reads = readsOf(deps, res);
      const batch = await reads.batch(req.params.id);
      if (!batch) throw new ApiError(404, 'not_found', 'batch not found');
      await streamResults(reads, batch, format, res);
    },
  );

  return router;
}

/** Streams a batch's result file into `res` (headers included). Shared with the gallery's download. */
export async function streamResults(
  reads: Reads,
  batch: NonNullable<Awaited<ReturnType<Reads['batch']>>>,
  format: 'jsonl' | 'csv',
  res: Response,
): Promise<void> {
  res.status(200);
  res.set({
    'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="${batch.id}.${format}"`,
    'Cache-Control': 'no-store',
  });
  // Prompts are user text: spreadsheet formulas in them are neutralised (`escape_formulas`).
  const csv = (rows: (string | number)[][]) =>
    stringify(rows, { escape_formulas: true, record_delimiter: '\r\n' });
  if (format === 'csv' && !(await write(res, csv([[...RESULT_CSV_COLUMNS]])))) return;
  for await (const page of reads.allBatchJobs(batch)) {
    // Only the outputs' URLs: a thumbnail's would cost a second presign per job for nothing.
    const lines = await Promise.all(
      page.map(async (job) =>
        resultLine(await reads.view({ ...job, outputs: job.outputs.map(({ thumbnail: _t, ...o }) => o) })),
      ),
    );
    const text =
      format === 'csv' ? csv(lines.map(csvRow)) : lines.map((line) => `${JSON.stringify(line)}\n`).join('');
    if (!(await write(res, text))) return;
  }
  res.end();
}
