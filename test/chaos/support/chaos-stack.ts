/**
 * A genqueue deployment for chaos scenarios: the simulator, a restartable s3rver, the API in this
 * process, and workers as real child processes (`apps/worker/src/main.ts`) that can be SIGKILLed.
 * Redis is the shared test Redis under a unique prefix, or a private one (`redisUrl`).
 *
 * `check()` is the one place the promises are asserted after a scenario: every job ends (none
 * lost), in the expected state, with its outputs in S3; the provider saw no QPS or in-flight
 * breach; duplicates stay within what the scenario provoked; no worker crashed on its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type ApiHandle, startApi } from '@genqueue/api';
import { loadConfig } from '@genqueue/config';
import { type JobView, silentLogger } from '@genqueue/core';
import { type Simulator, type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { expect } from 'vitest';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.ts';
import { type RestartableS3, startRestartableS3 } from './restartable-s3.ts';
import { recordKill, recordScenario, spread } from './tally.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const PRELOAD = join(HERE, 'worker-preload.ts');
/** Worker logs of each scenario land here (git-ignored), to read after a failure. */
export const LOG_DIR = resolve(HERE, '../results/logs');
const TOKEN = 'chaos-token-0123456789';
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);
/** What a worker prints when a job restarts after a submission that saved no task id. */
const POSSIBLE_DUPLICATE = 'submitting again may duplicate it';
const CRASH_MARKERS = ['unhandledRejection', 'UnhandledPromiseRejection', 'uncaughtException'];

/** A worker child process and what it printed. */
export interface ChaosWorker {
  readonly n: number;
  readonly child: ChildProcess;
  /** Resolves when the process is up (it logged `worker started`). */
  readonly ready: Promise<void>;
  stdout: string;
  stderr: string;
  /** True once it logged `worker started`. */
  up: boolean;
  /** True once the suite SIGKILLed it. */
  killed: boolean;
}

/** Options of {@link startChaos}. */
export interface ChaosOptions {
  /** Scenario name, used in logs and the summary. */
  name: string;
  sim?: SimulatorOptions;
  /** Extra environment for the API and the workers. */
  env?: Record<string, string>;
  /** A Redis other than the shared test one (the restart scenario's private server). */
  redisUrl?: string;
  /**
   * Start a webhook receiver on 127.0.0.1 (and sign deliveries): `post` and `postBatch` then ask
   * for webhooks, and `checkAnnouncements` asserts each terminal event arrived under one id.
   */
  webhooks?: boolean;
}

/** One webhook request the receiver got. */
export interface Arrival {
  /** `webhook-id`: the same for every attempt of one delivery. */
  id: string;
  type: string;
  /** The job or batch the event is about. */
  subject: string;
}

/** What `check()` expects of a scenario. */
export interface CheckExpectations {
  /** State every job must end in. Default `succeeded`. */
  state?: string;
  /** Duplicates the scenario provokes on purpose. Default 0. */
  duplicatesAllowed?: number;
  /** How long jobs may take to end. Default 120 s. */
  timeoutMs?: number;
  /**
   * Also allow each duplicate whose first task the provider created less than 2 s before one of
   * the suite's SIGKILLs: a random kill that landed in the accept window. Default false.
   */
  allowKillWindowDuplicates?: boolean;
  /**
   * Record duplicates and limit breaches without asserting them (a scenario that measures what a
   * loss of Redis writes costs). Jobs must still all end, intact. Default false.
   */
  measureOnly?: boolean;
}

/** A running chaos deployment; see {@link startChaos}. */
export type ChaosStack = Awaited<ReturnType<typeof startChaos>>;

/** Starts the simulator, s3rver and API; workers are started with `spawnWorker()`. */
export async function startChaos(options: ChaosOptions) {
  let name = options.name;
  let began = Date.now();
  const sim: Simulator = await startSimulator({
    submitQps: 5,
    maxInFlight: 5,
    latencyMs: { min: 300, max: 700 },
    ...options.sim,
  });
  const s3: RestartableS3 = await startRestartableS3();
  const arrivals: Arrival[] = [];
  const receiver = options.webhooks ? await startReceiver(arrivals) : undefined;
  const prefix = uniquePrefix('chaos');
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    API_TOKENS: TOKEN,
    LOG_LEVEL: 'info',
    LIBLIB_BASE_URL: sim.url,
    LIBLIB_ACCESS_KEY: sim.options.accessKey,
    LIBLIB_SECRET_KEY: sim.options.secretKey,
    LIBLIB_SUBMIT_QPS: String(sim.options.submitQps),
    LIBLIB_MAX_IN_FLIGHT: String(sim.options.maxInFlight),
    // A hung call must fail fast so faults cost seconds, not the 30 s default.
    LIBLIB_TIMEOUT_MS: '1500',
    // A killed worker's open QPS turn frees after this: longer than a call can last, as in
    // production (35 s against the 30 s call timeout).
    SUBMIT_TURN_TTL_MS: '3000',
    ...s3.env,
    POLL_MIN_INTERVAL_MS: '100',
    POLL_MAX_INTERVAL_MS: '250',
    // Killed workers' jobs come back after this.
    WORKER_LOCK_MS: '2000',
    TRANSIENT_BACKOFF_MS: '200',
    ACCOUNT_PROBE_INTERVAL_MS: '1000',
    SHUTDOWN_GRACE_MS: '1000',
    // The simulator serves results from its own (loopback) address.
    SINK_ALLOWED_HOSTS: new URL(sim.url).hostname,
    // The scenarios read every job's view while they wait, far past the API's per-key rate limit,
    // which its own suite (test/security/rate-limits.test.ts) exercises.
    API_RATE_PER_SECOND: '0',
    ...(receiver
      ? {
          WEBHOOK_SECRET: `whsec_${Buffer.from('chaos-webhook-secret-0123456789').toString('base64')}`,
          // The receiver listens on loopback.
          WEBHOOK_ALLOW_PRIVATE: 'true',
          // Retries a second apart, not the Standard Webhooks hours: a killed attempt comes back soon.
          WEBHOOK_RETRY_SCHEDULE_MS: '0,1000,1000,1000,1000,1000',
        }
      : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const api: ApiHandle = await startApi(config, {
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    redis,
  });
  const workers: ChaosWorker[] = [];
  const prompts = new Map<string, string>();
  let kills = 0;
  let killTimes: number[] = [];
  // Where the current phase's worker output starts, to count its "may duplicate" warnings.
  let outputMarks = new Map<ChaosWorker, number>();

  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await request(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  };

  const stack = {
    get name() {
      return name;
    },
    sim,
    s3,
    redis,
    prefix,
    env,
    workers,

    /**
     * Starts a new phase on the same deployment (several scenarios share one set of workers): the
     * simulator's counters, the kill count and the clock of `check()` start again from zero.
     */
    phase(phaseName: string): void {
      name = phaseName;
      began = Date.now();
      kills = 0;
      killTimes = [];
      sim.resetStats();
      outputMarks = new Map(workers.map((w) => [w, w.stdout.length]));
    },

    /** Starts a worker process; its stdout (pino JSON) and stderr are kept for the checks. */
    spawnWorker(extraEnv: Record<string, string> = {}): ChaosWorker {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--import', PRELOAD, 'apps/worker/src/main.ts'],
        {
          cwd: ROOT,
          env: { ...process.env, ...env, ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let markReady: () => void = () => undefined;
      const worker: ChaosWorker = {
        n: workers.length + 1,
        child,
        ready: new Promise<void>((r) => {
          markReady = r;
        }),
        stdout: '',
        stderr: '',
        up: false,
        killed: false,
      };
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        worker.stdout += chunk;
        if (!worker.up && worker.stdout.includes('"worker started"')) {
          worker.up = true;
          markReady();
        }
      });
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        worker.stderr += chunk;
      });
      workers.push(worker);
      return worker;
    },

    /** Workers still running. */
    live(): ChaosWorker[] {
      return workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    },

    /** SIGKILLs a worker (no cleanup of any kind runs) and waits for it to be gone. */
    async kill(worker: ChaosWorker, point: string): Promise<void> {
      worker.killed = true;
      killTimes.push(Date.now());
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        const exited = once(worker.child, 'exit');
        worker.child.kill('SIGKILL');
        await exited;
      }
      kills++;
      recordKill(point);
    },

    call,

    /** Posts `count` Kontext jobs with prompts `<label> <i>`; returns their ids. */
    async post(count: number, label: string): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const prompt = `${name} ${label} ${i}`;
        const { status, body } = await call<{ id: string }>('POST', '/v1/jobs', {
          operation: 'kontext.text2img',
          input: { prompt },
          ...(receiver ? { webhookUrl: `${receiver.url}/hook` } : {}),
        });
        expect(status, `POST /v1/jobs for "${prompt}"`).toBe(202);
        ids.push(body.id);
        prompts.set(body.id, prompt);
      }
      return ids;
    },

    /** Posts a batch of `count` Kontext prompts `<label> <i>`; returns its id and its items' ids. */
    async postBatch(count: number, label: string): Promise<{ batchId: string; ids: string[] }> {
      const list = Array.from({ length: count }, (_, i) => `${name} ${label} ${i}`);
      const { status, body } = await call<{ id: string }>('POST', '/v1/batches', {
        operation: 'kontext.text2img',
        prompts: list,
        ...(receiver ? { webhookUrl: `${receiver.url}/hook` } : {}),
      });
      expect(status, `POST /v1/batches "${label}"`).toBe(202);
      const page = await call<{ items: JobView[] }>('GET', `/v1/batches/${body.id}/jobs?limit=${count}`);
      expect(page.body.items).toHaveLength(count);
      const ids = page.body.items.map((item) => {
        prompts.set(item.id, String(item.input.prompt));
        return item.id;
      });
      return { batchId: body.id, ids };
    },

    /** What the webhook receiver got so far. */
    arrivals: (): readonly Arrival[] => arrivals,

    /**
     * Waits until every job and batch was announced, then asserts each was announced under exactly
     * one delivery id: one terminal `job.*` per job, one `batch.completed` per batch (a receiver may
     * see one id twice when a worker died during the HTTP attempt; Standard Webhooks dedupes on it).
     */
    async checkAnnouncements(
      jobIds: string[],
      batchIds: string[],
      options: { timeoutMs?: number; measureOnly?: boolean } = {},
    ): Promise<{ requests: number; deliveryIds: number; announcedTwice: number }> {
      const { timeoutMs = 60_000 } = options;
      const idsOf = (type: (t: string) => boolean, subject: string) =>
        new Set(arrivals.filter((a) => type(a.type) && a.subject === subject).map((a) => a.id));
      const isJob = (t: string) => t.startsWith('job.');
      const isBatch = (t: string) => t === 'batch.completed';
      await stack.waitFor(
        () =>
          jobIds.every((id) => idsOf(isJob, id).size > 0) &&
          batchIds.every((id) => idsOf(isBatch, id).size > 0),
        timeoutMs,
        'every job and batch announced',
      );
      // Late duplicates (an outbox entry drained twice) would come within a sweep or two.
      await new Promise((r) => setTimeout(r, 3_000));
      const twice = [
        ...jobIds.filter((id) => idsOf(isJob, id).size !== 1),
        ...batchIds.filter((id) => idsOf(isBatch, id).size !== 1),
      ];
      const repeats = arrivals.length - new Set(arrivals.map((a) => a.id)).size;
      console.log(
        `${name}: ${arrivals.length} webhook requests, ${new Set(arrivals.map((a) => a.id)).size} delivery ids, ${repeats} repeated attempts, ${twice.length} announced under two ids`,
      );
      if (!options.measureOnly)
        expect(twice, `${name}: announced under more than one delivery id`).toEqual([]);
      return {
        requests: arrivals.length,
        deliveryIds: new Set(arrivals.map((a) => a.id)).size,
        announcedTwice: twice.length,
      };
    },

    async job(id: string): Promise<JobView> {
      const { status, body } = await call<JobView>('GET', `/v1/jobs/${id}`);
      if (status !== 200) throw new Error(`GET /v1/jobs/${id} answered ${status}`);
      return body;
    },

    async jobs(ids: string[]): Promise<JobView[]> {
      const out: JobView[] = [];
      for (let i = 0; i < ids.length; i += 20) {
        out.push(...(await Promise.all(ids.slice(i, i + 20).map((id) => stack.job(id)))));
      }
      return out;
    },

    /** Waits until `check` returns a truthy value (polled every 100 ms). */
    async waitFor<T>(
      check: () => Promise<T | undefined | false> | T | undefined | false,
      timeoutMs: number,
      what: string,
    ): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await check();
        if (value) return value;
        if (Date.now() > deadline)
          throw new Error(`${name}: timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },

    /** Waits for every job to end or the timeout; returns the views and the ids still not ended. */
    async settle(ids: string[], timeoutMs: number): Promise<{ views: JobView[]; lost: string[] }> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const views = await stack.jobs(ids);
        const lost = views.filter((v) => !TERMINAL.has(v.state)).map((v) => v.id);
        if (lost.length === 0 || Date.now() > deadline) return { views, lost };
        await new Promise((r) => setTimeout(r, 250));
      }
    },

    /** Asserts every promise after a scenario and records its figures. */
    async check(ids: string[], expectations: CheckExpectations = {}): Promise<void> {
      const { state = 'succeeded', timeoutMs = 120_000 } = expectations;
      const { views, lost } = await stack.settle(ids, timeoutMs);
      const stats = sim.stats();
      const tasks = new Map(sim.tasks().map((t) => [t.id, t]));
      const windows: number[] = [];
      for (const v of views) {
        const task = v.providerTaskId ? tasks.get(v.providerTaskId) : undefined;
        if (task && v.submittedAt) windows.push(Date.parse(v.submittedAt) - task.createdAt);
      }
      // Duplicates a random kill explains: the prompt's first task was created just before a kill.
      const firstTask = new Map<string, number>();
      for (const t of tasks.values()) {
        if (t.prompt !== undefined && (stats.submissionsByPrompt[t.prompt] ?? 0) > 1) {
          firstTask.set(t.prompt, Math.min(firstTask.get(t.prompt) ?? Number.POSITIVE_INFINITY, t.createdAt));
        }
      }
      const inKillWindow = [...firstTask.values()].filter((created) =>
        killTimes.some((k) => k >= created - 50 && k <= created + 2_000),
      ).length;
      const duplicatesAllowed =
        (expectations.duplicatesAllowed ?? 0) + (expectations.allowKillWindowDuplicates ? inKillWindow : 0);
      if (stats.duplicatePrompts > 0) {
        console.log(`${name}: ${stats.duplicatePrompts} duplicate(s), ${inKillWindow} right after a SIGKILL`);
      }
      const states: Record<string, number> = {};
      for (const v of views) states[v.state] = (states[v.state] ?? 0) + 1;
      const faults: Record<string, number> = {};
      for (const [kind, n] of Object.entries(stats.faultsInjected)) if (n > 0) faults[kind] = n;
      recordScenario(
        {
          name: name,
          jobs: ids.length,
          lost: lost.length,
          states,
          duplicates: stats.duplicatePrompts,
          duplicatesAllowed,
          kills,
          faults,
          acceptWindowMs: spread(windows),
          durationMs: Date.now() - began,
        },
        windows,
      );
      await stack.saveLogs();

      expect(lost, `${name}: jobs that never ended`).toEqual([]);
      const wrong = views
        .filter((v) => v.state !== state)
        .map((v) => ({ id: v.id, state: v.state, error: v.error }));
      expect(wrong, `${name}: jobs not ${state}`).toEqual([]);
      for (const v of views) {
        if (v.state === 'failed' || v.state === 'canceled')
          expect(v.error?.message, `${v.id} has a reason`).toBeTruthy();
        if (v.state !== 'succeeded') continue;
        // Every output is in S3, byte-identical to what the provider served.
        expect(v.outputs.length).toBeGreaterThan(0);
        const task = tasks.get(v.providerTaskId!);
        expect(task, `${v.id}: its task is at the provider`).toBeDefined();
        for (const [n, output] of v.outputs.entries()) {
          const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: output.key }));
          const stored = Buffer.from(await object.Body!.transformToByteArray());
          expect(stored.equals(sim.imageBytes(task!.images[n]!.url)!), `${v.id} output ${n} intact`).toBe(
            true,
          );
        }
      }
      if (expectations.measureOnly) {
        console.log(
          `${name}: ${stats.duplicatePrompts} duplicate(s), ${stats.qpsBreaches} QPS and ${stats.inFlightBreaches} in-flight breach(es)`,
        );
        stack.checkWorkers();
        return;
      }
      expect(stats.qpsBreaches, `${name}: QPS breaches`).toBe(0);
      expect(stats.inFlightBreaches, `${name}: in-flight breaches`).toBe(0);
      // Every prompt reached the provider at least once when it succeeded; extra acceptances are
      // duplicates, each one explained by a logged "may duplicate" restart.
      for (const v of views.filter((x) => x.state === 'succeeded')) {
        expect(stats.submissionsByPrompt[prompts.get(v.id)!] ?? 0).toBeGreaterThanOrEqual(1);
      }
      expect(stats.duplicatePrompts, `${name}: duplicate submissions`).toBeLessThanOrEqual(duplicatesAllowed);
      const warned = workers.reduce(
        (n, w) => n + w.stdout.slice(outputMarks.get(w) ?? 0).split(POSSIBLE_DUPLICATE).length - 1,
        0,
      );
      expect(
        stats.duplicatePrompts,
        'every duplicate follows a logged ambiguous restart',
      ).toBeLessThanOrEqual(warned);
      stack.checkWorkers();
    },

    /** No worker crashed on its own or printed an unhandled rejection. */
    checkWorkers(): void {
      for (const w of workers) {
        const crash = CRASH_MARKERS.find((m) => w.stderr.includes(m));
        expect(crash, `${name}: worker ${w.n} stderr:\n${w.stderr.slice(0, 2000)}`).toBeUndefined();
        if (!w.killed) {
          expect(
            w.child.exitCode,
            `${name}: worker ${w.n} exited by itself:\n${w.stderr.slice(0, 2000)}`,
          ).toBeNull();
        }
      }
    },

    /** Writes every worker's output to `results/logs/<scenario>-w<n>.log`. */
    async saveLogs(): Promise<void> {
      await mkdir(LOG_DIR, { recursive: true });
      for (const w of workers) {
        const file = join(LOG_DIR, `${name.replace(/[^a-z0-9-]+/gi, '-')}-w${w.n}.log`);
        await writeFile(file, `${w.stdout}\n--- stderr ---\n${w.stderr}`);
      }
    },

    async close(): Promise<void> {
      for (const w of stack.live()) {
        w.child.kill('SIGTERM');
        const exited = await Promise.race([
          once(w.child, 'exit').then(() => true),
          new Promise((r) => setTimeout(() => r(false), 5_000)),
        ]);
        if (!exited) w.child.kill('SIGKILL');
      }
      await api.close();
      await receiver?.stop();
      await deletePrefix(redis, prefix).catch(() => undefined);
      redis.disconnect();
      await sim.close();
      await s3.destroy();
    },
  };
  return stack;
}

/** A webhook receiver answering 200 to everything, recording each request's id, type and subject. */
async function startReceiver(arrivals: Arrival[]) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          type: string;
          data: { id: string };
        };
        arrivals.push({ id: String(req.headers['webhook-id']), type: event.type, subject: event.data.id });
      } catch {
        // not a delivery
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
