/**
 * Capabilities drive the pipeline: the worker reads `synchronous` from the provider's descriptor,
 * not from the shape of a submit answer. A synchronous provider is never polled, even when its
 * answer (wrongly) carries no ended task: the job fails with a reason instead of waiting on a
 * status query the provider does not have.
 */
import { silentLogger } from '@genqueue/core';
import { createAdapter, defaultAccount, descriptorOf } from '@genqueue/providers';
import { startWorker, type WorkerHandle } from '@genqueue/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack;
let worker: WorkerHandle;
let statusQueries = 0;

beforeAll(async () => {
  stack = await startStack({
    sim: { mode: 'modelverse', latencyMs: { min: 50, max: 50 } },
    env: (sim) => ({
      PROVIDERS: 'modelverse',
      MODELVERSE_BASE_URL: sim.url,
      MODELVERSE_API_KEY: sim.options.token,
    }),
    workers: 0,
  });
  const descriptor = descriptorOf('modelverse');
  const real = createAdapter(descriptor, defaultAccount(stack.config.providers.modelverse)!);
  // The real adapter, except that its answer keeps only the task id, as a polled provider's would.
  const idOnly = {
    ...real,
    submit: async (...args: Parameters<typeof real.submit>) => ({
      taskId: (await real.submit(...args)).taskId,
    }),
    status: async () => {
      statusQueries++;
      throw new Error('a synchronous provider is never polled');
    },
  };
  worker = await startWorker(stack.config, {
    logger: silentLogger(),
    providers: new Map([['modelverse', idOnly]]),
  });
});

afterAll(async () => {
  await worker?.close();
  await stack?.close();
});

describe('a synchronous provider', () => {
  it('is never polled: an answer without an ended task fails the job with no_result', async () => {
    const { operation, input } = descriptorOf('modelverse').example;
    const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
      provider: 'modelverse',
      operation,
      input,
    });
    expect(posted.status).toBe(202);
    const id = posted.body.id;
    const job = await stack.ended(id);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'no_result' });
    expect(statusQueries).toBe(0);
    expect(stack.sim.stats().accepted).toBe(1);
  });
});
