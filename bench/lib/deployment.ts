/**
 * One genqueue deployment for a benchmark scenario: its own simulator, a private Redis key prefix,
 * the API in this process, and workers as real child processes (`node --import tsx
 * apps/worker/src/main.ts`), like production. `close()` removes every key it created.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { type ApiHandle, startApi } from '@genqueue/api';
import { type Config, loadConfig } from '@genqueue/config';
import {
  createRedis,
  deleteKeysWithPrefix,
  type JobRecord,
  JobStore,
  type RedisClient,
  silentLogger,
} from '@genqueue/core';
import { type Simulator, type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { request } from 'undici';

/** Shared infrastructure of the whole run. */
export interface Infra {
  redisUrl: string;
  s3: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
}

export const BENCH_TOKEN = 'bench-token-0123456789';

export interface Deployment {
  sim: Simulator;
  prefix: string;
  env: Record<string, string>;
  config: Config;
  api: ApiHandle;
  redis: RedisClient;
  store: JobStore;
  workers: ChildProcess[];
  /** Starts a worker process and resolves once it logged `worker started`. */
  spawnWorker(extraEnv?: Record<string, string>): Promise<ChildProcess>;
  /** POSTs a JSON body to the API with the bench token. */
  call<T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  /** Posts one Kontext job per prompt (a few at a time); answers the job ids in order. */
  postJobs(prompts: string[], extra?: Record<string, unknown>): Promise<string[]>;
  /** Resolves with the records once every job has ended (succeeded, failed or canceled). */
  waitEnded(ids: string[], timeoutMs: number): Promise<JobRecord[]>;
  close(): Promise<void>;
}

export function benchPrefix(label: string): string {
  return `{gqbench-${label}-${randomBytes(4).toString('hex')}}`;
}

/** genqueue's environment for a deployment on `sim` under `prefix` (the workers' and the API's). */
export function deploymentEnv(
  infra: Infra,
  sim: Simulator,
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_URL: infra.redisUrl,
    QUEUE_PREFIX: prefix,
    API_TOKENS: BENCH_TOKEN,
    LOG_LEVEL: 'silent',
    LIBLIB_BASE_URL: sim.url,
    LIBLIB_ACCESS_KEY: sim.options.accessKey,
    LIBLIB_SECRET_KEY: sim.options.secretKey,
    LIBLIB_SUBMIT_QPS: String(sim.options.submitQps),
    LIBLIB_MAX_IN_FLIGHT: String(sim.options.maxInFlight),
    S3_ENDPOINT: infra.s3.endpoint,
    S3_BUCKET: infra.s3.bucket,
    S3_ACCESS_KEY_ID: infra.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: infra.s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    SHUTDOWN_GRACE_MS: '2000',
    // The simulator serves results from its own (loopback) address.
    SINK_ALLOWED_HOSTS: new URL(sim.url).hostname,
    ...extra,
  };
}

/**
 * Starts `node [nodeArgs] --import tsx <script>` with `env` on top of this process's environment,
 * and resolves once it printed a line containing `"worker started"` on stdout. `workerEnv` starts
 * it through `scripts/worker-env.sh`, so a genqueue worker runs with the memory settings
 * `npm run worker` gives it (the peer's workers run without).
 */
export async function spawnProcess(
  script: string,
  env: Record<string, string>,
  { nodeArgs = [], workerEnv = false }: { nodeArgs?: string[]; workerEnv?: boolean } = {},
): Promise<ChildProcess> {
  const command = [process.execPath, ...nodeArgs, '--import', 'tsx', script];
  const [file, args] = workerEnv
    ? ['sh', ['-c', '. scripts/worker-env.sh; exec "$@"', 'sh', ...command]]
    : [command[0]!, command.slice(1)];
  // sh execs node, so the child's pid is node's.
  const child = spawn(file, args, {
    env: { ...process.env, ...env },
    // An IPC channel too, for the measured worker's memory questions.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} while starting`)));
    lines.on('line', (line) => {
      if (line.includes('"worker started"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

/** Stops child processes: SIGTERM, then SIGKILL after 8 s. */
export async function stopProcesses(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const exited = await Promise.race([
        once(child, 'exit').then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 8_000)),
      ]);
      if (!exited) child.kill('SIGKILL');
    }),
  );
}

export async function deploy(
  infra: Infra,
  options: {
    label: string;
    sim: SimulatorOptions;
    /** Extra environment; a function gets the started simulator (its URL, for `<P>_ACCOUNTS`). */
    env?: Record<string, string> | ((sim: Simulator) => Record<string, string>);
  },
): Promise<Deployment> {
  const sim = await startSimulator(options.sim);
  const prefix = benchPrefix(options.label);
  const extra = typeof options.env === 'function' ? options.env(sim) : options.env;
  const env = deploymentEnv(infra, sim, prefix, extra);
  const config = loadConfig(env);
  const redis = createRedis(config.redis);
  const api = await startApi(config, { host: '127.0.0.1', port: 0, logger: silentLogger(), redis });
  const store = new JobStore({ redis, prefix, retentionSeconds: 3_600 });
  const workers: ChildProcess[] = [];

  const deployment: Deployment = {
    sim,
    prefix,
    env,
    config,
    api,
    redis,
    store,
    workers,
    async spawnWorker(extraEnv = {}) {
      const child = await spawnProcess(
        'apps/worker/src/main.ts',
        { ...env, LOG_LEVEL: 'info', ...extraEnv },
        { workerEnv: true },
      );
      workers.push(child);
      return child;
    },
    async call(method, path, body) {
      const response = await request(`${api.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${BENCH_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as never };
    },
    async postJobs(prompts, extra = {}) {
      const ids: string[] = new Array(prompts.length);
      let next = 0;
      const lane = async () => {
        for (let i = next++; i < prompts.length; i = next++) {
          const { status, body } = await deployment.call<{ id: string }>('POST', '/v1/jobs', {
            operation: 'kontext.text2img',
            input: { prompt: prompts[i] },
            ...extra,
          });
          if (status !== 202) throw new Error(`POST /v1/jobs answered ${status}: ${JSON.stringify(body)}`);
          ids[i] = body.id;
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
      return ids;
    },
    async waitEnded(ids, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const records = await store.getJobs(ids);
        if (records.every((r) => r && ['succeeded', 'failed', 'canceled'].includes(r.state))) {
          return records as JobRecord[];
        }
        if (Date.now() > deadline) {
          const open = records.filter((r) => !r || !['succeeded', 'failed', 'canceled'].includes(r.state));
          throw new Error(`${open.length} of ${ids.length} jobs had not ended after ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      await stopProcesses(workers);
      await api.close();
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
      await sim.close();
    },
  };
  return deployment;
}
