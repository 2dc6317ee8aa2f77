/**
 * Crash windows of the job lifecycle, provoked exactly: a worker process SIGKILLs itself at a
 * named point of its processors (a test hook), and a fresh worker takes over. What the first one wrote in its last step must be enough for the second.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BatchView } from '@genqueue/core';
import type { CrashPoint } from '@genqueue/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
let stack: Stack | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;

afterEach(async () => {
  await stack?.close();
  await receiver?.stop();
  stack = undefined;
  receiver = undefined;
});

/** Webhook arrivals by type (signatures are checked in the webhook suite). */
async function startReceiver() {
  const arrivals: { id: string; type: string; dataId: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        type: string;
        data: { id: string };
      };
      arrivals.push({ id: String(req.headers['webhook-id']), type: event.type, dataId: event.data.id });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    arrivals,
    /**
     * The distinct deliveries of `type`. A worker killed in the middle of a delivery attempt makes
     * the next one send it again with the same `webhook-id` (receivers dedupe on it, as Standard
     * Webhooks asks); an announcement made twice would carry two ids.
     */
    of: (type: string) => [
      ...new Map(arrivals.filter((a) => a.type === type).map((a) => [a.id, a])).values(),
    ],
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Starts a worker process that SIGKILLs itself the `nth` time it reaches `point` (exactly there:
 * test/support/crashing-worker.ts); resolves when it is dead.
 */
async function crashAt(s: Stack, point: CrashPoint, nth = 1): Promise<{ died: Promise<void> }> {
  const child = s.spawnWorker({ CRASH_AT: `${point}:${nth}` }, 'test/support/crashing-worker.ts');
  const died = once(child, 'exit').then(([code, signal]) => {
    if (signal !== 'SIGKILL') throw new Error(`the crashing worker exited with ${code ?? signal}`);
  });
  return { died };
}

/** Waits a little longer than the outbox grace and a lock lapse, to see that nothing comes twice. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 4_000));

describe('crash windows', () => {
  it('announces a job killed right after it succeeded exactly once (outbox)', async () => {
    receiver = await startReceiver();
    stack = await startStack({ workers: 0, env: { WEBHOOK_SECRET: secret } });
    const crash = await crashAt(stack, 'stored');
    const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'a heron, killed after success' },
      webhookUrl: receiver.url,
    });
    expect(posted.status).toBe(202);
    await crash.died;
    expect((await stack.job(posted.body.id)).state).toBe('succeeded');
    expect(receiver.arrivals).toEqual([]);

    await stack.startWorker();
    await stack.waitFor(async () => receiver!.of('job.succeeded').length > 0, 45_000, 'job.succeeded');
    await settle();
    expect(receiver.of('job.succeeded')).toHaveLength(1);
    expect(receiver.arrivals[0]!.dataId).toBe(posted.body.id);
  });

  it('sends batch.completed exactly once when the worker dies after the last job ended', async () => {
    receiver = await startReceiver();
    stack = await startStack({
      workers: 0,
      env: { WEBHOOK_SECRET: secret },
      sim: { submitQps: 5, maxInFlight: 1, latencyMs: { min: 100, max: 200 } },
    });
    const crash = await crashAt(stack, 'stored', 2);
    const created = await stack.call<{ id: string }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      prompts: ['batch crash 0', 'batch crash 1'],
      webhookUrl: receiver.url,
      events: ['job.succeeded'],
    });
    expect(created.status).toBe(202);
    await crash.died;
    expect((await stack.call<BatchView>('GET', `/v1/batches/${created.body.id}`)).body.done).toBe(true);

    await stack.startWorker();
    await stack.waitFor(async () => receiver!.of('batch.completed').length > 0, 45_000, 'batch.completed');
    await settle();
    expect(receiver.of('batch.completed')).toHaveLength(1);
    expect(
      receiver
        .of('job.succeeded')
        .map((a) => a.dataId)
        .sort(),
    ).toEqual((await stack.itemIds(created.body.id)).sort());
  });

  it('cancels the rest of a batch whose budget was spent by a worker that died right then', async () => {
    stack = await startStack({
      workers: 0,
      sim: { submitQps: 5, maxInFlight: 1, latencyMs: { min: 100, max: 200 } },
    });
    // Kontext pro costs 29 points an image: the 2nd task's end reaches maxPoints 50.
    const crash = await crashAt(stack, 'task-ended', 2);
    const created = await stack.call<{ id: string }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      defaults: { model: 'pro' },
      prompts: Array.from({ length: 8 }, (_, i) => `budget crash ${i}`),
      maxPoints: 50,
    });
    expect(created.status).toBe(202);
    await crash.died;

    await stack.startWorker();
    const done = await stack.waitFor(
      async () => {
        const view = (await stack!.call<BatchView>('GET', `/v1/batches/${created.body.id}`)).body;
        return view.done ? view : undefined;
      },
      30_000,
      'the batch to end',
    );
    expect(done.canceledReason).toBe('the batch reached its maxPoints budget');
    // the two that spent the budget are kept; at most one more started before the kill landed
    expect(done.counts.succeeded).toBeGreaterThanOrEqual(2);
    expect(done.counts.succeeded).toBeLessThanOrEqual(3);
    expect(done.counts.canceled).toBe(8 - done.counts.succeeded);
  });

  it('keeps a synchronous answer that a worker saved and then died with', async () => {
    stack = await startStack({
      workers: 0,
      sim: { mode: 'modelverse', submitQps: 5, maxInFlight: 5, latencyMs: { min: 100, max: 200 } },
      env: (sim) => ({
        MODELVERSE_BASE_URL: sim.url,
        MODELVERSE_API_KEY: sim.options.token,
        MODELVERSE_SUBMIT_QPS: '5',
        MODELVERSE_MAX_IN_FLIGHT: '5',
      }),
    });
    const crash = await crashAt(stack, 'task-ended');
    const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
      provider: 'modelverse',
      operation: 'black-forest-labs/flux.1-dev',
      input: { prompt: 'a synchronous lighthouse', response_format: 'b64_json', size: '512x512' },
    });
    expect(posted.status).toBe(202);
    await crash.died;
    expect((await stack.job(posted.body.id)).state).toBe('storing');

    await stack.startWorker();
    const job = await stack.ended(posted.body.id);
    expect(job.error).toBeUndefined();
    expect(job.state).toBe('succeeded');
    expect(job.outputs.length).toBeGreaterThan(0);
    // paid once: the provider saw one task
    expect(stack.sim.stats().accepted).toBe(1);
    // no image bytes are left in Redis: neither in the record nor in BullMQ's sink job
    const keys = await stack.redis.keys(`${stack.prefix}:*`);
    for (const key of keys) {
      const type = await stack.redis.type(key);
      const text =
        type === 'hash'
          ? JSON.stringify(await stack.redis.hgetall(key))
          : type === 'string'
            ? ((await stack.redis.get(key)) ?? '')
            : '';
      expect(text, key).not.toContain('base64,');
    }
  });
});
