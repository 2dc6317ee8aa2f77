/**
 * Downloads a batch's stored outputs: lists its succeeded jobs through the API and fetches every
 * output's URL (public or presigned S3) in parallel, streaming each to `<out>/<key>`.
 *
 * Each file is written to a temporary name beside its target, verified against the size and
 * sha256 the API reports, then renamed into place, so an interrupted run never leaves a partial
 * file under a real name, and a rerun skips every file already there with the right size and hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { OutputView } from '@genqueue/model';
import type { GenqueueClient } from './client.ts';

/** One output to fetch. */
export interface DownloadItem {
  jobId: string;
  output: OutputView;
}

/** What happened to one output. */
export type DownloadResult =
  | { item: DownloadItem; status: 'downloaded'; path: string }
  | { item: DownloadItem; status: 'skipped'; path: string }
  | { item: DownloadItem; status: 'failed'; error: string };

/** Totals of a download run. */
export interface DownloadSummary {
  downloaded: number;
  skipped: number;
  /** Bytes written by this run. */
  bytes: number;
  failed: { jobId: string; key: string; error: string }[];
}

/** Options of `downloadBatch`. */
export interface DownloadBatchOptions {
  /** Directory the keys are written under (created when missing). */
  outDir: string;
  /** Files fetched at once. Default 8. */
  concurrency?: number;
  /** Called after each output, for progress. */
  onResult?: (result: DownloadResult, summary: DownloadSummary) => void;
}

/**
 * Where `key` goes under `outDir`. Refuses keys that would land outside it (`..`, absolute
 * paths): the keys come from the server, and a download must never write elsewhere.
 */
export function targetPath(outDir: string, key: string): string {
  const root = resolve(outDir);
  const target = resolve(root, key);
  const rel = relative(root, target);
  if (
    key === '' ||
    rel === '' ||
    rel.startsWith(`..${sep}`) ||
    rel === '..' ||
    isAbsolute(rel) ||
    isAbsolute(key)
  ) {
    throw new Error(`refusing output key "${key}": it would be written outside ${outDir}`);
  }
  return target;
}

/** The sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Whether `path` already holds exactly this output (size first, so most mismatches cost no read). */
export async function alreadyPresent(
  path: string,
  output: Pick<OutputView, 'bytes' | 'sha256'>,
): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size !== output.bytes) return false;
  } catch {
    return false;
  }
  return (await sha256File(path)) === output.sha256;
}

/** Fetches one output to its path through a temporary file; throws when it does not verify. */
export async function fetchOutput(client: GenqueueClient, output: OutputView, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomBytes(6).toString('hex')}.part`;
  try {
    const response = await client.download(output.url);
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(
        `storage answered HTTP ${response.statusCode}` +
          (response.statusCode === 403 ? ' (a presigned URL may have expired; run download again)' : ''),
      );
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        // Stop at once when the object is larger than the API said, instead of filling the disk.
        if (bytes > output.bytes) {
          callback(new Error(`received more than the expected ${output.bytes} bytes`));
          return;
        }
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(response.body, meter, createWriteStream(temp));
    if (bytes !== output.bytes) throw new Error(`received ${bytes} bytes, expected ${output.bytes}`);
    const sha256 = hash.digest('hex');
    if (sha256 !== output.sha256)
      throw new Error(`sha256 mismatch: got ${sha256}, expected ${output.sha256}`);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

async function* batchOutputs(client: GenqueueClient, batchId: string): AsyncGenerator<DownloadItem> {
  for await (const job of client.batchJobs(batchId, { state: 'succeeded', limit: 100 })) {
    // A listing may carry summaries only; the job view always has the outputs with their URLs.
    const full = Array.isArray(job.outputs) ? job : await client.getJob(job.id);
    for (const output of full.outputs) yield { jobId: job.id, output };
  }
}

/** Downloads every output of a batch's succeeded jobs; never throws for one file, only for listing errors. */
export async function downloadBatch(
  client: GenqueueClient,
  batchId: string,
  options: DownloadBatchOptions,
): Promise<DownloadSummary> {
  const summary: DownloadSummary = { downloaded: 0, skipped: 0, bytes: 0, failed: [] };
  const items = batchOutputs(client, batchId);
  const one = async (item: DownloadItem): Promise<DownloadResult> => {
    try {
      const path = targetPath(options.outDir, item.output.key);
      if (await alreadyPresent(path, item.output)) return { item, status: 'skipped', path };
      await fetchOutput(client, item.output, path);
      return { item, status: 'downloaded', path };
    } catch (error) {
      return { item, status: 'failed', error: error instanceof Error ? error.message : String(error) };
    }
  };
  // Workers share one generator: each pulls the next output when it is free (calls to an async
  // generator's next() queue up), so pages are listed only as fast as files are fetched.
  const worker = async () => {
    for (;;) {
      const next = await items.next();
      if (next.done) return;
      const result = await one(next.value);
      if (result.status === 'downloaded') {
        summary.downloaded++;
        summary.bytes += next.value.output.bytes;
      } else if (result.status === 'skipped') summary.skipped++;
      else summary.failed.push({ jobId: next.value.jobId, key: next.value.output.key, error: result.error });
      options.onResult?.(result, summary);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  return summary;
}
