/**
 * `genqueue run --operation <op> [--set k=v]… [--image ./photo.png]… [--wait] [--out dir]`: one
 * job. Local images travel inside the request as `data:` URLs; with `--wait` the command follows
 * the job to its end and downloads its outputs.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { JobView } from '@genqueue/model';
import { Command } from 'commander';
import { type CliContext, clientFor, type GlobalOptions, sleepOf } from '../context.ts';
import { alreadyPresent, fetchOutput, targetPath } from '../download.ts';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from '../errors.ts';
import { collect, integerIn } from '../option-parsers.ts';
import { parseSet } from '../parse-set.ts';

/** Options of `run`. */
export interface RunOptions extends GlobalOptions {
  operation: string;
  provider?: string;
  set?: string[];
  image?: string[];
  imageField: string;
  wait?: boolean;
  out: string;
  json?: boolean;
  pollInterval: number;
}

/** Largest local image sent inline: the API allows 10 MB per image (see BODY_LIMIT in the API). */
const MAX_INLINE_IMAGE_BYTES = 10 * 1024 * 1024;
const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

/** A local image file as a `data:` URL; refuses files the API's body limit would refuse. */
export async function imageDataUrl(path: string): Promise<string> {
  const type = IMAGE_TYPES[extname(path).toLowerCase()];
  if (!type) throw new CliError(`${path}: not a .png, .jpg, .webp or .gif file`, EXIT_USAGE);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new CliError(`${path}: ${(error as NodeJS.ErrnoException).code ?? 'cannot be read'}`, EXIT_USAGE);
  }
  if (bytes.length > MAX_INLINE_IMAGE_BYTES) {
    throw new CliError(
      `${path} is ${bytes.length} bytes; a local image may be at most ${MAX_INLINE_IMAGE_BYTES} (pass a URL with --set instead)`,
      EXIT_USAGE,
    );
  }
  return `data:${type};base64,${bytes.toString('base64')}`;
}

/** The job's input: `--set` values, then the images in `--image-field` (a list for `*_list` fields). */
export async function runInput(options: RunOptions): Promise<Record<string, unknown>> {
  const input = parseSet(options.set ?? []);
  const images = await Promise.all((options.image ?? []).map(imageDataUrl));
  if (images.length > 0) {
    input[options.imageField] =
      options.imageField.endsWith('_list') || images.length > 1 ? images : images[0];
  }
  return input;
}

/** Runs `run`; resolves to the exit code (1 when the job did not succeed or a file did not download). */
export async function runRun(options: RunOptions, ctx: CliContext): Promise<number> {
  const client = clientFor(ctx, options);
  const created = await client.submitJob({
    provider: options.provider,
    operation: options.operation,
    input: await runInput(options),
  });
  if (!options.wait) {
    ctx.stdout.write(options.json ? `${JSON.stringify(created, null, 2)}\n` : `${created.id}\n`);
    return 0;
  }
  ctx.stderr.write(`job ${created.id} ${created.state}\n`);
  let job: JobView = await client.getJob(created.id);
  let last = job.state;
  while (!TERMINAL.has(job.state)) {
    await sleepOf(ctx)(options.pollInterval);
    job = await client.getJob(created.id);
    if (job.state !== last) ctx.stderr.write(`job ${job.id} ${job.state}\n`);
    last = job.state;
  }
  if (options.json) ctx.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
  if (job.state !== 'succeeded') {
    ctx.stderr.write(`job ${job.id} ${job.state}: ${job.error?.code ?? ''} ${job.error?.message ?? ''}\n`);
    return EXIT_FAILURE;
  }
  let failed = 0;
  for (const output of job.outputs) {
    const path = targetPath(options.out, output.key);
    try {
      if (!(await alreadyPresent(path, output))) await fetchOutput(client, output, path);
      if (!options.json) ctx.stdout.write(`${path}\n`);
    } catch (error) {
      failed++;
      ctx.stderr.write(`failed ${output.key}: ${(error as Error).message}\n`);
    }
  }
  return failed > 0 ? EXIT_FAILURE : 0;
}

/** The `run` command. */
export function runCommand(ctx: CliContext, done: (code: number) => void): Command {
  return new Command('run')
    .description('submit one job; with --wait, follow it and download its outputs')
    .requiredOption('--operation <name>', 'operation, e.g. kontext.img2img (see the README)')
    .option('--provider <name>', 'provider (the API defaults to liblib)')
    .option('--set <key=value>', 'an input field (repeatable); values typed like JSON', collect)
    .option('--image <file>', 'a local image as input (repeatable), sent inline', collect)
    .option('--image-field <name>', 'the input field the images go in', 'image_list')
    .option('--wait', 'wait for the job to end and download its outputs; exit 1 unless it succeeded')
    .option('--out <dir>', 'where --wait writes the outputs', '.')
    .option('--json', 'print the API answer (or the finished job view) as JSON')
    .option('--poll-interval <ms>', 'time between polls with --wait', integerIn(100), 1000)
    .addHelpText(
      'after',
      '\nExample:\n  $ genqueue run --operation kontext.img2img --set prompt="make it night" --image ./photo.png --wait',
    )
    .action(async (options: RunOptions, command: Command) => {
      done(await runRun({ ...options, ...command.optsWithGlobals<RunOptions>() }, ctx));
    });
}
