/** `genqueue results <batchId> [--format jsonl|csv] [--out file]`: a batch's result file. */
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { type CliContext, clientFor, type GlobalOptions } from '../context.ts';

/** Options of `results`. */
export interface ResultsOptions extends GlobalOptions {
  format: 'jsonl' | 'csv';
  out?: string;
}

/**
 * Runs `results`; resolves to the exit code. The file is streamed: to stdout, or to a temporary
 * name beside `--out` and renamed once complete, so an interrupted run never leaves half a file.
 */
export async function runResults(batchId: string, options: ResultsOptions, ctx: CliContext): Promise<number> {
  const body = await clientFor(ctx, options).results(batchId, options.format);
  if (!options.out) {
    for await (const chunk of body) ctx.stdout.write((chunk as Buffer).toString('utf8'));
    return 0;
  }
  const temp = `${options.out}.part`;
  try {
    await pipeline(body, createWriteStream(temp));
    await rename(temp, options.out);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  ctx.stderr.write(`wrote the results of ${batchId} to ${options.out}\n`);
  return 0;
}

/** The `results` command. */
export function resultsCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('results')
    .description("write a batch's results file: one line per job with its state, input, outputs and error")
    .argument('<batchId>', 'batch id (b_…)')
    .addOption(new Option('--format <format>', 'jsonl or csv').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (batchId: string, _options: ResultsOptions, command: Command) => {
      done(await runResults(batchId, command.optsWithGlobals<ResultsOptions>(), ctx));
    });
}
