/**
 * The CLI in-process against a scripted API over real HTTP: exit codes, what goes to stdout and
 * stderr, and that the token is never printed. (test/cli.e2e.test.ts runs the real binary against
 * the real stack.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from './context.ts';
import {
  closedPort,
  type ScriptedAnswer,
  type ScriptedServer,
  startScriptedServer,
} from './internal/scripted-server.ts';
import { runCli } from './program.ts';

const TOKEN = 'tok-never-printed-42';
let dir: string;
let server: ScriptedServer | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genqueue-cli-prog-'));
  await writeFile(join(dir, 'prompts.txt'), 'a cat\n\na dog\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function run(args: string[], env: Record<string, string> = {}, tty = false) {
  let stdout = '';
  let stderr = '';
  let clock = Date.parse('2025-01-01T00:00:00Z');
  const ctx: CliContext = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: tty },
    env: { GENQUEUE_URL: server?.url, GENQUEUE_TOKEN: TOKEN, ...env },
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
  };
  const code = await runCli(['node', 'genqueue', ...args], ctx);
  return { code, stdout, stderr };
}

const counts = (c: Record<string, number>) => ({
  queued: 0,
  submitting: 0,
  running: 0,
  storing: 0,
  succeeded: 0,
  failed: 0,
  canceled: 0,
  ...c,
});

function batchApi(finalCounts: Record<string, number>, extra: Record<string, unknown> = {}) {
  let polls = 0;
  return startScriptedServer(({ method, path }): ScriptedAnswer => {
    if (method === 'POST' && path === '/v1/batches') {
      return { status: 202, json: { id: 'b_abc', total: 2, rejected: [] } };
    }
    if (method === 'GET' && path === '/v1/batches/b_abc') {
      polls++;
      const done = polls >= 3;
      return {
        status: 200,
        json: {
          id: 'b_abc',
          provider: 'liblib',
          operation: 'kontext.text2img',
          total: 2,
          counts: done ? counts(finalCounts) : counts({ running: 1, queued: 1 }),
          done,
          pointsCost: done ? 20 : 0,
          createdAt: '2025-01-01T00:00:00.000Z',
          ...(done ? { finishedAt: '2025-01-01T00:00:02.000Z', ...extra } : {}),
        },
      };
    }
    return { status: 404, json: { error: { code: 'not_found', message: `no route for ${method} ${path}` } } };
  });
}

describe('genqueue submit', () => {
  it('prints the batch id on stdout and exits 0 once every job succeeded', async () => {
    server = await batchApi({ succeeded: 2 });
    const result = await run([
      'submit',
      join(dir, 'prompts.txt'),
      '--operation',
      'kontext.text2img',
      '--set',
      'aspectRatio=3:4',
      '--set',
      'imgCount=2',
      '--wait',
    ]);
    expect(result).toMatchObject({ code: 0, stdout: 'b_abc\n' });
    const [post] = server.requests;
    expect(post!.headers['content-type']).toBe('application/x-ndjson');
    expect(post!.body.toString()).toBe('{"prompt":"a cat"}\n\n{"prompt":"a dog"}\n');
    expect(Object.fromEntries(post!.query)).toEqual({
      operation: 'kontext.text2img',
      defaults: '{"aspectRatio":"3:4","imgCount":2}',
    });
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('accepted 2 jobs in batch b_abc');
    // Not a terminal: a first line at once, the final one at the end, nothing redrawn.
    expect(result.stderr).not.toContain('\r');
    expect(lines).toContain(
      '[------------------------]  0/2  0%  ok 0  failed 0  running 1  queued 1  points 0  ETA --',
    );
    expect(lines).toContain(
      '[########################]  2/2  100%  ok 2  failed 0  running 0  queued 0  points 20  took 2s',
    );
    expect(lines.at(-1)).toBe('all 2 jobs succeeded');
  });

  it('exits 1 when a job failed, and says how to list the failures', async () => {
    server = await batchApi({ succeeded: 1, failed: 1 });
    const result = await run([
      'submit',
      join(dir, 'prompts.txt'),
      '--operation',
      'kontext.text2img',
      '--wait',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('1 of 2 jobs failed, 1 succeeded');
    expect(result.stderr).toContain('genqueue jobs b_abc --state failed');
  });

  it('exits 0 when jobs were canceled but none failed, and says so', async () => {
    server = await batchApi({ succeeded: 1, canceled: 1 }, { canceledReason: 'max_points' });
    const result = await run([
      'submit',
      join(dir, 'prompts.txt'),
      '--operation',
      'kontext.text2img',
      '--wait',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('1 canceled (max_points); canceled jobs do not count as failed');
  });

  it('redraws the progress line in place on a terminal', async () => {
    server = await batchApi({ succeeded: 2 });
    const result = await run(
      ['submit', join(dir, 'prompts.txt'), '--operation', 'kontext.text2img', '--wait'],
      {},
      true,
    );
    expect(result.code).toBe(0);
    expect(result.stderr.match(/\r\x1b\[2K\[/g)).toHaveLength(3);
  });

  it('prints the API refusal readably with exit 2, and never the token', async () => {
    server = await startScriptedServer(() => ({
      status: 400,
      json: {
        error: {
          code: 'invalid_request',
          message:
            'operation: unknown operation "nope" for provider liblib; valid operations: kontext.text2img',
          issues: [
            {
              path: 'operation',
              message: 'unknown operation "nope" for provider liblib; valid operations: kontext.text2img',
            },
          ],
        },
      },
    }));
    const result = await run(['submit', join(dir, 'prompts.txt'), '--operation', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error: operation: unknown operation "nope" for provider liblib; valid operations: kontext.text2img (HTTP 400 invalid_request)\n',
    );
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('refuses bad usage with exit 2 before calling the API', async () => {
    server = await batchApi({ succeeded: 2 });
    const missingOperation = await run(['submit', join(dir, 'prompts.txt')]);
    expect(missingOperation.code).toBe(2);
    expect(missingOperation.stderr).toContain("required option '--operation <name>' not specified");
    const badSet = await run(['submit', join(dir, 'prompts.txt'), '--operation', 'x', '--set', 'oops']);
    expect(badSet).toMatchObject({ code: 2, stderr: 'error: --set expects key=value, got "oops"\n' });
    const missingFile = await run(['submit', join(dir, 'nope.csv'), '--operation', 'x']);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toMatch(/no such file/);
    const badPoints = await run([
      'submit',
      join(dir, 'prompts.txt'),
      '--operation',
      'x',
      '--max-points',
      '-3',
    ]);
    expect(badPoints.code).toBe(2);
    expect(server.requests).toHaveLength(0);
  });
});

describe('genqueue (other commands)', () => {
  it('answers --help on every command with exit 0', async () => {
    for (const command of [
      [],
      ['submit'],
      ['operations'],
      ['status'],
      ['jobs'],
      ['download'],
      ['cancel'],
      ['retry'],
    ]) {
      const result = await run([...command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: genqueue/);
    }
  });

  it('jobs pages until --limit and prints id, state and detail', async () => {
    server = await startScriptedServer(({ query }) => {
      const start = Number(query.get('cursor') ?? 0);
      const limit = Number(query.get('limit'));
      const items = Array.from({ length: limit }, (_, i) => ({
        id: `b_abc-${start + i}`,
        state: 'failed',
        outputs: [],
        error: { code: 'invalid_job', message: 'moderation' },
      }));
      return { status: 200, json: { items, nextCursor: String(start + limit) } };
    });
    const result = await run(['jobs', 'b_abc', '--state', 'failed', '--limit', '3']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'b_abc-0  failed      invalid_job: moderation',
      'b_abc-1  failed      invalid_job: moderation',
      'b_abc-2  failed      invalid_job: moderation',
    ]);
    const json = await run(['jobs', 'b_abc', '--limit', '2', '--json']);
    expect(JSON.parse(json.stdout).map((j: { id: string }) => j.id)).toEqual(['b_abc-0', 'b_abc-1']);
  });

  it('cancel and retry POST to the batch and report the answer', async () => {
    server = await startScriptedServer(({ path }) => ({
      status: 202,
      json: path.endsWith('/cancel') ? { id: 'b_abc', canceled: 4 } : { id: 'b_abc', requeued: 1 },
    }));
    expect((await run(['cancel', 'b_abc'])).stdout).toBe(
      'canceled 4 jobs of batch b_abc (finished jobs keep their results)\n',
    );
    expect((await run(['retry', 'b_abc'])).stdout).toBe(
      'requeued 1 job of batch b_abc; follow it with: genqueue status b_abc\n',
    );
    expect(JSON.parse((await run(['retry', 'b_abc', '--json'])).stdout)).toEqual({
      id: 'b_abc',
      requeued: 1,
    });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/batches/b_abc/cancel',
      'POST /v1/batches/b_abc/retry',
      'POST /v1/batches/b_abc/retry',
    ]);
  });

  it('prints a one-line hint when nothing listens, and --url wins over GENQUEUE_URL', async () => {
    const port = await closedPort();
    const result = await run(['status', 'b_abc', '--url', `http://127.0.0.1:${port}`], {
      GENQUEUE_URL: 'http://127.0.0.1:1',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: cannot reach http://127.0.0.1:${port} (connection refused)\n` +
        'hint: is the API running? start it with `npm run api` (or `npm start` for everything), or point GENQUEUE_URL / --url at it\n',
    );
    expect(result.stderr + result.stdout).not.toContain(TOKEN);
  });
});
