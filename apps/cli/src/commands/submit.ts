/**
 * `genqueue submit <file>`: sends a prompt file as one batch, prints its id, and with `--wait`
 * follows it to the end.
 */
import { createReadStream } from 'node:fs';
import { Command } from 'commander';
import type { BatchSubmission } from '../client.ts';
import { type CliContext, clientFor, type GlobalOptions } from '../context.ts';
import { EXIT_FAILURE } from '../errors.ts';
import { formatRejected } from '../format.ts';
import { assertReadableFile, inputFormat, txtAsNdjson } from '../input-file.ts';
import { collect, commaList, httpUrl, integerIn, positiveNumber } from '../option-parsers.ts';
import { parseSet } from '../parse-set.ts';
import { formatOutcome } from '../progress.ts';
import { waitForBatch } from '../wait.ts';

/** Options of `submit`. */
export interface SubmitOptions extends GlobalOptions {
  operation: string;
  provider?: string;
  set?: string[];
  webhook?: string;
  events?: string[];
  maxPoints?: number;
  skipInvalid?: boolean;
  wait?: boolean;
  json?: boolean;
  pollInterval: number;
}

/** Builds the batch request for `file`: CSV/NDJSON streamed as is, `.txt` streamed as NDJSON prompts. */
export async function buildSubmission(file: string, options: SubmitOptions): Promise<BatchSubmission> {
  const format = inputFormat(file);
  await assertReadableFile(file);
  const settings = {
    provider: options.provider,
    operation: options.operation,
    defaults: parseSet(options.set ?? []),
    webhookUrl: options.webhook,
    events: options.events,
    maxPoints: options.maxPoints,
    skipInvalid: options.skipInvalid,
  };
  const body = format.kind === 'txt' ? txtAsNdjson(file) : createReadStream(file);
  return { ...settings, kind: 'stream', contentType: format.contentType, body };
}

/** Runs `submit`; resolves to the exit code. */
export async function runSubmit(file: string, options: SubmitOptions, ctx: CliContext): Promise<number> {
  const client = clientFor(ctx, options);
  const submission = await buildSubmission(file, options);
  const created = await client.submitBatch(submission);
  if (options.json) ctx.stdout.write(`${JSON.stringify(created)}\n`);
  else ctx.stdout.write(`${created.id}\n`);
  const rejected = created.rejected.length;
  ctx.stderr.write(
    `accepted ${created.total} job${created.total === 1 ? '' : 's'} in batch ${created.id}` +
      (rejected ? `; ${rejected} row${rejected === 1 ? '' : 's'} rejected:` : '') +
      '\n',
  );
  if (rejected) ctx.stderr.write(`${formatRejected(created.rejected).join('\n')}\n`);
  if (!options.wait) return 0;

  ctx.stderr.write('waiting for the batch (Ctrl-C stops waiting; the batch keeps running)\n');
  const view = await waitForBatch(client, created.id, ctx, { intervalMs: options.pollInterval });
  const outcome = formatOutcome(view);
  ctx.stderr.write(`${outcome.message}\n`);
  return outcome.ok ? 0 : EXIT_FAILURE;
}

/** The `submit` command. */
export function submitCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('submit')
    .description('submit a file of prompts as one batch and print its id')
    .argument('<file>', 'prompts: .csv, .jsonl/.ndjson (sent as is) or .txt (one prompt per line)')
    .requiredOption('--operation <name>', 'operation, e.g. kontext.text2img (see genqueue operations)')
    .option('--provider <name>', 'provider (the API defaults to liblib)')
    .option(
      '--set <key=value>',
      'input default for every row; repeatable; numbers, booleans and JSON are typed',
      collect,
    )
    .option('--webhook <url>', 'URL that receives signed job/batch events', httpUrl)
    .option(
      '--events <list>',
      'comma-separated events for --webhook, e.g. job.succeeded,job.failed (batch.completed is always sent)',
      commaList,
    )
    .option(
      '--max-points <n>',
      'cancel the rest of the batch once it has spent this many points',
      positiveNumber,
    )
    .option(
      '--skip-invalid',
      'accept the valid rows and report the others (default: one bad row refuses the batch)',
    )
    .option('--wait', 'show progress until the batch is done; exit 1 if any job failed')
    .option('--json', 'print the API answer as JSON instead of the batch id')
    .option('--poll-interval <ms>', 'time between progress polls with --wait', integerIn(100), 1000)
    .addHelpText(
      'after',
      `
Examples:
  $ genqueue submit prompts.txt --operation kontext.text2img --set aspectRatio=3:4 --wait
  $ genqueue submit rows.csv --operation kontext.text2img --max-points 5000 --skip-invalid
  $ genqueue submit rows.jsonl --operation kontext.text2img --webhook https://example.com/hook --events job.failed`,
    )
    .action(async (file: string, _options: SubmitOptions, command: Command) => {
      done(await runSubmit(file, command.optsWithGlobals<SubmitOptions>(), ctx));
    });
}
