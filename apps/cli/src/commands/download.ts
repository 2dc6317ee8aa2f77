/** `genqueue download <batchId> --out dir`: fetches and verifies every stored output of a batch. */
import { Command } from 'commander';
import { type CliContext, clientFor, type GlobalOptions } from '../context.ts';
import { downloadBatch } from '../download.ts';
import { EXIT_FAILURE } from '../errors.ts';
import { formatBytes } from '../format.ts';
import { integerIn } from '../option-parsers.ts';

/** Options of `download`. */
export interface DownloadOptions extends GlobalOptions {
  out: string;
  concurrency: number;
}

/** Runs `download`; resolves to the exit code (1 when any file failed). */
export async function runDownload(
  batchId: string,
  options: DownloadOptions,
  ctx: CliContext,
): Promise<number> {
  const client = clientFor(ctx, options);
  // Read the batch first: an unknown id is a clear 404 rather than an empty download.
  const batch = await client.getBatch(batchId);
  const tty = ctx.stderr.isTTY === true;
  const summary = await downloadBatch(client, batchId, {
    outDir: options.out,
    concurrency: options.concurrency,
    onResult: (result, totals) => {
      if (result.status === 'failed') {
        ctx.stderr.write(`${tty ? '\r\x1b[2K' : ''}failed ${result.item.output.key}: ${result.error}\n`);
      }
      if (tty) {
        ctx.stderr.write(
          `\r\x1b[2Kdownloaded ${totals.downloaded}, skipped ${totals.skipped}, failed ${totals.failed.length}`,
        );
      }
    },
  });
  if (tty) ctx.stderr.write('\r\x1b[2K');
  ctx.stdout.write(
    `downloaded ${summary.downloaded} files (${formatBytes(summary.bytes)}), skipped ${summary.skipped} already present, ` +
      `failed ${summary.failed.length}, into ${options.out}\n`,
  );
  if (!batch.done) {
    ctx.stderr.write(`batch ${batchId} is still running; run download again later for the rest\n`);
  }
  return summary.failed.length > 0 ? EXIT_FAILURE : 0;
}

/** The `download` command. */
export function downloadCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('download')
    .description(
      "download every output of a batch's succeeded jobs to <dir>/<key>, verifying size and sha256",
    )
    .argument('<batchId>', 'batch id (b_…)')
    .requiredOption('--out <dir>', 'directory to write into (created when missing)')
    .option('--concurrency <n>', 'files fetched at once', integerIn(1, 64), 8)
    .addHelpText(
      'after',
      '\nFiles already present with the right size and sha256 are skipped, so a rerun resumes.\nExit code 1 when any file failed.',
    )
    .action(async (batchId: string, _options: DownloadOptions, command: Command) => {
      done(await runDownload(batchId, command.optsWithGlobals<DownloadOptions>(), ctx));
    });
}
