/** `genqueue status <batchId>`: counts, points and ETA of a batch. */
import { Command } from 'commander';
import { type CliContext, clientFor, type GlobalOptions, nowOf } from '../context.ts';
import { formatStatus } from '../progress.ts';

/** Options of `status`. */
export interface StatusOptions extends GlobalOptions {
  json?: boolean;
}

/** Runs `status`; resolves to the exit code. */
export async function runStatus(batchId: string, options: StatusOptions, ctx: CliContext): Promise<number> {
  const view = await clientFor(ctx, options).getBatch(batchId);
  ctx.stdout.write(
    options.json ? `${JSON.stringify(view, null, 2)}\n` : `${formatStatus(view, nowOf(ctx)())}\n`,
  );
  return 0;
}

/** The `status` command. */
export function statusCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('status')
    .description("show a batch's counts, points and ETA")
    .argument('<batchId>', 'batch id (b_…)')
    .option('--json', 'print the batch view as JSON')
    .action(async (batchId: string, _options: StatusOptions, command: Command) => {
      done(await runStatus(batchId, command.optsWithGlobals<StatusOptions>(), ctx));
    });
}
