/**
 * Runs the peer (`peer-worker.ts`, the design a BullMQ user would write) against its own simulator:
 * queues every prompt first (a full queue, like genqueue's runs), starts the worker processes, and
 * waits until every job completed or failed for good.
 */

import { deleteKeysWithPrefix } from '@genqueue/core';
import { type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { ClientRun } from './ceiling.ts';
import { benchPrefix, deploymentEnv, type Infra, spawnProcess, stopProcesses } from './deployment.ts';
import type { PeerResult } from './peer-worker.ts';

export interface PeerOptions {
  label: string;
  sim: SimulatorOptions;
  prompts: string[];
  /** Worker processes. */
  workers: number;
  /** Interval between two status queries of one task, in ms. */
  pollMs: number;
  timeoutMs: number;
}

const QUEUE = 'peer';

export async function runPeer(infra: Infra, options: PeerOptions): Promise<ClientRun> {
  const sim = await startSimulator(options.sim);
  const prefix = benchPrefix(`${options.label}-peer`);
  const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE, { connection: redis, prefix });
  const children = [];
  try {
    await queue.setGlobalConcurrency(sim.options.maxInFlight);
    await queue.addBulk(
      options.prompts.map((prompt) => ({
        name: 'generate',
        data: { prompt },
        // What such a user would set so a refused submission (429) is tried again.
        opts: { attempts: 10, backoff: { type: 'fixed', delay: 1_000 } },
      })),
    );
    const env = {
      ...deploymentEnv(infra, sim, prefix),
      LOG_LEVEL: 'silent',
      PEER_QUEUE: QUEUE,
      PEER_POLL_MS: String(options.pollMs),
    };
    for (let i = 0; i < options.workers; i++)
      children.push(await spawnProcess('bench/lib/peer-worker.ts', env));

    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if ((counts.completed ?? 0) + (counts.failed ?? 0) >= options.prompts.length) break;
      if (Date.now() > deadline) {
        throw new Error(
          `the peer had ${counts.completed} of ${options.prompts.length} jobs done after ${options.timeoutMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const done = (await queue.getJobs(['completed'])) as Job<unknown, PeerResult>[];
    const tasks = sim.tasks().sort((a, b) => a.createdAt - b.createdAt);
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const releaseDelays = done.flatMap((job) => {
      const task = job.returnvalue ? byId.get(job.returnvalue.taskId) : undefined;
      return task ? [(job.returnvalue.seenEndedAt - task.endsAt) / 1000] : [];
    });
    return { tasks, stats: sim.stats(), releaseDelays, completed: done.length };
  } finally {
    await stopProcesses(children);
    await queue.close();
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    await sim.close();
  }
}
