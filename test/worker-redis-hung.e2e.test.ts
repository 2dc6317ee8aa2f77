/**
 * A worker process told to stop (SIGTERM) while Redis is hung: a private `redis-server` stopped
 * with SIGSTOP keeps its connections open and answers nothing, as in a network partition. The
 * worker still disconnects and exits within SHUTDOWN_GRACE_MS plus its fixed margin, with jobs
 * active and its own Redis calls unanswered; once Redis goes on (SIGCONT) a new worker takes those
 * jobs again (their locks expire) and every job succeeds.
 */
import { once } from 'node:events';
import { QUEUE, submitQueueName } from '@genqueue/core';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from './support/private-redis.ts';
import { type Stack, startStack } from './support/stack.ts';

const GRACE_MS = 1_000;
/**
 * What the test allows past the grace period: the worker's fixed margin (CLOSE_MARGIN_MS, 3 s, in
 * apps/worker/src/worker.ts) plus a process's exit on a shared 2-core machine.
 */
const EXIT_BOUND_MS = GRACE_MS + 3_000 + 1_500;
const JOBS = 6;

let redis: PrivateRedis;
let stack: Stack;

beforeAll(async () => {
  redis = await startPrivateRedis();
  stack = await startStack({
    redisEnv: { REDIS_URL: redis.url },
    // Long enough tasks that several are running (polled) when Redis stops.
    sim: { latencyMs: { min: 1_500, max: 3_000 }, maxInFlight: 10, submitQps: 10 },
    env: {
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      LIBLIB_TIMEOUT_MS: '30000',
      LIBLIB_MAX_IN_FLIGHT: '10',
      LIBLIB_SUBMIT_QPS: '10',
      RECONCILE_INTERVAL_MS: '1000',
    },
    workers: 0,
  });
});

afterAll(async () => {
  redis?.resume();
  await stack?.close();
  await redis?.destroy();
});

describe('a worker stopped while Redis is hung', () => {
  it('exits within the grace period plus its margin, and a new worker ends every job after SIGCONT', async () => {
    const worker = stack.spawnWorker();
    const exited = once(worker, 'exit');
    // One submission's call hangs at the provider: that submit job stays active in the worker.
    stack.sim.inject({ kind: 'hang', endpoint: 'submit', count: 1 });
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++)
      ids.push(await stack.postJob('kontext.text2img', { prompt: `hung redis ${i}` }));
    // Jobs in flight: the hung submission, and tasks the worker is polling.
    await stack.waitFor(
      async () => {
        if ((stack.sim.stats().faultsInjected.hang ?? 0) < 1) return false;
        const states = await Promise.all(ids.map(async (id) => (await stack.job(id)).state));
        return states.filter((state) => state === 'running').length >= 2;
      },
      30_000,
      'a hung submission and two running jobs',
    );

    redis.pause();
    let exitMs: number;
    try {
      // Past a tick of the outbox sweep and of the reconciler: each has a call hung on Redis too.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const started = Date.now();
      worker.kill('SIGTERM');
      const timedOut = new Promise<'timeout'>((resolve) => setTimeout(resolve, 15_000, 'timeout').unref());
      const result = await Promise.race([exited, timedOut]);
      exitMs = Date.now() - started;
      expect(result, 'the worker did not exit within 15 s of SIGTERM with Redis hung').not.toBe('timeout');
      expect(worker.exitCode).toBe(0);
    } finally {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      redis.resume();
    }
    console.log(`worker exited ${exitMs} ms after SIGTERM with Redis hung (grace ${GRACE_MS} ms)`);
    expect(exitMs).toBeLessThan(EXIT_BOUND_MS);

    // BullMQ jobs the dead worker still held (at least the hung submission, whose processor never
    // got Redis's answer after the abort): only their locks' expiry frees them.
    const queues = [submitQueueName('liblib'), QUEUE.poll, QUEUE.sink].map(
      (name) => new Queue(name, { connection: stack.redis, prefix: stack.prefix }),
    );
    const activeCount = async () =>
      (await Promise.all(queues.map((q) => q.getActiveCount()))).reduce((a, b) => a + b);
    try {
      const held = await activeCount();
      console.log(`${held} BullMQ jobs active after the exit`);
      expect(held).toBeGreaterThan(0);

      // Nothing lost: a new worker takes them again and every job ends succeeded, none left active.
      await stack.startWorker();
      const ended = await Promise.all(ids.map((id) => stack.ended(id, 60_000)));
      expect(ended.map((job) => job.state)).toEqual(ids.map(() => 'succeeded'));
      expect(await activeCount()).toBe(0);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
    }
  });
});
