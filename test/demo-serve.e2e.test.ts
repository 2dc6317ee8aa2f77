/**
 * `npm run demo -- --serve` as a user runs it: the real demo process (embedded s3rver, the
 * simulator, the API and a worker in one process), whose printed URLs, credentials and
 * ready-to-paste `genqueue submit` command must work while it stays up, and which stops cleanly on
 * Ctrl-C (SIGINT), leaving no keys behind in Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const DEMO = join(ROOT, 'apps/demo/src/main.ts');
const CLI = join(ROOT, 'apps/cli/bin/genqueue.js');

let dir: string;
let demo: ChildProcess;
let output = '';
let exit: Promise<number | null>;

/** Resolves with the demo's output once `pattern` appears in it; rejects if the demo exits first. */
function waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    const check = () => {
      const match = output.match(pattern);
      if (match) {
        cleanup();
        resolvePromise(match);
      }
    };
    const exited = (code: number | null) => {
      cleanup();
      reject(new Error(`the demo exited (${code}) before ${pattern}; output:\n${output}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      demo.stdout!.off('data', check);
      demo.off('exit', exited);
    };
    demo.stdout!.on('data', check);
    demo.once('exit', exited);
    check();
  });
}

function field(pattern: RegExp): string {
  const match = output.match(pattern);
  if (!match?.[1]) throw new Error(`no ${pattern} in the demo's output:\n${output}`);
  return match[1];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genqueue-demo-serve-'));
  // A user's shell: no token or admin password of ours, the local Redis, the demo's own defaults.
  const { API_TOKENS: _t, ADMIN_PASSWORD: _p, GENQUEUE_URL: _u, GENQUEUE_TOKEN: _g, ...env } = process.env;
  demo = spawn(TSX, [DEMO, '--serve', '--count', '3'], {
    cwd: dir,
    env: { ...env, REDIS_URL: 'redis://127.0.0.1:6379' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  demo.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  exit = new Promise((resolvePromise) => demo.once('exit', (code) => resolvePromise(code)));
  await waitFor(/npx genqueue submit .+\n/, 90_000);
}, 100_000);

afterAll(async () => {
  if (demo && demo.exitCode === null) demo.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run demo -- --serve', () => {
  it('prints working URLs and credentials, serves the finished batch, and takes more work', async () => {
    expect(output).toMatch(/Batch finished: 3 succeeded, 0 failed/);
    const gallery = field(/Gallery\s+(http:\/\/\S+)/);
    const token = field(/sign in with the API token (\S+),/);
    const [, boardUrl, user, password] = output.match(
      /Bull Board\s+(http:\/\/\S+)\s+\(user (\S+), password (\S+)\)/,
    )!;
    const results = field(/Results\s+(http:\/\/\S+)/);

    const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const page = await request(gallery!.replace(/,$/, ''), { headers: { authorization: basic } });
    const html = await page.body.text();
    expect(page.statusCode).toBe(200);
    expect(html).toContain('<img');
    const board = await request(boardUrl!, { headers: { authorization: basic } });
    await board.body.dump();
    expect(board.statusCode).toBe(200);
    const unauthenticated = await request(gallery!);
    await unauthenticated.body.dump();
    expect([302, 303, 401]).toContain(unauthenticated.statusCode);

    const file = await request(results, { headers: { authorization: `Bearer ${token}` } });
    const lines = (await file.body.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    // The printed command, pasted as it is into another shell (npx genqueue is the CLI's bin).
    const command = field(/^\s+(GENQUEUE_URL=\S+ GENQUEUE_TOKEN=\S+ npx genqueue submit .+)$/m);
    const [url, tokenVar, npx, bin, submit, file2, ...args] = command.split(/\s+/);
    expect([npx, bin, submit]).toEqual(['npx', 'genqueue', 'submit']);
    await writeFile(join(dir, file2!), 'a lighthouse at dawn\na fox in the snow\n');
    const submitted = spawn(process.execPath, [CLI, 'submit', file2!, ...args], {
      cwd: dir,
      env: {
        ...process.env,
        GENQUEUE_URL: url!.split('=')[1]!,
        GENQUEUE_TOKEN: tokenVar!.split('=')[1]!,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let cliOutput = '';
    submitted.stdout!.on('data', (chunk: Buffer) => (cliOutput += chunk));
    submitted.stderr!.on('data', (chunk: Buffer) => (cliOutput += chunk));
    const code = await new Promise<number | null>((r) => submitted.once('exit', r));
    expect(code, cliOutput).toBe(0);
    expect(cliOutput).toMatch(/2\/2\s+100%\s+ok 2\s+failed 0/);
  }, 120_000);

  it('stops cleanly on Ctrl-C and leaves no keys in Redis', async () => {
    const prefix = field(/Redis keys\s+under "(genq-demo-[0-9a-f]+)"/);
    demo.kill('SIGINT');
    const code = await Promise.race([
      exit,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000)),
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain('stopping…');
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    try {
      await redis.connect();
      expect(await redis.keys(`*${prefix}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});
