import type { Config } from '@genqueue/config';
import type { Clock, JobLifecycle, JobRecord, JobStore, Logger, Provider, QueueSet } from '@genqueue/core';
import type { AccountPool, Lease, StatusQueryCap } from '@genqueue/limiter';
import type { RedisMetrics } from '@genqueue/metrics';
import { type CatalogDescriptor, descriptorOf } from '@genqueue/providers';
import type { Sink } from '@genqueue/sink';
import type { PauseWatch } from './pause-watch.ts';
import type { SlotSignal } from './slot-signal.ts';
import type { TaskDurations } from './task-durations.ts';

/** Everything the processors need, built once per worker process. */
export interface WorkerContext {
  config: Config;
  store: JobStore;
  lifecycle: JobLifecycle;
  queues: QueueSet;
  /** Each provider's adapters by account id: a task belongs to the account that submitted it. */
  adapters: ReadonlyMap<string, ReadonlyMap<string, Provider>>;
  /** Each provider's account pool: the submission gate of its accounts. */
  pools: ReadonlyMap<string, AccountPool>;
  /** Status-query caps by provider, then by account. */
  statusCaps: ReadonlyMap<string, ReadonlyMap<string, StatusQueryCap>>;
  /** "A slot was freed", between worker processes; absent in contexts built without one. */
  slotSignal?: SlotSignal;
  /** Logs when every account of a provider is paused, and when one is back; absent in contexts built without one. */
  pauseWatch?: PauseWatch;
  /** How long earlier tasks took, for the poll schedule. */
  durations: TaskDurations;
  sink: Sink;
  logger: Logger;
  clock: Clock;
  /** Aborted at shutdown, after the grace period. */
  shutdownSignal: AbortSignal;
  /**
   * Aborted the moment shutdown begins: waits that only save time (a poll held in the processor)
   * hand their job back at once instead of running on through the grace period.
   */
  closingSignal?: AbortSignal;
  /** Test hooks: named points where a test stops a worker exactly, to provoke a crash window. */
  hooks?: WorkerHooks;
  /** Metrics recorder (fire-and-forget into Redis); absent in contexts built without one. */
  metrics?: RedisMetrics;
}

/**
 * Points where a worker can be stopped by a test (a hook that never resolves freezes the processor
 * there, as a crash would; the test then closes the worker without waiting):
 * - `task-ended`: the end of a task is recorded; its outbox (webhook, batch completion, budget
 *   cancel) is not drained and the sink job is not added.
 * - `stored`: the job succeeded; its outbox is not drained.
 */
export type CrashPoint = 'task-ended' | 'stored';

export interface WorkerHooks {
  at(point: CrashPoint, jobId: string): Promise<void> | void;
}

/**
 * A provider's pool and the adapter of one of its accounts (default: its first account, whose
 * operations and capabilities every account shares).
 */
export function providerOf(
  ctx: WorkerContext,
  name: string,
  account?: string,
): { provider: Provider; pool: AccountPool; descriptor: CatalogDescriptor } {
  const pool = ctx.pools.get(name);
  const adapters = ctx.adapters.get(name);
  const descriptor = descriptorOf(name);
  const provider = adapters?.get(account ?? pool?.accounts[0]?.id ?? '');
  if (!provider || !pool || !descriptor) {
    throw new Error(
      `provider ${name}${account ? ` account ${account}` : ''} is not configured in this worker`,
    );
  }
  return { provider, pool, descriptor };
}

/**
 * Token of a lease whose grant left no token on the record (a task submitted before leases had
 * tokens): every worker then names that lease the same way.
 */
const ADOPTED_TOKEN = 'adopted';

/**
 * The lease of a submitted job's task, as its record names it. A record without an account (one
 * written before a provider had several) or naming one no longer configured is taken to hold its
 * slot on the provider's first account: every worker then refreshes and frees that same slot.
 */
export function leaseOfRecord(pool: AccountPool, record: JobRecord): Lease {
  const account = record.account && pool.has(record.account) ? record.account : pool.accounts[0]!.id;
  return { account, holder: record.id, token: record.leaseToken ?? ADOPTED_TOKEN };
}

/**
 * A submitted job's task as its record names it: its lease (see {@link leaseOfRecord}) and the
 * adapter of that lease's account, whose key alone sees the task. Throws when the provider is not
 * configured in this worker.
 */
export function providerOfRecord(
  ctx: WorkerContext,
  record: JobRecord,
): { lease: Lease; provider: Provider; pool: AccountPool; descriptor: CatalogDescriptor } {
  const lease = leaseOfRecord(providerOf(ctx, record.provider).pool, record);
  return { lease, ...providerOf(ctx, record.provider, lease.account) };
}
