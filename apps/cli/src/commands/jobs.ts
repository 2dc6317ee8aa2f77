/** `genqueue jobs <batchId>`: lists a batch's jobs, page after page. */
import type { JobState } from '@genqueue/model';
import { Command } from 'commander';
import { type CliContext, clientFor, type GlobalOptions } from '../context.ts';
import { formatJobLine } from '../format.ts';
import { integerIn, jobState } from '../option-parsers.ts';

/** Jobs asked for per page. */
export const JOBS_PAGE_SIZE = 100;

/** Options of `jobs`. */
export interface JobsOptions extends GlobalOptions {
  state?: JobState;
  limit?: number;
  json?: boolean;
}

/** Runs `jobs`; resolves to the exit code. */
export async function runJobs(batchId: string, options: JobsOptions, ctx: CliContext): Promise<number> {
  const client = clientFor(ctx, options);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let printed = 0;
  let cursor: string | undefined;
  // A JSON array written item by item, so a 50,000-job batch is never held in memory.
  if (options.json) ctx.stdout.write('[');
  while (printed < limit) {
    const page = await client.listBatchJobs(batchId, {
      state: options.state,
      limit: Math.min(JOBS_PAGE_SIZE, limit - printed),
      cursor,
    });
    for (const job of page.items.slice(0, limit - printed)) {
      if (options.json) ctx.stdout.write(`${printed === 0 ? '\n' : ',\n'}${JSON.stringify(job)}`);
      else ctx.stdout.write(`${formatJobLine(job)}\n`);
      printed++;
    }
    cursor = page.nextCursor ?? undefined;
    if (!cursor) break;
  }
  if (options.json) ctx.stdout.write(printed === 0 ? ']\n' : '\n]\n');
  else if (printed === 0) {
    ctx.stderr.write(`no ${options.state ? `${options.state} ` : ''}jobs in batch ${batchId}\n`);
  }
  return 0;
}

/** The `jobs` command. */
export function jobsCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('jobs')
    .description("list a batch's jobs: id, state, then the error or the output keys")
    .argument('<batchId>', 'batch id (b_…)')
    .option(
      '--state <state>',
      'only jobs in this state (queued, running, succeeded, failed, canceled, …)',
      jobState,
    )
    .option('--limit <n>', 'print at most this many jobs', integerIn(1))
    .option('--json', 'print a JSON array of job views')
    .action(async (batchId: string, _options: JobsOptions, command: Command) => {
      done(await runJobs(batchId, command.optsWithGlobals<JobsOptions>(), ctx));
    });
}
