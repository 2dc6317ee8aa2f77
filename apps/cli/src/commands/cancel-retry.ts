/** `genqueue cancel <batchId>` and `genqueue retry <batchId>`. */
import { Command } from 'commander';
import { type CliContext, clientFor, type GlobalOptions } from '../context.ts';

/** Options of `cancel` and `retry`. */
export interface BatchActionOptions extends GlobalOptions {
  json?: boolean;
}

function describe(answer: Record<string, unknown>): string {
  // Print what the API reports (counts of jobs affected and the like), key by key.
  return Object.entries(answer)
    .filter(([, value]) => value === null || typeof value !== 'object')
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
}

/** Runs `cancel` or `retry`; resolves to the exit code. */
export async function runBatchAction(
  action: 'cancel' | 'retry',
  batchId: string,
  options: BatchActionOptions,
  ctx: CliContext,
): Promise<number> {
  const client = clientFor(ctx, options);
  const answer = action === 'cancel' ? await client.cancelBatch(batchId) : await client.retryBatch(batchId);
  if (options.json) ctx.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  else {
    const verb = action === 'cancel' ? 'cancel requested for' : 'retry requested for';
    const detail = describe(answer);
    ctx.stdout.write(`${verb} batch ${batchId}${detail ? `: ${detail}` : ''}\n`);
  }
  return 0;
}

/** The `cancel` command. */
export function cancelCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('cancel')
    .description("cancel a batch's unfinished jobs (finished ones keep their results)")
    .argument('<batchId>', 'batch id (b_…)')
    .option('--json', 'print the API answer as JSON')
    .action(async (batchId: string, _options: BatchActionOptions, command: Command) => {
      done(await runBatchAction('cancel', batchId, command.optsWithGlobals<BatchActionOptions>(), ctx));
    });
}

/** The `retry` command. */
export function retryCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('retry')
    .description("queue a batch's failed jobs again")
    .argument('<batchId>', 'batch id (b_…)')
    .option('--json', 'print the API answer as JSON')
    .action(async (batchId: string, _options: BatchActionOptions, command: Command) => {
      done(await runBatchAction('retry', batchId, command.optsWithGlobals<BatchActionOptions>(), ctx));
    });
}
