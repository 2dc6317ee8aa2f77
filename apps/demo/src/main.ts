/**
 * `npm run demo [-- --provider liblib|liblib-v1|replicate|modelverse] [--count N]`
 *
 * Runs genqueue's main job on embedded defaults: no credentials, no Docker. It uses the Redis at
 * REDIS_URL if one answers (else a private redis-server child), an in-process s3rver storing under
 * `.data/s3`, and the provider simulator unless that provider's real credentials are set. It then
 * submits a small batch, shows progress, prints where the images are, and exits 0 once the batch
 * is stored.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startApi } from '@genqueue/api';
import { type BatchView, type JobView, loadConfig, silentLogger } from '@genqueue/core';
import { type Simulator, type SimulatorMode, startSimulator } from '@genqueue/simulator';
import { startWorker } from '@genqueue/worker';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { DEMO_PROMPTS, DEMO_PROVIDERS } from './demo-providers.ts';
import { ensureRedis, startEmbeddedS3 } from './embedded.ts';

const { values } = parseArgs({
  options: {
    provider: { type: 'string', default: 'liblib' },
    count: { type: 'string', default: '6' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run demo -- [--provider liblib|liblib-v1|replicate|modelverse] [--count N]');
  process.exit(0);
}
const providerName = values.provider as SimulatorMode;
const demo = DEMO_PROVIDERS[providerName];
if (!demo) {
  console.error(
    `unknown provider ${values.provider}; choose one of ${Object.keys(DEMO_PROVIDERS).join(', ')}`,
  );
  process.exit(2);
}
const count = Math.max(1, Math.min(Number(values.count) || 6, 100));
const env = process.env;

const say = (line = '') => process.stdout.write(`${line}\n`);

const redis = await ensureRedis(env.REDIS_URL ?? 'redis://127.0.0.1:6379').catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
say(`Redis       ${redis.url}${redis.child ? ' (a private redis-server started for this demo)' : ''}`);
const s3 = await startEmbeddedS3('.data/s3');
say(`S3          ${s3.endpoint} (s3rver, files under ${s3.directory})`);

const useReal = demo.credentialVars.every((name) => env[name]);
let sim: Simulator | undefined;
if (!useReal) {
  sim = await startSimulator({
    mode: providerName,
    submitQps: Number(env.LIBLIB_SUBMIT_QPS ?? 1),
    maxInFlight: Number(env.LIBLIB_MAX_IN_FLIGHT ?? 5),
    latencyMs: { min: 1_500, max: 4_000 },
    imageSize: { width: 256, height: 256 },
  });
  say(
    `Provider    ${providerName} simulator at ${sim.url} (set ${demo.credentialVars.join(' and ')} to use the real one)`,
  );
} else {
  say(`Provider    ${providerName} (real credentials from the environment)`);
}

const prefix = `genq-demo-${randomBytes(3).toString('hex')}`;
const adminPassword = env.ADMIN_PASSWORD ?? randomBytes(9).toString('base64url');
const token = env.API_TOKENS?.split(',')[0]?.trim() || randomBytes(18).toString('base64url');
const config = loadConfig({
  ...env,
  REDIS_URL: redis.url,
  QUEUE_PREFIX: prefix,
  API_TOKENS: token,
  ADMIN_USER: env.ADMIN_USER ?? 'admin',
  ADMIN_PASSWORD: adminPassword,
  LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
  POLL_MIN_INTERVAL_MS: env.POLL_MIN_INTERVAL_MS ?? '250',
  S3_ENDPOINT: s3.endpoint,
  S3_BUCKET: s3.bucket,
  S3_ACCESS_KEY_ID: s3.accessKeyId,
  S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  S3_FORCE_PATH_STYLE: 'true',
  ...(sim ? demo.simulatorEnv(sim) : {}),
});

const api = await startApi(config, {
  host: '127.0.0.1',
  port: env.PORT ? Number(env.PORT) : 0,
  logger: silentLogger(),
});
const worker = await startWorker(config);
say(`API         ${api.url}  (token: ${token})`);
say(
  `Bull Board  ${api.url}/admin/queues  (user ${config.admin.user}, password ${adminPassword}) while the demo runs`,
);
say();

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await request(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode >= 400)
    throw new Error(`${method} ${path} answered ${response.statusCode}: ${text}`);
  return JSON.parse(text) as T;
}

const prompts = Array.from({ length: count }, (_, i) => DEMO_PROMPTS[i % DEMO_PROMPTS.length]!);
const batch = await call<{ id: string; total: number }>('POST', '/v1/batches', {
  provider: providerName,
  operation: demo.operation,
  defaults: demo.defaults,
  prompts,
});
say(`Submitted batch ${batch.id}: ${batch.total} prompts to ${providerName} ${demo.operation}`);

let view: BatchView;
const started = Date.now();
for (;;) {
  view = await call<BatchView>('GET', `/v1/batches/${batch.id}`);
  const c = view.counts;
  const finished = c.succeeded + c.failed + c.canceled;
  const width = 30;
  const bar = '#'.repeat(Math.round((finished / view.total) * width)).padEnd(width, '.');
  const line = `[${bar}] ${finished}/${view.total} done · ${c.succeeded} ok · ${c.failed} failed · ${c.running + c.submitting} running · ${c.storing} storing · ${c.queued} queued · ${Math.round((Date.now() - started) / 1000)}s`;
  process.stdout.write(process.stdout.isTTY ? `\r${line}` : `${line}\n`);
  if (view.done) break;
  await new Promise((resolve) => setTimeout(resolve, process.stdout.isTTY ? 500 : 2_000));
}
if (process.stdout.isTTY) say();

const jobs = await call<{ items: JobView[] }>('GET', `/v1/batches/${batch.id}/jobs?limit=100`);
say();
say(`Stored in bucket "${s3.bucket}" at ${s3.endpoint} (files under ${s3.directory}/${s3.bucket}):`);
for (const job of jobs.items) {
  if (job.state !== 'succeeded') {
    say(`  ${job.id}  ${job.state}: ${job.error?.code} ${job.error?.message}`);
    continue;
  }
  for (const output of job.outputs)
    say(
      `  s3://${output.bucket}/${output.key}  ${output.bytes} bytes  sha256 ${output.sha256.slice(0, 12)}…`,
    );
}
say();
say(
  `Batch ${view.done ? 'finished' : 'stopped'}: ${view.counts.succeeded} succeeded, ${view.counts.failed} failed, ${view.pointsCost} points.`,
);
if (sim) {
  const stats = sim.stats();
  say(
    `Provider limits: ${stats.qpsBreaches} QPS breaches, ${stats.inFlightBreaches} in-flight breaches, at most ${stats.maxInFlightObserved} tasks in flight.`,
  );
}

await worker.close();
await api.close();
const cleanup = new Redis(redis.url, { maxRetriesPerRequest: 1 });
let cursor = '0';
do {
  const [next, keys] = await cleanup.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
  cursor = next;
  if (keys.length) await cleanup.unlink(...keys);
} while (cursor !== '0');
cleanup.disconnect();
await sim?.close();
await s3.stop();
await redis.stop();
process.exit(view.counts.succeeded === view.total ? 0 : 1);
