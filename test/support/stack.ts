/**
 * A whole genqueue deployment for end-to-end tests: the simulator, an in-process s3rver, the API
 * and any number of workers (in this process, or as real child processes that can be killed),
 * all on a unique Redis prefix.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type ApiHandle, startApi } from '@genqueue/api';
import { type Config, loadConfig } from '@genqueue/config';
import { createRedis, JobStore, type JobView, type RedisClient, silentLogger } from '@genqueue/core';
import { freePort } from '@genqueue/embedded';
import { type Simulator, type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { startWorker, type WorkerHandle, type WorkerOverrides } from '@genqueue/worker';
import { request } from 'undici';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './redis.ts';
import { startS3 } from './s3.ts';

export const TEST_TOKEN = 'test-token-0123456789';
export const ADMIN = { user: 'admin', password: 'admin-password' };
/** The stack's `ADMIN_TOKENS`: the bearer token of the admin routes (`/v1/accounts`). */
export const ADMIN_TOKEN = 'test-admin-token-9876543210';

export interface StackOptions {
  sim?: SimulatorOptions;
  /** Extra environment for API and workers; a function gets the started simulator. */
  env?: Record<string, string> | ((sim: Simulator) => Record<string, string>);
  /** Workers started in this process (default 1). */
  workers?: number;
  /**
   * How API and workers reach Redis, e.g. `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS`. Default: the
   * test Redis at `REDIS_URL`.
   */
  redisEnv?: Record<string, string>;
  /** The deployment's `QUEUE_PREFIX`. Default: a unique one (`uniquePrefix('e2e')`). */
  prefix?: string;
  /**
   * Run a compiled build (`scripts/build.mjs --out <this>`): the API as a `node
   * <this>/apps/api/dist/main.js` child process, and `spawnWorker` starts the compiled worker.
   * Default: the TypeScript sources through tsx, the API in this process.
   */
  compiled?: string;
}

export interface Stack {
  sim: Simulator;
  redis: RedisClient;
  prefix: string;
  env: Record<string, string>;
  config: Config;
  api: ApiHandle;
  s3: Awaited<ReturnType<typeof startS3>>;
  workers: WorkerHandle[];
  processes: ChildProcess[];
  /** Starts a worker as a real `npm run worker` child process (or `script`, a worker entry point). */
  spawnWorker(extraEnv?: Record<string, string>, script?: string): ChildProcess;
  /** Starts a worker in this process; `overrides` adds test hooks and the like. */
  startWorker(overrides?: WorkerOverrides): Promise<WorkerHandle>;
  call<T = unknown>(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T }>;
  job(id: string): Promise<JobView>;
  /** The job ids of a batch's items, in submission order. */
  itemIds(batchId: string): Promise<string[]>;
  /** Posts one job and answers its id (expects 202). */
  postJob(operation: string, input: Record<string, unknown>): Promise<string>;
  /** Waits until the job is succeeded, failed or canceled, and answers its view. */
  ended(id: string, timeoutMs?: number): Promise<JobView>;
  /** Waits until `check` returns a truthy value, polling every 50 ms. */
  waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs?: number, what?: string): Promise<T>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator({ latencyMs: { min: 200, max: 400 }, ...options.sim });
  const s3 = await startS3();
  const prefix = options.prefix ?? uniquePrefix('e2e');
  const env: Record<string, string> = {
    REDIS_URL: TEST_REDIS_URL,
    ...options.redisEnv,
    QUEUE_PREFIX: prefix,
    API_TOKENS: TEST_TOKEN,
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
    ADMIN_TOKENS: ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    LIBLIB_BASE_URL: sim.url,
    LIBLIB_ACCESS_KEY: sim.options.accessKey,
    LIBLIB_SECRET_KEY: sim.options.secretKey,
    LIBLIB_SUBMIT_QPS: String(sim.options.submitQps),
    LIBLIB_MAX_IN_FLIGHT: String(sim.options.maxInFlight),
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
    POLL_MIN_INTERVAL_MS: '100',
    POLL_MAX_INTERVAL_MS: '250',
    WORKER_LOCK_MS: '3000',
    TRANSIENT_BACKOFF_MS: '200',
    ACCOUNT_PROBE_INTERVAL_MS: '1000',
    SHUTDOWN_GRACE_MS: '2000',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // Tests read job views every 50 ms, for many jobs at once: far past the API's per-key rate
    // limit, which only its own suite (test/security/rate-limits.test.ts) exercises.
    API_RATE_PER_SECOND: '0',
    // The simulator serves results from its own (loopback) address.
    SINK_ALLOWED_HOSTS: new URL(sim.url).hostname,
    // The suites try many wrong credentials from one address on purpose; the limit's own test sets it low.
    AUTH_FAILURES_MAX: '100000',
    ...(typeof options.env === 'function' ? options.env(sim) : options.env),
  };
  const config = loadConfig(env);
  const redis = createRedis(config.redis);
  const processes: ChildProcess[] = [];
  const api = options.compiled
    ? await startCompiledApi(`${options.compiled}/apps/api/dist/main.js`, env, processes)
    : await startApi(config, { host: '127.0.0.1', port: 0, logger: silentLogger(), redis });
  const workers: WorkerHandle[] = [];

  const stack: Stack = {
    sim,
    redis,
    prefix,
    env,
    config,
    api,
    s3,
    workers,
    processes,
    spawnWorker(extraEnv = {}, script?: string) {
      const entry = script
        ? ['--import', 'tsx', script]
        : options.compiled
          ? [`${options.compiled}/apps/worker/dist/main.js`]
          : ['--import', 'tsx', 'apps/worker/src/main.ts'];
      const child = spawn(process.execPath, entry, {
        env: { ...process.env, ...env, ...extraEnv },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      processes.push(child);
      return child;
    },
    async startWorker(overrides = {}) {
      const handle = await startWorker(config, { logger: silentLogger(), ...overrides });
      workers.push(handle);
      return handle;
    },
    async call(method, path, body, headers = {}) {
      const response = await request(`${api.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TEST_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as never };
    },
    itemIds(batchId) {
      const store = new JobStore({ redis, prefix: config.queuePrefix, retentionSeconds: 60 });
      return store.batchItemIds(batchId, 0, 1_000_000);
    },
    async job(id) {
      const { status, body } = await stack.call<JobView>('GET', `/v1/jobs/${id}`);
      if (status !== 200) throw new Error(`GET /v1/jobs/${id} answered ${status}`);
      return body;
    },
    async postJob(operation, input) {
      const { status, body } = await stack.call<{ id: string }>('POST', '/v1/jobs', { operation, input });
      if (status !== 202) throw new Error(`POST /v1/jobs answered ${status}: ${JSON.stringify(body)}`);
      return body.id;
    },
    ended(id, timeoutMs = 30_000) {
      return stack.waitFor(
        async () => {
          const job = await stack.job(id);
          return ['succeeded', 'failed', 'canceled'].includes(job.state) ? job : undefined;
        },
        timeoutMs,
        `job ${id} to end`,
      );
    },
    async waitFor(check, timeoutMs = 30_000, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await check();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      for (const child of processes) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5_000))]);
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }
      }
      await Promise.all(workers.map((w) => w.close()));
      await api.close();
      await deletePrefix(redis, prefix);
      redis.disconnect();
      await sim.close();
      await s3.stop();
    },
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await stack.startWorker();
  return stack;
}

/** The compiled API (`node <entry>`) on a free port; resolves once `/healthz` answers. */
async function startCompiledApi(
  entry: string,
  env: Record<string, string>,
  processes: ChildProcess[],
): Promise<ApiHandle> {
  const port = await freePort();
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  processes.push(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the compiled API exited with ${child.exitCode}`);
      const ok = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error('the compiled API did not answer /healthz within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  // close() stops it with the other child processes (SIGTERM, its graceful shutdown).
  return { url, tokens: [TEST_TOKEN], close: async () => undefined };
}

/** Reads an S3 object's bytes. */
export async function readObject(stack: Stack, key: string): Promise<Buffer> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const out = await stack.s3.client.send(new GetObjectCommand({ Bucket: stack.s3.bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}
