/**
 * A worker shutting down aborts its provider calls: that is the worker's own doing, not a provider
 * error. The job goes back to waiting without using an attempt and without failing, and the next
 * worker takes it to its end.
 */
import { submitQueueName } from '@genqueue/core';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    sim: { latencyMs: { min: 20, max: 50 } },
    // One attempt only: a shutdown that used it up (or counted as a transient error) fails the job.
    env: { SUBMIT_ATTEMPTS: '1', SHUTDOWN_GRACE_MS: '300', LIBLIB_TIMEOUT_MS: '30000' },
    workers: 0,
  });
});

afterAll(async () => {
  await stack?.close();
});

const post = (prompt: string) => stack.postJob('kontext.text2img', { prompt });

/** Starts a worker, waits for `ready`, then shuts the worker down while its call hangs. */
async function shutDownDuring(ready: () => boolean): Promise<void> {
  const worker = await stack.startWorker();
  await stack.waitFor(async () => ready(), 20_000, 'the hung call');
  await worker.close();
  stack.workers.splice(stack.workers.indexOf(worker), 1);
}

describe('a worker shutting down mid-call', () => {
  it('puts a hung submission back to waiting, with no attempt used and no failure', async () => {
    const faults = () => stack.sim.stats().faultsInjected.hang ?? 0;
    const before = faults();
    stack.sim.inject({ kind: 'hang', endpoint: 'submit', count: 1 });
    const id = await post('shutdown during submit');
    await shutDownDuring(() => faults() > before);

    expect((await stack.job(id)).state).toBe('queued');
    const queue = new Queue(submitQueueName('liblib'), { connection: stack.redis, prefix: stack.prefix });
    const job = await queue.getJob(id);
    expect(job?.attemptsMade).toBe(0);
    expect(['waiting', 'prioritized']).toContain(await job?.getState());
    await queue.close();

    await stack.startWorker();
    expect((await stack.ended(id)).state).toBe('succeeded');
  });

  it('leaves a job whose status query hung running, polled again by the next worker', async () => {
    for (const worker of stack.workers.splice(0)) await worker.close();
    const id = await post('shutdown during poll');
    const faults = () => stack.sim.stats().faultsInjected.hang ?? 0;
    const before = faults();
    const accepted = stack.sim.stats().accepted;
    let injected = false;
    await shutDownDuring(() => {
      // Hang the first status query once the task exists.
      if (!injected && stack.sim.stats().accepted > accepted) {
        stack.sim.inject({ kind: 'hang', endpoint: 'status', count: 1 });
        injected = true;
      }
      return faults() > before;
    });
    expect((await stack.job(id)).state).toBe('running');

    await stack.startWorker();
    expect((await stack.ended(id)).state).toBe('succeeded');
  });
});

describe('a worker whose processor never returns', () => {
  it('still closes, within the grace period plus the close margin', async () => {
    for (const worker of stack.workers.splice(0)) await worker.close();
    let frozen = false;
    // A hook that never resolves: the sink processor hangs there, deaf to the abort.
    const worker = await stack.startWorker({
      hooks: {
        at: (point) => {
          if (point !== 'stored') return;
          frozen = true;
          return new Promise<void>(() => undefined);
        },
      },
    });
    stack.workers.splice(stack.workers.indexOf(worker), 1);
    const id = await post('a processor that never returns');
    await stack.waitFor(async () => frozen, 20_000, 'the frozen processor');
    const started = Date.now();
    await worker.close();
    // SHUTDOWN_GRACE_MS 300 + the 3 s close margin, then it disconnects without the processor.
    expect(Date.now() - started).toBeLessThan(4_500);
    // The job itself had succeeded before the freeze; its announcement is the outbox's to drain.
    await stack.startWorker();
    expect((await stack.ended(id)).state).toBe('succeeded');
  });
});
