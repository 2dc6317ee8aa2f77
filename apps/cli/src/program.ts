/**
 * The `genqueue` command line as a commander program, run against an injected context so tests
 * can drive it in-process. `main.ts` runs it on the real process.
 */
import { Command, CommanderError } from 'commander';
import { accountsCommand } from './commands/accounts.ts';
import { cancelCommand, retryCommand } from './commands/cancel-retry.ts';
import { downloadCommand } from './commands/download.ts';
import { jobsCommand } from './commands/jobs.ts';
import { operationsCommand } from './commands/operations.ts';
import { resultsCommand } from './commands/results.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { submitCommand } from './commands/submit.ts';
import type { CliContext } from './context.ts';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors.ts';
import { formatError } from './format.ts';

/** The CLI's version, shown by `--version`. */
export const CLI_VERSION = '0.1.0';

const GLOBAL_HELP = `
Environment:
  GENQUEUE_URL          API URL (default http://127.0.0.1:3000); --url wins
  GENQUEUE_TOKEN        API bearer token; --token wins (prefer the variable: flags show up in ps)
  GENQUEUE_ADMIN_TOKEN  admin bearer token (one of ADMIN_TOKENS) for \`accounts\`; else GENQUEUE_TOKEN

Exit codes:
  0  success
  1  the work did not succeed: a job failed (submit --wait), a file did not download, a server
     error, or the API cannot be reached
  2  the request was refused: bad arguments, or an API 4xx (the API's message is printed)`;

/** Builds the program; `done` receives the exit code of the command that ran. */
export function createProgram(ctx: CliContext, done: (code: number) => void): Command {
  const program = new Command('genqueue')
    .description('Submit prompt files to genqueue, follow batches and download their images.')
    .version(CLI_VERSION)
    .option('--url <url>', 'API URL (env GENQUEUE_URL, default http://127.0.0.1:3000)')
    .option('--token <token>', 'API bearer token (env GENQUEUE_TOKEN)')
    .addHelpText('after', GLOBAL_HELP);
  const commands = [
    submitCommand(ctx, done),
    operationsCommand(ctx, done),
    statusCommand(ctx, done),
    jobsCommand(ctx, done),
    downloadCommand(ctx, done),
    resultsCommand(ctx, done),
    runCommand(ctx, done),
    cancelCommand(ctx, done),
    retryCommand(ctx, done),
    accountsCommand(ctx, done),
  ];
  // Commands built with `new Command` inherit nothing, so each gets the same output and exit handling.
  for (const command of [program, ...commands, ...commands.flatMap((c) => c.commands)]) {
    command
      .exitOverride()
      .showHelpAfterError('(run with --help for usage)')
      .configureOutput({
        writeOut: (text) => ctx.stdout.write(text),
        writeErr: (text) => ctx.stderr.write(text),
      });
  }
  for (const command of commands) program.addCommand(command);
  return program;
}

/**
 * Runs the CLI on `argv` (as in `process.argv`: node, script, then arguments) and resolves to the
 * exit code. Errors are printed on `ctx.stderr` as one readable message, never with a stack or
 * the token.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  let code = 0;
  const program = createProgram(ctx, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return code;
  } catch (error) {
    // Commander already printed its message (unknown option, missing argument, help, version).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    ctx.stderr.write(`${formatError(error)}\n`);
    if (ctx.env.GENQUEUE_DEBUG && error instanceof Error && !(error instanceof CliError)) {
      ctx.stderr.write(`${error.stack ?? ''}\n`);
    }
    return error instanceof CliError ? error.exitCode : EXIT_FAILURE;
  }
}
