/**
 * The pipeline end to end: API → limited submitter → poller → S3, against the LiblibAI simulator
 * over HTTP, with real Redis and s3rver.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readObject, type Stack, startStack } from './support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ sim: { submitQps: 5, maxInFlight: 5, latencyMs: { min: 200, max: 500 } } });
});

afterAll(async () => {
  await stack?.close();
});

const waitForTerminal = (id: string) => stack.ended(id);

describe('pipeline', () => {
  it('stores every image of a posted job in S3, byte-identical to the provider result', async () => {
    const posted = await stack.call<{ id: string; state: string }>('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'a lighthouse at dusk', aspectRatio: '3:4', imgCount: 2 },
      metadata: { customer: 'c-1' },
    });
    expect(posted.status).toBe(202);
    expect(posted.body.state).toBe('queued');

    const job = await waitForTerminal(posted.body.id);
    expect(job.state).toBe('succeeded');
    expect(job.provider).toBe('liblib');
    expect(job.providerStatus).toBe('5');
    expect(job.pointsCost).toBeGreaterThan(0);
    expect(job.outputs).toHaveLength(2);
    expect(job.submittedAt).toBeDefined();
    expect(job.finishedAt).toBeDefined();

    const task = stack.sim.tasks().find((t) => t.id === job.providerTaskId);
    expect(task).toBeDefined();
    for (const [n, output] of job.outputs.entries()) {
      expect(output.key).toBe(`jobs/${job.id}/${n}.png`);
      expect(output.contentType).toBe('image/png');
      const original = stack.sim.imageBytes(task!.images[n]!.url)!;
      const stored = await readObject(stack, output.key);
      expect(stored.equals(original)).toBe(true);
      expect(output.bytes).toBe(original.length);
      expect(output.sha256).toBe(createHash('sha256').update(original).digest('hex'));
      expect(output.seed).toBe(task!.images[n]!.seed);
      // the URL in the view serves the object
      const response = await fetch(output.url);
      expect(Buffer.from(await response.arrayBuffer()).equals(original)).toBe(true);
    }
  });

  it('fails a job with the provider reason when moderation rejects its prompt', async () => {
    const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'something forbidden' },
    });
    const job = await waitForTerminal(posted.body.id);
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('100052');
    expect(job.outputs).toEqual([]);
  });

  it('fails a job whose every image was blocked by review, with that reason', async () => {
    stack.sim.configure({ reviewBlockRate: 1 });
    try {
      const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
        operation: 'kontext.text2img',
        input: { prompt: 'blocked by review' },
      });
      const job = await waitForTerminal(posted.body.id);
      expect(job.state).toBe('failed');
      expect(job.error?.message).toMatch(/review/i);
    } finally {
      stack.sim.configure({ reviewBlockRate: 0 });
    }
  });

  it('cancels a queued job, and it never reaches the provider', async () => {
    stack.sim.configure({ latencyMs: { min: 3_000, max: 3_000 } });
    try {
      // fill the five slots so the sixth job stays queued
      const fillers = [];
      for (let i = 0; i < 5; i++) {
        fillers.push(
          (
            await stack.call<{ id: string }>('POST', '/v1/jobs', {
              operation: 'kontext.text2img',
              input: { prompt: `filler ${i}` },
            })
          ).body.id,
        );
      }
      await stack.waitFor(async () => stack.sim.stats().inFlight >= 5, 20_000, 'five tasks in flight');
      const queued = await stack.call<{ id: string }>('POST', '/v1/jobs', {
        operation: 'kontext.text2img',
        input: { prompt: 'never submitted' },
      });
      const canceled = await stack.call<{ state: string }>('POST', `/v1/jobs/${queued.body.id}/cancel`);
      expect(canceled.body.state).toBe('canceled');
      for (const id of fillers) expect((await waitForTerminal(id)).state).toBe('succeeded');
      expect(stack.sim.stats().submissionsByPrompt['never submitted']).toBeUndefined();
      expect((await stack.job(queued.body.id)).state).toBe('canceled');
    } finally {
      stack.sim.configure({ latencyMs: { min: 200, max: 500 } });
    }
  });

  it('never breaks the limits and never submits a prompt twice', () => {
    const stats = stack.sim.stats();
    expect(stats.qpsBreaches).toBe(0);
    expect(stats.inFlightBreaches).toBe(0);
    expect(stats.duplicatePrompts).toBe(0);
  });
});

describe('worker heartbeat', () => {
  it('touches WORKER_HEARTBEAT_FILE while its queues run, for container health checks', async () => {
    const { mkdtemp, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { silentLogger } = await import('@genqueue/core');
    const { loadConfig } = await import('@genqueue/config');
    const { startWorker } = await import('@genqueue/worker');
    const file = join(await mkdtemp(join(tmpdir(), 'genqueue-heartbeat-')), 'beat');
    const worker = await startWorker(loadConfig({ ...stack.env, WORKER_HEARTBEAT_FILE: file }), {
      logger: silentLogger(),
    });
    try {
      const written = await stack.waitFor(
        () => readFile(file, 'utf8').then(Number, () => undefined),
        10_000,
        'the heartbeat file',
      );
      expect(Math.abs(Date.now() - written)).toBeLessThan(10_000);
    } finally {
      await worker.close();
    }
  });
});
