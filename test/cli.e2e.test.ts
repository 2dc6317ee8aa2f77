/**
 * The `genqueue` CLI end to end: the real binary (`apps/cli/bin/genqueue.js`) as a child process
 * against the whole stack (API, worker, LiblibAI simulator, s3rver, Redis).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { BatchView, JobView } from '@genqueue/core';
import { descriptorOf, listOperations } from '@genqueue/providers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, readObject, type Stack, startStack, TEST_TOKEN } from './support/stack.ts';

const BIN = 'apps/cli/bin/genqueue.js';
let stack: Stack;
let dir: string;
const outputs: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    sim: { submitQps: 20, maxInFlight: 5, latencyMs: { min: 100, max: 300 } },
    env: { LIBLIB_SUBMIT_QPS: '20', LIBLIB_MAX_IN_FLIGHT: '5' },
  });
  dir = await mkdtemp(join(tmpdir(), 'genqueue-cli-e2e-'));
});

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI binary; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}) {
  const { GENQUEUE_URL: _url, GENQUEUE_TOKEN: _token, ...inherited } = process.env;
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...inherited, GENQUEUE_URL: stack.api.url, GENQUEUE_TOKEN: TEST_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

async function batch(id: string): Promise<BatchView> {
  const { status, body } = await stack.call<BatchView>('GET', `/v1/batches/${id}`);
  expect(status).toBe(200);
  return body;
}

async function batchJobs(id: string): Promise<JobView[]> {
  const { body } = await stack.call<{ items: JobView[] }>('GET', `/v1/batches/${id}/jobs?limit=1000`);
  return body.items;
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)));
}

const BATCH_ID = /^b_[0-9a-z]+$/;
let txtBatch: string;
let csvBatch: string;

describe('genqueue CLI', () => {
  it('submits a .txt and a .csv file, waits with progress, and exits 0 once every job succeeded', async () => {
    const txt = join(dir, 'prompts.txt');
    const prompts = Array.from({ length: 10 }, (_, i) => `a lighthouse at dusk, take ${i}`);
    // Blank lines are skipped.
    await writeFile(txt, `${prompts.slice(0, 5).join('\n')}\n\n${prompts.slice(5).join('\n')}\n`);
    const csv = join(dir, 'rows.csv');
    const rows = Array.from({ length: 10 }, (_, i) => `"a red fox, number ${i}",${i % 2 ? '1:1' : '16:9'}`);
    await writeFile(csv, `prompt,aspectRatio\n${rows.join('\n')}\n`);

    // Both at once: the two batches share the account's limits, as they would in production.
    const wait = ['--wait', '--poll-interval', '200'];
    const [fromTxt, fromCsv] = await Promise.all([
      cli(['submit', txt, '--operation', 'kontext.text2img', '--set', 'aspectRatio=3:4', ...wait]),
      cli(['submit', csv, '--operation', 'kontext.text2img', '--set', 'imgCount=2', ...wait]),
    ]);

    expect(fromTxt.stderr).toContain('all 10 jobs succeeded');
    expect(fromTxt.code).toBe(0);
    txtBatch = fromTxt.stdout.trim();
    expect(txtBatch).toMatch(BATCH_ID);
    expect(fromTxt.stderr).toMatch(/10\/10 {2}100% {2}ok 10 {2}failed 0/);
    expect((await batch(txtBatch)).counts.succeeded).toBe(10);
    const txtJobs = await batchJobs(txtBatch);
    expect(txtJobs.map((j) => j.input.prompt).sort()).toEqual([...prompts].sort());
    expect(txtJobs.every((j) => j.input.aspectRatio === '3:4')).toBe(true);

    expect(fromCsv.code).toBe(0);
    csvBatch = fromCsv.stdout.trim();
    expect(csvBatch).toMatch(BATCH_ID);
    const csvJobs = await batchJobs(csvBatch);
    expect(csvJobs).toHaveLength(10);
    for (const job of csvJobs) {
      // Per-row fields from the CSV, defaults from --set.
      const n = Number(/number (\d+)/.exec(String(job.input.prompt))![1]);
      expect(job.input.aspectRatio).toBe(n % 2 ? '1:1' : '16:9');
      expect(job.state).toBe('succeeded');
      expect(job.outputs).toHaveLength(2);
    }
  });

  it('downloads every output byte for byte, then skips them all on a second run', async () => {
    const out = join(dir, 'out');
    const first = await cli(['download', csvBatch, '--out', out, '--concurrency', '4']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^downloaded 20 files \(.+\), skipped 0 already present, failed 0/);

    const keys = (await batchJobs(csvBatch)).flatMap((j) => j.outputs.map((o) => o.key));
    expect(keys).toHaveLength(20);
    // Exactly the outputs: no temporary files left behind.
    expect((await filesUnder(out)).sort()).toEqual([...keys].sort());
    for (const key of keys) {
      expect((await readFile(join(out, key))).equals(await readObject(stack, key))).toBe(true);
    }

    const second = await cli(['download', csvBatch, '--out', out]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^downloaded 0 files \(0 B\), skipped 20 already present, failed 0/);
  });

  it('shows status, lists jobs, and finds no failed ones', async () => {
    const status = await cli(['status', txtBatch]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`batch     ${txtBatch}`);
    expect(status.stdout).toContain(
      'jobs      10 total: 10 succeeded, 0 failed, 0 canceled, 0 running, 0 queued',
    );
    expect(status.stdout).toMatch(/points {4}\d+/);
    const json = JSON.parse((await cli(['status', txtBatch, '--json'])).stdout) as BatchView;
    expect(json).toMatchObject({ id: txtBatch, done: true, total: 10 });

    const failed = await cli(['jobs', txtBatch, '--state', 'failed']);
    expect(failed).toMatchObject({ code: 0, stdout: '' });
    expect(failed.stderr).toContain(`no failed jobs in batch ${txtBatch}`);

    const some = await cli(['jobs', txtBatch, '--limit', '3']);
    const lines = some.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines)
      expect(line).toMatch(new RegExp(`^${txtBatch}-[0-9a-f]{16}  succeeded   \\S+\\.png$`));
  });

  it('exits 1 when a job fails, lists it, and retry requeues it', async () => {
    const file = join(dir, 'mixed.txt');
    await writeFile(file, 'a quiet harbour\nsomething forbidden\n');
    const result = await cli([
      'submit',
      file,
      '--operation',
      'kontext.text2img',
      '--wait',
      '--poll-interval',
      '200',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('1 of 2 jobs failed, 1 succeeded');
    const id = result.stdout.trim();

    const failed = await cli(['jobs', id, '--state', 'failed']);
    const second = (await stack.itemIds(id))[1];
    expect(failed.stdout).toMatch(new RegExp(`^${second}  failed      100052: `));

    const retry = await cli(['retry', id]);
    expect(retry).toMatchObject({
      code: 0,
      stdout: `requeued 1 job of batch ${id}; follow it with: genqueue status ${id}\n`,
    });
    await stack.waitFor(async () => (await batch(id)).done, 30_000, 'the retried batch to end');

    // A finished batch cannot be canceled: the API's 409, exit 2.
    const cancel = await cli(['cancel', id]);
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toBe('error: batch already done (HTTP 409 conflict)\n');
  });

  it("lists the server's providers and operations, as text and as JSON Schema", async () => {
    const liblib = descriptorOf('liblib');
    const text = await cli(['operations']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`liblib  ${liblib.description}`);
    expect(lines.slice(1).map((line) => line.trim().split(/\s+/)[0])).toEqual(Object.keys(liblib.operations));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}kling\.text2video +video {2}\S/));

    const json = await cli(['operations', '--provider', 'liblib', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ providers: listOperations([liblib]) });

    const other = await cli(['operations', '--provider', 'replicate']);
    expect(other.code).toBe(2);
    expect(other.stderr).toBe('error: provider replicate is not enabled on this server; enabled: liblib\n');
  });

  it('prints the API refusal of an unknown operation with exit 2', async () => {
    const result = await cli(['submit', join(dir, 'prompts.txt'), '--operation', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: .*unknown operation "nope".* \(HTTP 400 invalid_request\)\n/);
  });

  it('names the bad line of a .txt file, skips it with --skip-invalid, and cancels the batch', async () => {
    const file = join(dir, 'one-bad.txt');
    await writeFile(file, `a calm sea\n\n${'x'.repeat(2001)}\na stormy sea\n`);
    const refused = await cli(['submit', file, '--operation', 'kontext.text2img']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('(HTTP 400 invalid_request)');
    expect(refused.stderr).toContain('  row 2 (line 3): input.prompt: must be at most 2000 characters');

    // Slow generations, so the batch is surely still running when it is canceled.
    stack.sim.configure({ latencyMs: { min: 3_000, max: 3_000 } });
    try {
      const accepted = await cli(['submit', file, '--operation', 'kontext.text2img', '--skip-invalid']);
      expect(accepted.code).toBe(0);
      const id = accepted.stdout.trim();
      expect(id).toMatch(BATCH_ID);
      expect(accepted.stderr).toContain(`accepted 2 jobs in batch ${id}; 1 row rejected:`);
      expect(accepted.stderr).toContain('  row 2 (line 3): input.prompt: must be at most 2000 characters');

      const cancel = await cli(['cancel', id]);
      expect(cancel.code).toBe(0);
      expect(cancel.stdout).toMatch(
        new RegExp(`^canceled [0-2] jobs? of batch ${id} \\(finished jobs keep their results\\)\n$`),
      );
      const view = await stack.waitFor(
        async () => {
          const b = await batch(id);
          return b.done ? b : undefined;
        },
        30_000,
        'the canceled batch to end',
      );
      expect(view.counts.canceled).toBeGreaterThan(0);
      expect(view.counts.failed).toBe(0);
    } finally {
      stack.sim.configure({ latencyMs: { min: 100, max: 300 } });
    }
  });

  it('writes the results file of a batch as jsonl (stdout) and csv (--out)', async () => {
    const jsonl = await cli(['results', txtBatch]);
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as JobView);
    const jobs = await batchJobs(txtBatch);
    expect(lines.map((l) => [l.id, l.state, l.outputs.map((o) => o.sha256)])).toEqual(
      jobs.map((j) => [j.id, j.state, j.outputs.map((o) => o.sha256)]),
    );
    const out = join(dir, 'results.csv');
    const csv = await cli(['results', txtBatch, '--format', 'csv', '--out', out]);
    expect(csv.code).toBe(0);
    const rows = (await readFile(out, 'utf8')).trim().split('\r\n');
    expect(rows[0]).toMatch(/^id,state,prompt,/);
    expect(rows).toHaveLength(jobs.length + 1);
    const missing = await cli(['results', 'b_0000000000000000000000']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('batch not found');
  });

  it('runs one img2img job with a local image, waits, and downloads its output', async () => {
    const photo = join(dir, 'photo.png');
    await writeFile(photo, await readObject(stack, (await batchJobs(txtBatch))[0]!.outputs[0]!.key));
    const out = join(dir, 'run-out');
    const run = await cli([
      'run',
      '--operation',
      'kontext.img2img',
      '--set',
      'prompt=the same lighthouse at night',
      '--image',
      photo,
      '--wait',
      '--out',
      out,
      '--poll-interval',
      '200',
    ]);
    expect(run.stderr).toMatch(/succeeded/);
    expect(run.code).toBe(0);
    const files = await filesUnder(out);
    expect(files.length).toBeGreaterThan(0);
    const jobId = /^jobs\/(j_[0-9a-z]+)\//.exec(files[0]!)?.[1];
    const job = await stack.job(jobId!);
    expect(job).toMatchObject({ state: 'succeeded', operation: 'kontext.img2img' });
    expect(job.input.prompt).toBe('the same lighthouse at night');
    expect(String((job.input.image_list as string[])[0])).toMatch(/^data:image\/png;base64,/);
    const tooBig = join(dir, 'big.png');
    await writeFile(tooBig, Buffer.alloc(10 * 1024 * 1024 + 1));
    const refused = await cli([
      'run',
      '--operation',
      'kontext.img2img',
      '--set',
      'prompt=x',
      '--image',
      tooBig,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('at most');
  });

  it('says so in one line when the token is wrong, and when no API listens', async () => {
    const unauthorized = await cli(['status', txtBatch], { GENQUEUE_TOKEN: 'wrong-token-123' });
    expect(unauthorized.code).toBe(2);
    expect(unauthorized.stderr).toMatch(/\(HTTP 401 unauthorized\)\nhint: set GENQUEUE_TOKEN/);
    expect(unauthorized.stderr).not.toContain('wrong-token-123');

    const refused = await cli(['status', txtBatch, '--url', 'http://127.0.0.1:9']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: cannot reach http:\/\/127\.0\.0\.1:9 \(connection refused\)\nhint: /,
    );
  });

  it('lists the accounts and changes one with an admin token; an API token is refused with a hint', async () => {
    const admin = { GENQUEUE_ADMIN_TOKEN: ADMIN_TOKEN };
    const table = await cli(['accounts'], admin);
    expect(table.code, table.stderr).toBe(0);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual([
      'PROVIDER',
      'ACCOUNT',
      'IN FLIGHT',
      'QPS',
      'SUBMITTED',
      'POINTS',
      'BALANCE',
      'TAGS',
      'STATE',
    ]);
    expect(row!.split(/\s{2,}/).slice(0, 4)).toEqual(['liblib', 'default', '0/5', '20']);
    expect(row).toMatch(/live$/);
    expect(rest).toEqual([]);

    const refused = await cli(['accounts']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/\(HTTP 403 forbidden\)\nhint: this needs an admin token/);

    const changed = await cli(
      ['accounts', 'set', 'liblib', 'default', '--max-in-flight', '2', '--pause'],
      admin,
    );
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/liblib\s+default\s+0\/2\*\s+20\s.*paused by an operator since/);
    expect(changed.stdout).toContain('* changed at run time');
    const json = await cli(['accounts', '--json', '--provider', 'liblib'], admin);
    expect(JSON.parse(json.stdout).accounts[0]).toMatchObject({
      limits: { maxInFlight: 2 },
      configuredLimits: { maxInFlight: 5 },
      paused: true,
      pause: { manual: true },
    });

    const back = await cli(
      ['accounts', 'set', 'liblib', 'default', '--max-in-flight', 'default', '--resume'],
      admin,
    );
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(/liblib\s+default\s+0\/5\s+20\s.*live$/m);

    const bad = await cli(['accounts', 'set', 'liblib', 'default', '--qps', '0'], admin);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--qps <n>' argument '0' is invalid");
    const unknown = await cli(['accounts', 'set', 'liblib', 'nobody', '--pause'], admin);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/liblib has no account nobody \(HTTP 404 not_found\)/);
    const nothing = await cli(['accounts', 'set', 'liblib', 'default'], admin);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to change');
    for (const output of [table, changed, json, back, bad, unknown]) {
      expect(output.stdout + output.stderr).not.toContain(ADMIN_TOKEN);
    }
  });

  it('never printed the token', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const output of outputs) expect(output).not.toContain(TEST_TOKEN);
  });
});
