/**
 * The batch the Redis Cluster and Sentinel tests run: prompts posted to the API as one batch, the
 * batch followed to its end, and every job checked: succeeded, its image stored in S3 with the
 * bytes and digest its record names, and each prompt submitted to the provider exactly once.
 */
import { createHash } from 'node:crypto';
import type { BatchView, JobView } from '@genqueue/core';
import { expect } from 'vitest';
import { readObject, type Stack, startStack } from './stack.ts';

/**
 * The deployment those tests run: the simulator (10 submissions/s, 8 in flight), s3rver, the API in
 * this process and two worker processes, reaching Redis as `redisEnv` says; `REDIS_URL` points at
 * a port nobody answers on, so a process that ignored `redisEnv` could not work.
 */
export async function startBatchStack(
  redisEnv: Record<string, string>,
  options: { prefix?: string } = {},
): Promise<Stack> {
  const stack = await startStack({
    ...options,
    sim: { submitQps: 10, maxInFlight: 8, latencyMs: { min: 200, max: 400 } },
    redisEnv: { REDIS_URL: 'redis://127.0.0.1:1', ...redisEnv },
    env: { SUBMIT_MARGIN_MS: '5' },
    workers: 0,
  });
  stack.spawnWorker();
  stack.spawnWorker();
  return stack;
}

/** Both worker processes are still up. */
export function expectWorkersAlive(stack: Stack): void {
  expect(stack.processes.map((child) => child.exitCode ?? child.signalCode)).toEqual([null, null]);
}

/** Posts `count` prompts as one batch; answers its id and the prompts. */
export async function postBatch(stack: Stack, count: number, label: string) {
  const prompts = Array.from({ length: count }, (_, i) => `${label} prompt ${i}`);
  const created = await stack.call<{ id: string; total: number }>('POST', '/v1/batches', {
    operation: 'kontext.text2img',
    defaults: { aspectRatio: '1:1' },
    prompts,
  });
  expect(created.status).toBe(202);
  return { id: created.body.id, prompts };
}

export async function batchView(stack: Stack, id: string): Promise<BatchView> {
  const { status, body } = await stack.call<BatchView>('GET', `/v1/batches/${id}`);
  if (status !== 200) throw new Error(`GET /v1/batches/${id} answered ${status}`);
  return body;
}

/** Waits for the batch to end and checks every job and every stored image. */
export async function expectBatchStored(stack: Stack, id: string, prompts: string[], timeoutMs: number) {
  const done = await stack.waitFor(
    async () => {
      const view = await batchView(stack, id).catch(() => undefined);
      return view?.done ? view : undefined;
    },
    timeoutMs,
    `batch ${id} to end`,
  );
  expect(done.counts).toMatchObject({ succeeded: prompts.length, failed: 0, canceled: 0 });

  // The listing pages through the batch's records (one hash-tagged slot) in order.
  const jobs: JobView[] = [];
  let cursor: string | null = '0';
  while (cursor !== null) {
    const page: { status: number; body: { items: JobView[]; nextCursor: string | null } } = await stack.call(
      'GET',
      `/v1/batches/${id}/jobs?limit=50&cursor=${cursor}`,
    );
    expect(page.status).toBe(200);
    jobs.push(...page.body.items);
    cursor = page.body.nextCursor;
  }
  expect(jobs.map((j) => j.input.prompt)).toEqual(prompts);
  for (const job of jobs) {
    expect(job.state).toBe('succeeded');
    expect(job.outputs.length).toBeGreaterThan(0);
    for (const output of job.outputs) {
      const stored = await readObject(stack, output.key);
      expect(stored.length).toBe(output.bytes);
      expect(createHash('sha256').update(stored).digest('hex')).toBe(output.sha256);
    }
  }
  const stats = stack.sim.stats();
  for (const prompt of prompts) expect(stats.submissionsByPrompt[prompt]).toBe(1);
  return { done, jobs, stats };
}
