/** `genqueue cancel <batchId>` and `genqueue retry <batchId>`. */
import { Command } from 'commander';
import { type CliContext, clientFor, type GlobalOptions } from '../context.ts';

/** Options of `cancel` and `retry`. */
export interface BatchActionOptions extends GlobalOptions {
  json?: boolean;
}

const jobs = (n: number) => `${n} job${n === 1 ? '' : 's'}`;

/** What the API answered, in words: `{ id, canceled }` for cancel, `{ id, requeued }` for retry. */
export function describeBatchAction(
  action: 'cancel' | 'retry',
  batchId: string,
  answer: Record<string, unknown>,
): string {
  if (action === 'cancel' && typeof answer.canceled === 'number') {
    return `canceled ${jobs(answer.canceled)} of batch ${batchId} (finished jobs keep their results)`;
  }
  if (action === 'retry' && typeof answer.requeued === 'number') {
    return answer.requeued === 0
      ? `batch ${batchId} has no failed jobs to retry`
      : `requeued ${jobs(answer.requeued)} of batch ${batchId}; follow it with: genqueue status ${batchId}`;
  }
  return `${action} requested for batch ${batchId}`;
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
  else ctx.stdout.write(`${describeBatchAction(action, batchId, answer)}\n`);
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
