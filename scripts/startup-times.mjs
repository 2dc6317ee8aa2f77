#!/usr/bin/env node
// Start-up times, tsx versus the compiled build (run `npm run build` first): the API from spawn to
// its first `/healthz` answer, and `genqueue --help` from spawn to exit. Median of 5 runs each,
// wall clock (on a busy machine it also measures the other processes: compare within one run).
// Usage: node scripts/startup-times.mjs   (needs the Redis at REDIS_URL, default 127.0.0.1:6379)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';

const RUNS = 5;

/** Spawns node with `args`. */
function spawnTimed(args, options) {
  return { child: spawn(process.execPath, args, { ...options, stdio: 'ignore' }) };
}

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function apiStart(args) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      PORT: String(port),
      API_TOKENS: 'startup-probe',
      LOG_LEVEL: 'silent',
      QUEUE_PREFIX: 'gq-startup',
    },
    stdio: 'ignore',
  });
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - started;
  child.kill('SIGTERM');
  await once(child, 'exit');
  return ms;
}

async function cliHelp() {
  const started = performance.now();
  const { child } = spawnTimed(['apps/cli/bin/genqueue.js', '--help'], {});
  await once(child, 'exit');
  return performance.now() - started;
}

const median = (values) => Math.round(values.sort((a, b) => a - b)[Math.floor(values.length / 2)]);
async function measure(fn) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await fn());
  return `${median(runs)} ms`;
}

if (!existsSync('apps/cli/dist/main.js')) throw new Error('run `npm run build` first');
const apiTsx = await measure(() => apiStart(['--import', 'tsx', 'apps/api/src/main.ts']));
const apiNode = await measure(() => apiStart(['apps/api/dist/main.js']));
const cliNode = await measure(cliHelp);
// The bin falls back to tsx when there is no build: move the build aside for those runs.
renameSync('apps/cli/dist', 'apps/cli/dist.aside');
let cliTsx;
try {
  cliTsx = await measure(cliHelp);
} finally {
  renameSync('apps/cli/dist.aside', 'apps/cli/dist');
}
console.log(`API to /healthz: tsx ${apiTsx}, compiled ${apiNode}`);
console.log(`genqueue --help: tsx ${cliTsx}, compiled ${cliNode}`);
