/**
 * `--wait`: polls `GET /v1/batches/:id` until the batch is done, showing the progress bar on
 * stderr (redrawn in place on a terminal, one line every few seconds otherwise, e.g. in CI logs).
 */
import type { BatchView } from '@genqueue/model';
import type { GenqueueClient } from './client.ts';
import { type CliContext, nowOf, sleepOf } from './context.ts';
import { ApiConnectionError, ApiResponseError } from './errors.ts';
import { formatProgress } from './progress.ts';

/** Options of `waitForBatch`. */
export interface WaitOptions {
  /** Time between polls, in milliseconds. Default 1000. */
  intervalMs?: number;
  /** Time between printed lines when stderr is not a terminal, in milliseconds. Default 5000. */
  logEveryMs?: number;
  /** Consecutive failed polls (network, 5xx) tolerated before giving up. Default 10. */
  maxPollFailures?: number;
}

// A restart of the API or a network blip must not end a long wait; a 4xx (gone, bad token) must.
function isTransient(error: unknown): boolean {
  return error instanceof ApiConnectionError || (error instanceof ApiResponseError && error.status >= 500);
}

/** Waits until the batch is done and returns its last view. */
export async function waitForBatch(
  client: GenqueueClient,
  batchId: string,
  ctx: CliContext,
  options: WaitOptions = {},
): Promise<BatchView> {
  const now = nowOf(ctx);
  const sleep = sleepOf(ctx);
  const intervalMs = options.intervalMs ?? 1_000;
  const logEveryMs = options.logEveryMs ?? 5_000;
  const maxFailures = options.maxPollFailures ?? 10;
  const tty = ctx.stderr.isTTY === true;
  let lastLogged = Number.NEGATIVE_INFINITY;
  let failures = 0;
  for (;;) {
    let view: BatchView;
    try {
      view = await client.getBatch(batchId);
      failures = 0;
    } catch (error) {
      if (!isTransient(error) || ++failures >= maxFailures) {
        if (tty) ctx.stderr.write('\n');
        throw error;
      }
      await sleep(intervalMs);
      continue;
    }
    const line = formatProgress(view, { now: now() });
    if (tty) {
      // Back to column 0 and clear the line, so a shorter line leaves no tail.
      ctx.stderr.write(`\r\x1b[2K${line}${view.done ? '\n' : ''}`);
    } else if (view.done || now() - lastLogged >= logEveryMs) {
      ctx.stderr.write(`${line}\n`);
      lastLogged = now();
    }
    if (view.done) return view;
    await sleep(intervalMs);
  }
}
