/**
 * The reconciler: whatever the cause (a lost outbox entry, a BullMQ job removed by hand or lost
 * with the last second of an `appendfsync everysec` Redis, a bug), a live job must never wait with
 * nothing scheduled to move it. Every `RECONCILE_INTERVAL_MS` one worker of the deployment (under
 * a Redis lock) reads the live jobs whose last progress is older than `RECONCILE_STALE_MS` from
 * the job store's index, and for each checks the BullMQ job its state needs: a submit job while
 * `queued` or `submitting`, a poll job while `running`, a sink job while `storing`. A job whose
 * BullMQ job is missing, or already finished while the record is still live, gets it again. A
 * task the provider still reports alive `TASK_DEADLINE_MS` after its submission fails with that
 * reason and frees its slot. Every repair is logged and counted (`genqueue_reconciler_repairs_total`).
 *
 * Repairs are safe to race with the processors: re-adding a BullMQ job reuses its id (a no-op if
 * it exists), every processor re-reads the record and does nothing for a state it does not own,
 * and state changes go through the store's transitions.
 */
import { randomUUID } from 'node:crypto';
import { bullJobId, isTerminal, type JobRecord, jobTag } from '@genqueue/core';
import type { Job, Queue } from 'bullmq';
import { providerOfRecord, type WorkerContext } from './context.ts';
import { type Periodic, runEvery } from './periodic.ts';
import { failJob, freeSlot, scheduleSink } from './task-end.ts';

/** What the reconciler did to one job. */
export type Repair = 'submit' | 'poll' | 'sink' | 'deadline';

/** What one sweep saw and did. */
export interface SweepReport {
  /** Live jobs checked. */
  examined: number;
  /** Jobs repaired, by repair. */
  repaired: Record<Repair, number>;
}

/** Options of {@link Reconciler}. */
export interface ReconcilerOptions {
  /** Time between sweeps, in milliseconds (`RECONCILE_INTERVAL_MS`). */
  intervalMs: number;
  /** A live job is checked once its last progress is this old, in milliseconds (`RECONCILE_STALE_MS`). */
  staleMs: number;
  /** Most jobs one sweep checks; the rest wait for the next sweep. Default 5 000. */
  maxPerSweep?: number;
}

/** BullMQ states in which a job will still run. */
const PENDING = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);
const PAGE = 200;
const LOCK = 'reconciler';

export class Reconciler {
  private periodic?: Periodic;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly options: ReconcilerOptions,
  ) {}

  /** Sweeps every `intervalMs` until {@link stop}. */
  start(): void {
    this.periodic = runEvery(
      this.options.intervalMs,
      () => this.sweep(),
      (error) => this.ctx.logger.warn({ err: error.message }, 'reconciler: sweep failed'),
    );
  }

  /** Stops sweeping and waits for a sweep under way. */
  async stop(): Promise<void> {
    await this.periodic?.stop();
  }

  /**
   * One sweep, if no other worker is sweeping (then it answers undefined). Deterministic: tests
   * call it directly to see a provoked stuck job repaired.
   */
  async sweep(): Promise<SweepReport | undefined> {
    const { store, clock } = this.ctx;
    const token = randomUUID();
    // Held at most one interval: a sweep that dies leaves the next one free to start.
    if (!(await store.acquireLock(LOCK, token, this.options.intervalMs))) return undefined;
    const report: SweepReport = { examined: 0, repaired: { submit: 0, poll: 0, sink: 0, deadline: 0 } };
    try {
      const max = this.options.maxPerSweep ?? 5_000;
      const before = clock.now() - this.options.staleMs;
      while (report.examined < max) {
        const ids = await store.staleJobs(before, Math.min(PAGE, max - report.examined));
        if (ids.length === 0) break;
        const records = await store.getJobs(ids);
        const live: string[] = [];
        const gone: string[] = [];
        for (const [index, id] of ids.entries()) {
          const record = records[index];
          if (!record || isTerminal(record.state)) {
            gone.push(id);
            continue;
          }
          live.push(id);
          report.examined++;
          const repair = await this.check(record).catch((error: Error) => {
            this.ctx.logger.warn({ jobId: id, err: error.message }, 'reconciler: could not check a job');
            return undefined;
          });
          if (repair) report.repaired[repair]++;
        }
        // Checked now: each job leaves the stale range (or the index) until it is stale again.
        await store.touchJobs(live, gone);
      }
    } finally {
      await store.releaseLock(LOCK, token);
    }
    return report;
  }

  /** Checks one live job; answers the repair it made, if any. */
  private async check(record: JobRecord): Promise<Repair | undefined> {
    const { ctx } = this;
    if (record.state === 'running' && isOverdue(ctx, record)) {
      await failOverdueTask(ctx, record);
      return this.repaired(record, 'deadline');
    }
    const { queue, repair } = this.expected(record);
    const bullId = bullJobId(record.id, record.run);
    const bull: Job | undefined = await queue.getJob(bullId);
    const state = bull ? await bull.getState() : 'missing';
    if (PENDING.has(state)) return undefined;
    // Read again: the job may have moved on since the page was read (its BullMQ job finished
    // because it did).
    const fresh = await ctx.store.getJob(record.id);
    if (!fresh || fresh.state !== record.state || fresh.run !== record.run) return undefined;
    // A finished BullMQ job keeps its id until BullMQ's cleanup: adding it again would be a no-op.
    if (bull && (state === 'completed' || state === 'failed')) await bull.remove();
    if (repair === 'submit') {
      await ctx.queues.enqueueSubmit(fresh.provider, [
        { jobId: fresh.id, run: fresh.run, tag: jobTag(fresh) },
      ]);
    } else if (repair === 'poll') {
      const tag = jobTag(fresh);
      await ctx.queues.poll.add(tag.name, tag.data, { jobId: bullId });
    } else {
      await scheduleSink(ctx, fresh);
    }
    return this.repaired(fresh, repair, state);
  }

  private expected(record: JobRecord): { queue: Queue; repair: Exclude<Repair, 'deadline'> } {
    const { queues } = this.ctx;
    if (record.state === 'running') return { queue: queues.poll as Queue, repair: 'poll' };
    if (record.state === 'storing') return { queue: queues.sink as Queue, repair: 'sink' };
    return { queue: queues.submitQueue(record.provider) as Queue, repair: 'submit' };
  }

  private repaired(record: JobRecord, repair: Repair, bullState?: string): Repair {
    this.ctx.metrics?.reconcilerRepair(repair); // metrics
    this.ctx.logger.warn(
      { jobId: record.id, state: record.state, run: record.run, repair, bullState },
      repair === 'deadline'
        ? 'reconciler: task alive past TASK_DEADLINE_MS; job failed, slot freed'
        : `reconciler: ${record.state} job had no pending ${repair} job; scheduled one`,
    );
    return repair;
  }
}

/** Whether a submitted task has outlived `TASK_DEADLINE_MS`. */
export function isOverdue(ctx: WorkerContext, record: JobRecord): boolean {
  return (
    record.submittedAt !== undefined &&
    ctx.clock.now() - record.submittedAt > ctx.config.worker.taskDeadlineMs
  );
}

/**
 * Gives up on a task the provider still reports alive past `TASK_DEADLINE_MS`: asks the provider to
 * cancel it where it can, fails the job with that reason, and frees its slot (by then the
 * provider has ended it by its own timeout, 002 §4.3.1).
 */
export async function failOverdueTask(ctx: WorkerContext, record: JobRecord): Promise<void> {
  const { lease, pool, provider, descriptor } = providerOfRecord(ctx, record);
  if (descriptor.capabilities.cancelable && provider.cancel && record.providerTaskId) {
    await provider
      .cancel(record.operation, record.providerTaskId, { jobId: record.id, signal: ctx.shutdownSignal })
      .catch(() => undefined);
  }
  const minutes = Math.round(ctx.config.worker.taskDeadlineMs / 60_000);
  await failJob(ctx, record.id, {
    code: 'task_timeout',
    message: `the provider still reported the task as running ${minutes} min after its submission (TASK_DEADLINE_MS); given up`,
  });
  await freeSlot(ctx, record.provider, pool, lease);
}
