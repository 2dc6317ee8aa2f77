/**
 * `npm run demo [-- --provider <name>] [--count N] [--serve]` (a provider of the catalog; default liblib)
 *
 * Runs genqueue's main job on embedded defaults: no credentials, no Docker. It uses the Redis at
 * REDIS_URL if one answers (else a private redis-server child), an in-process s3rver storing under
 * `.data/s3`, and the provider simulator unless that provider's real credentials are set. It then
 * submits a small batch, shows progress, prints where the images are, and exits 0 once the batch
 * is stored. With `--serve` it keeps everything running until Ctrl-C, for the gallery and Bull Board.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startApi } from '@genqueue/api';
import { downloadBatch, GenqueueClient, waitForBatch } from '@genqueue/cli';
import { type Config, ConfigError, loadConfig } from '@genqueue/config';
import { createLogger, createRedis, deleteKeysWithPrefix, silentLogger } from '@genqueue/core';
import { ensureRedis, startEmbeddedS3 } from '@genqueue/embedded';
import { isProviderName, PROVIDER_NAMES } from '@genqueue/providers';
import { type Simulator, startSimulator } from '@genqueue/simulator';
import { startWorker } from '@genqueue/worker';
import { DEMO_PROMPTS, DEMO_PROVIDERS } from './demo-providers.ts';

const { values } = parseArgs({
  options: {
    provider: { type: 'string', default: 'liblib' },
    count: { type: 'string', default: '6' },
    serve: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    `usage: npm run demo -- [--provider ${PROVIDER_NAMES.join('|')}] [--count N] [--serve]\n\n` +
      '  --serve  keep the stack running after the batch: prints the gallery and Bull Board URLs and a\n' +
      '           ready-to-paste genqueue command; Ctrl-C stops it cleanly',
  );
  process.exit(0);
}
if (!isProviderName(values.provider)) {
  console.error(`unknown provider ${values.provider}; choose one of ${PROVIDER_NAMES.join(', ')}`);
  process.exit(2);
}
const providerName = values.provider;
const demo = DEMO_PROVIDERS[providerName];
const count = Math.max(1, Math.min(Number(values.count) || 6, 100));
const env = process.env;

const say = (line = '') => process.stdout.write(`${line}\n`);

/** The configuration, or exit with the list of bad variables. */
function configFrom(vars: Record<string, string | undefined>): Config {
  try {
    return loadConfig(vars);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

// A configured Cluster or Sentinel is used as is; one server only if it answers, else a private one.
const configuredRedis = configFrom(env).redis;
const redis =
  configuredRedis.mode === 'single'
    ? await ensureRedis(configuredRedis.url).catch((error: Error) => {
        console.error(error.message);
        process.exit(1);
      })
    : { url: undefined, child: undefined, stop: async () => undefined };
say(
  redis.url
    ? `Redis       ${redis.url}${redis.child ? ' (a private redis-server started for this demo)' : ''}`
    : `Redis       ${configuredRedis.mode === 'cluster' ? 'Redis Cluster' : 'Sentinel'} (${env.REDIS_CLUSTER_NODES ?? env.REDIS_SENTINELS})`,
);
const s3 = await startEmbeddedS3('.data/s3');
say(`S3          ${s3.endpoint} (s3rver, files under ${s3.directory})`);

const useReal = demo.credentialVars.every((name) => env[name]);
let sim: Simulator | undefined;
if (!useReal) {
  // The simulated account has the limits genqueue is configured with for this provider.
  const { limits } = configFrom(env).providers[providerName];
  sim = await startSimulator({
    mode: providerName,
    submitQps: limits.submitQps,
    maxInFlight: limits.maxInFlight,
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
const config = configFrom({
  ...env,
  ...(redis.url ? { REDIS_URL: redis.url } : {}),
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
// Warnings such as "no WEBHOOK_SECRET" are noise here: the demo sends no webhooks.
const worker = await startWorker(config, {
  logger: createLogger({ level: env.LOG_LEVEL ?? 'error', name: 'worker' }),
});
say(`API         ${api.url}  (token: ${token})`);
say(
  `Bull Board  ${api.url}/admin/queues  (user ${config.admin.user}, password ${adminPassword}) while the demo runs`,
);
say();

const client = new GenqueueClient({ baseUrl: api.url, token });
const prompts = Array.from({ length: count }, (_, i) => DEMO_PROMPTS[i % DEMO_PROMPTS.length]!);
const batch = await client.submitBatch({
  kind: 'prompts',
  provider: providerName,
  operation: demo.operation,
  defaults: demo.defaults,
  prompts,
});
say(`Submitted batch ${batch.id}: ${batch.total} prompts to ${providerName} ${demo.operation}`);

// The CLI's own progress display (`genqueue submit --wait`).
const view = await waitForBatch(
  client,
  batch.id,
  { stdout: process.stdout, stderr: process.stdout, env: {} },
  { intervalMs: 500, logEveryMs: 2_000 },
);
say();

// Copy the stored images out of S3 into plain files, as `genqueue download` does.
const outDir = path.resolve('.data/demo-images');
const downloaded = await downloadBatch(client, batch.id, { outDir });
say(`Stored in bucket "${s3.bucket}" at ${s3.endpoint}, and copied to ${outDir}:`);
for await (const job of client.batchJobs(batch.id, {})) {
  if (job.state !== 'succeeded') {
    say(`  ${job.id}  ${job.state}: ${job.error?.code} ${job.error?.message}`);
    continue;
  }
  for (const output of job.outputs) {
    say(`  s3://${output.bucket}/${output.key}  ${output.bytes} bytes  →  ${path.join(outDir, output.key)}`);
  }
}
if (downloaded.failed.length) say(`  (${downloaded.failed.length} files could not be copied)`);
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

if (values.serve) {
  say();
  say('The stack stays up (Ctrl-C stops it):');
  say(`  Gallery     ${api.url}/ui/batches/${batch.id}  (sign in with the API token ${token},`);
  say(`              or the Bull Board user and password)`);
  say(`  Bull Board  ${api.url}/admin/queues  (user ${config.admin.user}, password ${adminPassword})`);
  say(`  Results     ${api.url}/v1/batches/${batch.id}/results.jsonl  (Authorization: Bearer ${token})`);
  say(`  Redis keys  under "${prefix}", deleted when the demo stops`);
  say('  Submit more from another terminal:');
  say(
    `    GENQUEUE_URL=${api.url} GENQUEUE_TOKEN=${token} npx genqueue submit prompts.txt --operation ${demo.operation} --provider ${providerName} --wait`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      say('\nstopping…');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

await worker.close();
await api.close();
const cleanup = createRedis(config.redis, { maxRetriesPerRequest: 1 });
await deleteKeysWithPrefix(cleanup, prefix);
cleanup.disconnect();
await sim?.close();
await s3.stop();
await redis.stop();
process.exit(values.serve || view.counts.succeeded === view.total ? 0 : 1);
