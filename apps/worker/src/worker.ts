/**
 * A worker process's wiring: one BullMQ worker per provider submit queue, plus the poll and sink
 * workers, all sharing one Redis connection for commands. Start any number of these processes on
 * any number of machines: the limits live in Redis.
 */

import { setMaxListeners } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { type AccountConfig, type Config, hasCredentials, tenantWeights } from '@genqueue/config';
import {
  type AdapterIo,
  type Clock,
  createLogger,
  createRedis,
  FairShare,
  JobLifecycle,
  JobStore,
  type Logger,
  limiterKeyPrefix,
  type Provider,
  QUEUE,
  QueueSet,
  submitQueueName,
  systemClock,
} from '@genqueue/core';
import { AccountPool, poolAccountOf, StatusQueryCap } from '@genqueue/limiter';
import { RedisMetrics } from '@genqueue/metrics';
import { createAdapter, descriptorOf, MissingCredentialsError, type ProviderName } from '@genqueue/providers';
import { sinkFromSettings } from '@genqueue/sink';
import { createGuardedDispatcher } from '@genqueue/webhooks';
import { DelayedError, Worker, type WorkerOptions } from 'bullmq';
import type { Dispatcher } from 'undici';
import type { WorkerContext, WorkerHooks } from './context.ts';
import { recordFinalFailure } from './final-failure.ts';
import { PauseWatch } from './pause-watch.ts';
import { runEvery } from './periodic.ts';
import { processPoll } from './poll-processor.ts';
import { Reconciler } from './reconciler.ts';
import { processSink } from './sink-processor.ts';
import { SlotSignal } from './slot-signal.ts';
import { processSubmit } from './submit-processor.ts';
import { TaskDurations } from './task-durations.ts';
import { processWebhook, WEBHOOK_CONCURRENCY, webhookBackoffStrategy } from './webhook-processor.ts';

/** How often a worker looks for outbox entries left by a crashed process. */
const OUTBOX_SWEEP_INTERVAL_MS = 1_000;

/**
 * How long `close()` goes on past SHUTDOWN_GRACE_MS before it stops waiting, in milliseconds: time
 * for the processors to return after the abort (they put their jobs back through Redis) and for the
 * queues, the slot signal and the metrics to close. Whatever still waits then (a processor that
 * ignores the abort, or Redis not answering at all: a stopped server or a partition, where even
 * QUIT gets no answer) is cut off: every Redis connection is disconnected, which fails its pending
 * commands, and the BullMQ jobs still active here go to another worker once their locks expire
 * (WORKER_LOCK_MS), as after a crash. A `commandTimeout` on the worker's connection could not bound
 * this: BullMQ duplicates that connection for its blocking BZPOPMIN (up to 10 s, the drain delay),
 * which a shorter timeout would fail over and over, and a command that timed out may still run.
 */
const CLOSE_MARGIN_MS = 3_000;

/** How often a healthy worker touches `WORKER_HEARTBEAT_FILE`. */
const HEARTBEAT_INTERVAL_MS = 10_000;

export interface WorkerOverrides {
  logger?: Logger;
  clock?: Clock;
  /** Replaces the adapters built from the config (tests). */
  providers?: ReadonlyMap<string, Provider>;
  /** Extra options for every BullMQ worker (tests shorten lock durations). */
  workerOptions?: Partial<WorkerOptions>;
  /** Dispatcher for webhook deliveries; not closed by `close()`. Default: the SSRF-guarded agent. */
  webhookDispatcher?: Dispatcher;
  /** Test hooks at the processors' crash points (see `CrashPoint`). */
  hooks?: WorkerHooks;
}

export interface WorkerHandle {
  readonly context: WorkerContext;
  /** This process's reconciler (it sweeps on its own; tests call `sweep()` to see a repair at once). */
  readonly reconciler: Reconciler;
  /** Stops taking work, lets active calls finish within the grace period, then closes. */
  close(): Promise<void>;
}

export async function startWorker(config: Config, overrides: WorkerOverrides = {}): Promise<WorkerHandle> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, name: 'worker' });
  const clock = overrides.clock ?? systemClock;
  // Before connecting: a worker refused for its configuration leaves no connection behind.
  const accounts = providerAccounts(config, overrides.providers, { logger, now: clock.now });
  const redis = createRedis(config.redis);
  if (accounts.size === 0) {
    logger.warn('no provider has credentials configured: this worker will only poll, store and deliver');
  }
  const adapters = new Map(
    [...accounts].map(([name, list]) => [name, new Map(list.map((a) => [a.config.id, a.adapter]))] as const),
  );
  // One pool per provider over all its accounts: choice and grant are one step in Redis.
  const pools = new Map(
    [...accounts].map(
      ([name, list]) =>
        [
          name,
          new AccountPool({
            redis,
            keyPrefix: limiterKeyPrefix(config.queuePrefix, name),
            accounts: list.map(({ config: account }) => poolAccountOf(account)),
            marginMs: config.limits.submitMarginMs,
            turnTtlMs: config.limits.submitTurnTtlMs,
            leaseTtlMs: config.limits.leaseTtlMs,
            probeIntervalMs: config.worker.accountProbeIntervalMs,
            clock,
          }),
        ] as const,
    ),
  );
  const statusCaps = new Map(
    [...accounts].map(
      ([name, list]) =>
        [
          name,
          new Map(
            list.map(({ config: account }) => [
              account.id,
              new StatusQueryCap({
                redis,
                keyPrefix: `${limiterKeyPrefix(config.queuePrefix, name)}:${account.id}`,
                maxPerSecond: config.worker.statusQueryMaxQps,
              }),
            ]),
          ),
        ] as const,
    ),
  );
  const store = new JobStore({
    redis,
    prefix: config.queuePrefix,
    retentionSeconds: config.jobRetentionSeconds,
    now: clock.now,
  });
  const queues = QueueSet.fromConfig(config, redis, [...accounts.keys()]);
  // Result URLs come from the provider: downloads go through the same connect-time SSRF guard as
  // webhooks (every redirect hop included), private hosts only as SINK_ALLOWED_HOSTS lists them.
  const sinkDispatcher = createGuardedDispatcher({
    allowPrivate: config.webhooks.allowPrivate,
    allowed: config.s3.allowedHosts,
    subject: 'result host',
    hint: 'list it in SINK_ALLOWED_HOSTS if the provider serves results from a private address',
  });
  const { sink } = sinkFromSettings(config.s3, logger, sinkDispatcher);
  // Checked at connect time, after DNS, so a receiver that resolves to a private address later is refused.
  const webhookDispatcher =
    overrides.webhookDispatcher ??
    createGuardedDispatcher({
      allowPrivate: config.webhooks.allowPrivate,
      connectTimeoutMs: Math.min(10_000, config.webhooks.timeoutMs),
    });
  if (!config.webhooks.secret) {
    logger.warn('WEBHOOK_SECRET is not set: webhook deliveries wait unsent (never unsigned) until it is');
  }
  const shutdown = new AbortController();
  const closing = new AbortController();
  // Every running sink and poll listens to it (a download, its upload, its pipeline): the default
  // limit of 10 listeners would warn of a leak at SINK_CONCURRENCY above 3.
  setMaxListeners(0, shutdown.signal);
  const context: WorkerContext = {
    config,
    store,
    lifecycle: new JobLifecycle({
      store,
      queues,
      logger,
      fairShare: new FairShare({ redis, prefix: config.queuePrefix, ...tenantWeights(config.tenants) }),
    }),
    queues,
    adapters,
    pools,
    statusCaps,
    slotSignal: new SlotSignal(redis, config.queuePrefix, logger),
    pauseWatch: new PauseWatch(logger),
    durations: new TaskDurations({ redis, prefix: config.queuePrefix, clock }),
    sink,
    logger,
    clock,
    shutdownSignal: shutdown.signal,
    closingSignal: closing.signal,
    ...(overrides.hooks ? { hooks: overrides.hooks } : {}),
    // metrics: figures for GET /metrics, sent to Redis in the background (@genqueue/metrics)
    metrics: new RedisMetrics({ redis, prefix: config.queuePrefix, logger }),
  };

  const common: WorkerOptions = {
    connection: redis,
    prefix: config.queuePrefix,
    lockDuration: config.worker.lockMs,
    // BullMQ only looks for stalled jobs every `stalledInterval` (default 30 s) and needs two looks
    // to move one back, so a short lock alone still left a killed worker's jobs stuck up to 60 s.
    stalledInterval: Math.min(30_000, config.worker.lockMs),
    // A killed worker's jobs must come back however often it happens, never be failed as stalled.
    maxStalledCount: 1_000,
    ...overrides.workerOptions,
  };
  await context.slotSignal?.start();
  const workers: Worker[] = [];

  for (const [name, list] of accounts) {
    const maxInFlight = list.reduce((sum, { config: account }) => sum + account.limits.maxInFlight, 0);
    const worker: Worker = new Worker(
      submitQueueName(name),
      (job, token) =>
        processSubmit(
          context,
          job,
          async (ms) => {
            await worker.rateLimit(Math.max(1, Math.ceil(ms)));
            return Worker.RateLimitError();
          },
          // Only this job waits (a pinned one for its busy account): the queue keeps going.
          async (ms) => {
            await job.moveToDelayed(Date.now() + Math.max(1, Math.ceil(ms)), token);
            return new DelayedError();
          },
        ),
      {
        ...common,
        // Enough to keep submitting while one call hangs; the gate decides who goes.
        concurrency: Math.min(maxInFlight, 10),
        // BullMQ honours `worker.rateLimit()` only when a limiter is set; the real limits are
        // enforced by the AccountPool, so this one never binds.
        limiter: { max: 1_000_000, duration: 1_000 },
        // A prioritized (batch) job that the gate sends back to waiting leaves no wake-up marker,
        // so an idle worker would sleep the whole drain delay (5 s by default) before it looks
        // again: at 1 submission/s that starved batches to one item per 5 s. A short long-poll
        // costs one blocking Redis call per 200 ms per idle worker.
        drainDelay: 0.2,
      },
    );
    workers.push(worker);
  }
  workers.push(
    new Worker(QUEUE.poll, (job, token) => processPoll(context, job, token), {
      ...common,
      concurrency: config.worker.pollConcurrency,
    }),
    new Worker(QUEUE.sink, (job) => processSink(context, job), {
      ...common,
      concurrency: config.worker.sinkConcurrency,
    }),
    new Worker(QUEUE.webhook, (job) => processWebhook(context, job, { dispatcher: webhookDispatcher }), {
      ...common,
      concurrency: WEBHOOK_CONCURRENCY,
      // The jobs carry `backoff: { type: 'webhook' }` (JOB_OPTIONS.webhook): the Standard Webhooks schedule.
      settings: { backoffStrategy: webhookBackoffStrategy(config.webhooks.retryScheduleMs) },
    }),
  );

  for (const worker of workers) {
    worker.on('error', (error) => logger.error({ err: error.message, queue: worker.name }, 'worker error'));
    worker.on('failed', (job, error) => {
      if (job) void recordFinalFailure(context, worker.name, job, error);
    });
  }
  logger.info({ providers: [...accounts.keys()], queues: workers.map((w) => w.name) }, 'worker started');

  // A container health check reads the file's age: it is touched only while Redis answers and
  // every BullMQ worker is still running.
  const heartbeatFile = config.worker.heartbeatFile;
  const beat = (file: string) => {
    if (!workers.every((w) => w.isRunning())) return;
    redis
      .ping()
      .then(() => writeFile(file, String(Date.now())))
      .catch((error: Error) => logger.warn({ err: error.message }, 'heartbeat not written'));
  };
  if (heartbeatFile) beat(heartbeatFile);
  const heartbeat = heartbeatFile && setInterval(beat, HEARTBEAT_INTERVAL_MS, heartbeatFile).unref();

  // Outbox entries a crashed process left (its transitions' webhooks, submit entries, budget
  // cancels) are drained here, by whichever worker comes first; draining twice does nothing twice.
  const outboxSweep = runEvery(
    OUTBOX_SWEEP_INTERVAL_MS,
    () => context.lifecycle.sweepOutbox(),
    (error) => logger.warn({ err: error.message }, 'outbox: sweep failed'),
  );

  const reconciler = new Reconciler(context, {
    intervalMs: config.worker.reconcileIntervalMs,
    staleMs: config.worker.reconcileStaleMs,
  });
  reconciler.start();

  return {
    context,
    reconciler,
    async close() {
      if (heartbeat) clearInterval(heartbeat);
      context.slotSignal?.stop(); // submissions waiting for a slot give up now, not after their wait
      closing.abort(new Error('worker closing')); // and polls held in the processor go back to BullMQ
      const graceMs = config.worker.shutdownGraceMs;
      const after = <T>(ms: number, value: T) =>
        new Promise<T>((resolve) => setTimeout(resolve, ms, value).unref());
      const orderly = (async () => {
        // No new sweep starts; one under way drains into the queues closed below, so it is awaited.
        const stopped = Promise.all([
          outboxSweep.stop(),
          reconciler.stop(),
          ...workers.map((w) => w.close()),
        ]);
        await Promise.race([stopped, after(graceMs, undefined)]);
        shutdown.abort(new Error('worker shutting down'));
        await stopped;
        await queues.close();
        await context.slotSignal?.close();
        await context.metrics?.close(); // metrics: send what is buffered
        if (!overrides.webhookDispatcher) await webhookDispatcher.close();
        await sinkDispatcher.close();
        await Promise.all([...adapters.values()].flatMap((m) => [...m.values()]).map((p) => p.close?.()));
        await redis.quit();
      })();
      const outcome = await Promise.race([
        orderly.then(
          () => 'closed' as const,
          (error: Error) => error,
        ),
        after(graceMs + CLOSE_MARGIN_MS, 'late' as const),
      ]);
      if (outcome !== 'closed') {
        if (outcome === 'late') {
          logger.warn(
            { graceMs, marginMs: CLOSE_MARGIN_MS },
            'worker: Redis or a processor did not answer in time; disconnecting without them',
          );
        } else {
          logger.warn({ err: outcome.message }, 'worker: shutdown step failed; disconnecting');
        }
        // BullMQ's `close()` disconnected its blocking connections first (to end their BZPOPMIN).
        redis.disconnect();
        context.slotSignal?.disconnect();
        if (!overrides.webhookDispatcher) void webhookDispatcher.destroy().catch(() => undefined);
        void sinkDispatcher.destroy().catch(() => undefined);
      }
      logger.info('worker stopped');
    },
  };
}

/**
 * Every enabled provider's accounts with their adapters. Adapters given by a test stand for the
 * provider's `default` account with the configured limits.
 */
function providerAccounts(
  config: Config,
  given: ReadonlyMap<string, Provider> | undefined,
  io: AdapterIo,
): Map<string, { config: AccountConfig; adapter: Provider }[]> {
  const result = new Map<string, { config: AccountConfig; adapter: Provider }[]>();
  if (given) {
    for (const [name, adapter] of given) {
      const { credentials: _secret, ...settings } = config.providers[name as ProviderName];
      result.set(name, [
        { config: { id: 'default', ...settings, credentials: {}, weight: 1, tags: [] }, adapter },
      ]);
    }
    return result;
  }
  for (const name of config.enabledProviders) {
    const descriptor = descriptorOf(name)!;
    const list = config.accounts[name];
    if (list.length === 0) {
      throw new MissingCredentialsError(
        `provider ${name} is enabled but has no account (${descriptor.envPrefix}_ACCOUNTS or its credential variables)`,
      );
    }
    const bare = list.filter((account) => !hasCredentials(account)).map((account) => account.id);
    if (bare.length > 0) {
      throw new MissingCredentialsError(
        `provider ${name}: account ${bare.join(', ')} has no credentials (a worker submits with them)`,
      );
    }
    result.set(
      name,
      list.map((account) => ({ config: account, adapter: createAdapter(descriptor, account, io) })),
    );
  }
  return result;
}
