/**
 * The production build: `scripts/build.mjs` (what `npm run build` runs) compiles every app with
 * esbuild, and the compiled API and two compiled worker processes (plain node, no tsx) run a batch
 * to the end, every image stored and the provider's limits kept. The compiled CLI answers `--help`,
 * and the compiled simulator serves every provider's mode (modes are loaded by name, so the bundle
 * must hold each `modes/<name>.mode.ts`).
 * It builds into its own folder under .data/, so it never leaves a build in apps/<app>/dist that
 * `npm run api|worker` and the `genqueue` command would then prefer to the sources.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { PROVIDER_NAMES } from '@genqueue/providers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBatchStored, postBatch } from './support/cluster-batch.ts';
import { type Stack, startStack } from './support/stack.ts';

const run = promisify(execFile);
const OUT = `.data/compiled-test-${process.pid}`;
let stack: Stack | undefined;

beforeAll(async () => {
  // Always rebuild, so the test runs the sources as they are now, never an older build.
  await run(process.execPath, ['scripts/build.mjs', '--out', OUT]);
  stack = await startStack({
    compiled: OUT,
    workers: 0,
    sim: { submitQps: 10, maxInFlight: 8, latencyMs: { min: 100, max: 300 } },
    env: { SUBMIT_MARGIN_MS: '5' },
  });
  stack.spawnWorker();
  stack.spawnWorker();
}, 90_000);

afterAll(async () => {
  await stack?.close();
  await rm(OUT, { recursive: true, force: true });
});

describe('the compiled build', () => {
  it('writes apps/<app>/dist/main.js for each app', () => {
    for (const app of ['api', 'worker', 'standalone', 'simulator', 'cli', 'demo']) {
      expect(existsSync(`${OUT}/apps/${app}/dist/main.js`)).toBe(true);
    }
  });

  it('runs a batch through the compiled API and two compiled workers', async () => {
    const s = stack!;
    const { id, prompts } = await postBatch(s, 40, 'compiled');
    const { stats } = await expectBatchStored(s, id, prompts, 60_000);
    expect(stats).toMatchObject({ qpsBreaches: 0, inFlightBreaches: 0, duplicatePrompts: 0 });
    // processes[0] is the API, then the two workers.
    expect(s.processes.map((child) => child.exitCode ?? child.signalCode)).toEqual([null, null, null]);
  });

  it('gives the genqueue command from the compiled CLI', async () => {
    const { stdout } = await run(process.execPath, [`${OUT}/apps/cli/dist/main.js`, '--help']);
    expect(stdout).toMatch(/^Usage: genqueue/);
    expect(stdout).toMatch(/submit/);
  });

  it.each(PROVIDER_NAMES.map((name) => [name]))(
    'serves the %s mode from the compiled simulator',
    async (name) => {
      const child = spawn(
        process.execPath,
        [`${OUT}/apps/simulator/dist/main.js`, '--mode', name, '--port', '0'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no listening line: ${output}`)), 15_000);
          child.stdout.on('data', () => {
            const match = new RegExp(`simulator \\(${name}\\) listening on (\\S+)`).exec(output);
            if (match) {
              clearTimeout(timer);
              resolve(match[1]!);
            }
          });
          child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
        });
        const stats = await fetch(`${url}/__sim/stats`);
        expect(stats.status).toBe(200);
      } finally {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
    },
  );
});
