/**
 * `genqueue operations`: what jobs may ask of this server, from `GET /v1/operations` (which the API
 * derives from the provider catalog).
 */
import { Command } from 'commander';
import { type CliContext, clientFor, type GlobalOptions } from '../context.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';

/** Options of `operations`. */
export interface OperationsOptions extends GlobalOptions {
  provider?: string;
  json?: boolean;
}

/** Runs `operations`; resolves to the exit code. */
export async function runOperations(options: OperationsOptions, ctx: CliContext): Promise<number> {
  const { providers } = await clientFor(ctx, options).getOperations();
  const shown = options.provider ? providers.filter((p) => p.name === options.provider) : providers;
  if (options.provider && shown.length === 0) {
    const valid = providers.map((p) => p.name).join(', ') || '(none)';
    throw new CliError(
      `provider ${options.provider} is not enabled on this server; enabled: ${valid}`,
      EXIT_USAGE,
    );
  }
  if (options.json) {
    ctx.stdout.write(`${JSON.stringify({ providers: shown }, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  for (const provider of shown) {
    lines.push(`${provider.name}  ${provider.description}`);
    const width = Math.max(...provider.operations.map((o) => o.name.length));
    for (const op of provider.operations) {
      lines.push(`  ${op.name.padEnd(width)}  ${op.output.padEnd(5)}  ${op.description}`);
    }
  }
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** The `operations` command. */
export function operationsCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('operations')
    .description('list the providers and operations this server accepts (use with submit --operation)')
    .option('--provider <name>', 'only this provider')
    .option('--json', "print the listing as JSON, with each operation's input as JSON Schema")
    .addHelpText(
      'after',
      `
Examples:
  $ genqueue operations
  $ genqueue operations --provider liblib --json`,
    )
    .action(async (_options: OperationsOptions, command: Command) => {
      done(await runOperations(command.optsWithGlobals<OperationsOptions>(), ctx));
    });
}
