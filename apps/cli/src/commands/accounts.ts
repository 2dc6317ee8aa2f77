/**
 * `genqueue accounts`: the provider accounts table, from `GET /v1/accounts`; and
 * `genqueue accounts set <provider> <id>`: changes one account's limits or pauses and resumes it
 * (`PATCH /v1/accounts/:provider/:id`), for every worker from its next submission on.
 *
 * Both need an admin credential: `--token`, else `GENQUEUE_ADMIN_TOKEN`, else `GENQUEUE_TOKEN`
 * (which then must be one of the server's `ADMIN_TOKENS`).
 */
import type { AccountView } from '@genqueue/model';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AccountChange } from '../client.ts';
import { type CliContext, clientFor, type GlobalOptions } from '../context.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';

/** Options of `accounts`. */
export interface AccountsOptions extends GlobalOptions {
  provider?: string;
  json?: boolean;
}

/** Options of `accounts set`. */
export interface AccountSetOptions extends GlobalOptions {
  /** `default`: back to the configured value. */
  qps?: number | 'default';
  maxInFlight?: number | 'default';
  pause?: boolean;
  resume?: boolean;
  json?: boolean;
}

/** The admin client: `--token` wins, then `GENQUEUE_ADMIN_TOKEN`, then `GENQUEUE_TOKEN`. */
function adminClient(ctx: CliContext, options: GlobalOptions) {
  return clientFor(ctx, { ...options, token: options.token ?? ctx.env.GENQUEUE_ADMIN_TOKEN });
}

const HEADER = ['PROVIDER', 'ACCOUNT', 'IN FLIGHT', 'QPS', 'SUBMITTED', 'POINTS', 'BALANCE', 'TAGS', 'STATE'];

function limit(value: number, configured: number): string {
  return value === configured ? String(value) : `${value}*`;
}

function clock(iso: string): string {
  return iso.slice(11, 19);
}

/** What the STATE column says: `live`, or why it is paused and what comes next. */
export function accountState(account: AccountView): string {
  const pause = account.pause;
  if (!account.paused || !pause) return 'live';
  if (pause.manual) return `paused by an operator since ${clock(pause.since)} UTC`;
  const probe = pause.nextProbeAt ? `, next probe ${clock(pause.nextProbeAt)} UTC` : '';
  return `paused: ${pause.reason}${probe}`;
}

/**
 * The accounts as an aligned table, one line per account. A limit changed at run time carries a
 * `*` (the configured value is in `--json`).
 */
export function formatAccounts(accounts: readonly AccountView[]): string[] {
  const rows = accounts.map((a) => [
    a.provider,
    a.id,
    `${a.inFlight}/${limit(a.limits.maxInFlight, a.configuredLimits.maxInFlight)}`,
    limit(a.limits.submitQps, a.configuredLimits.submitQps),
    String(a.submitted),
    String(a.pointsSpent),
    a.balance ? String(a.balance.value) : '-',
    a.tags.length > 0 ? a.tags.join(',') : '-',
    accountState(a),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const lines = [line(HEADER), ...rows.map(line)];
  const changed = accounts.some(
    (a) =>
      a.limits.maxInFlight !== a.configuredLimits.maxInFlight ||
      a.limits.submitQps !== a.configuredLimits.submitQps,
  );
  if (changed) lines.push('* changed at run time (configured values: --json, configuredLimits)');
  return lines;
}

/** Runs `accounts`; resolves to the exit code. */
export async function runAccounts(options: AccountsOptions, ctx: CliContext): Promise<number> {
  const { accounts } = await adminClient(ctx, options).getAccounts();
  const shown = options.provider ? accounts.filter((a) => a.provider === options.provider) : accounts;
  if (options.provider && shown.length === 0) {
    const valid = [...new Set(accounts.map((a) => a.provider))].join(', ') || '(none)';
    throw new CliError(
      `provider ${options.provider} has no account on this server; providers: ${valid}`,
      EXIT_USAGE,
    );
  }
  if (options.json) {
    ctx.stdout.write(`${JSON.stringify({ accounts: shown }, null, 2)}\n`);
    return 0;
  }
  ctx.stdout.write(`${formatAccounts(shown).join('\n')}\n`);
  return 0;
}

/** Runs `accounts set`; resolves to the exit code. */
export async function runAccountSet(
  provider: string,
  id: string,
  options: AccountSetOptions,
  ctx: CliContext,
): Promise<number> {
  if (options.pause && options.resume) throw new CliError('give --pause or --resume, not both', EXIT_USAGE);
  const change: AccountChange = {
    ...(options.qps !== undefined ? { submitQps: options.qps === 'default' ? null : options.qps } : {}),
    ...(options.maxInFlight !== undefined
      ? { maxInFlight: options.maxInFlight === 'default' ? null : options.maxInFlight }
      : {}),
    ...(options.pause ? { paused: true } : options.resume ? { paused: false } : {}),
  };
  if (Object.keys(change).length === 0) {
    throw new CliError('nothing to change: give --qps, --max-in-flight, --pause or --resume', EXIT_USAGE);
  }
  const account = await adminClient(ctx, options).changeAccount(provider, id, change);
  if (options.json) ctx.stdout.write(`${JSON.stringify(account, null, 2)}\n`);
  else ctx.stdout.write(`${formatAccounts([account]).join('\n')}\n`);
  return 0;
}

/**
 * `--qps` and `--max-in-flight` take a number, or `default` for the configured value (kept as the
 * word: commander turns a parser's `null` into an empty string).
 */
function limitValue(kind: 'qps' | 'integer'): (raw: string) => number | 'default' {
  return (raw) => {
    if (raw.trim() === 'default') return 'default';
    const n = Number(raw);
    const ok =
      raw.trim() !== '' &&
      Number.isFinite(n) &&
      (kind === 'qps' ? n > 0 : Number.isInteger(n) && n >= 1 && n <= 1000);
    if (!ok) {
      throw new InvalidArgumentError(
        kind === 'qps'
          ? 'expected a number > 0 (submissions per second), or default'
          : 'expected an integer from 1 to 1000, or default',
      );
    }
    return n;
  };
}

/** The `accounts` command, with its `set` subcommand. */
export function accountsCommand(ctx: CliContext, done: (code: number) => void): Command {
  const set = new Command('set')
    .description("change one account's limits, or pause or resume it (from the next submission on)")
    .argument('<provider>', 'provider name, e.g. liblib')
    .argument('<id>', 'account id, e.g. main (the single-account configuration is default)')
    .option('--qps <n>', 'submissions per second, or default for the configured value', limitValue('qps'))
    .option(
      '--max-in-flight <n>',
      'tasks in flight, or default for the configured value',
      limitValue('integer'),
    )
    .addOption(new Option('--pause', 'pause the account until resumed (jobs wait; it is never probed)'))
    .addOption(new Option('--resume', 'resume the account, whatever paused it'))
    .option('--json', "print the account's new state as JSON")
    .action(async (provider: string, id: string, _options: AccountSetOptions, command: Command) => {
      done(await runAccountSet(provider, id, command.optsWithGlobals<AccountSetOptions>(), ctx));
    });
  return new Command('accounts')
    .description('list the provider accounts: limits, in flight, pause, points, balance (admin token)')
    .option('--provider <name>', 'only this provider')
    .option('--json', 'print the accounts as JSON')
    .addHelpText(
      'after',
      `
Needs an admin credential: --token, GENQUEUE_ADMIN_TOKEN or GENQUEUE_TOKEN set to one of the
server's ADMIN_TOKENS (an API token gets HTTP 403).

Examples:
  $ genqueue accounts
  $ genqueue accounts set liblib team2 --max-in-flight 2 --qps 0.5
  $ genqueue accounts set liblib team2 --pause
  $ genqueue accounts set liblib team2 --resume --max-in-flight default`,
    )
    .action(async (_options: AccountsOptions, command: Command) => {
      done(await runAccounts(command.optsWithGlobals<AccountsOptions>(), ctx));
    })
    .addCommand(set);
}
