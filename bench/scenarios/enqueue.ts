/**
 * 5. Enqueue: `POST /v1/batches` with 10,000 and 50,000 prompts, with no worker running: the time
 * the API takes to accept them, and the Redis memory each queued job costs (`used_memory` before
 * and after, divided by the jobs). Memory is measured on a private redis-server when one can be
 * started, so other clients of a shared Redis do not blur it.
 */
import {
  type BatchItem,
  intakeBatch,
  JobLifecycle,
  masters,
  QueueSet,
  type RedisClient,
  silentLogger,
} from '@genqueue/core';
import { ensureRedis, freePort } from '@genqueue/embedded';
import { descriptorOf } from '@genqueue/providers';
import { type Deployment, deploy, type Infra } from '../lib/deployment.ts';
import type { Figure } from '../lib/figures.ts';
import type { RunOptions } from './throughput.ts';

/** `used_memory` in bytes, summed over every master of a Cluster. */
async function usedMemory(redis: RedisClient): Promise<number> {
  let total = 0;
  for (const node of masters(redis))
    total += Number(/^used_memory:(\d+)/m.exec(await node.info('memory'))?.[1]);
  return total;
}

/** Through the API's batch route when it exists; else core's `intakeBatch` directly (as the route does). */
async function enqueue(d: Deployment, prompts: string[]): Promise<{ ms: number; via: string }> {
  const started = performance.now();
  const { status, body } = await d.call<{ id?: string; total?: number }>('POST', '/v1/batches', {
    operation: 'kontext.text2img',
    prompts,
  });
  const ms = performance.now() - started;
  if (status === 202 && body.total === prompts.length) return { ms, via: 'POST /v1/batches' };
  if (status !== 404)
    throw new Error(`POST /v1/batches answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);

  const queues = new QueueSet({
    connection: d.redis,
    prefix: d.prefix,
    providers: ['liblib'],
    submitAttempts: d.config.worker.submitAttempts,
    transientBackoffMs: d.config.worker.transientBackoffMs,
    sinkAttempts: d.config.s3.attempts,
    webhookAttempts: d.config.webhooks.retryScheduleMs.length,
  });
  try {
    const direct = performance.now();
    const result = await intakeBatch(
      { store: d.store, lifecycle: new JobLifecycle({ store: d.store, queues, logger: silentLogger() }) },
      {
        provider: 'liblib',
        operation: 'kontext.text2img',
        spec: descriptorOf('liblib')!.operations['kontext.text2img']!,
        defaults: {},
        events: [],
        skipInvalid: false,
        maxItems: 50_000,
      },
      prompts.map((prompt): BatchItem => ({ input: { prompt } })),
    );
    if (!result.ok) throw new Error(`intakeBatch refused the batch: ${result.reason}`);
    return { ms: performance.now() - direct, via: 'intakeBatch (no batch route yet)' };
  } finally {
    await queues.close();
  }
}

export async function enqueueBatches(infra: Infra, { log }: RunOptions): Promise<Figure[]> {
  let privateRedis: Awaited<ReturnType<typeof ensureRedis>> | undefined;
  try {
    // A port nobody answers on makes ensureRedis start a private redis-server (if installed).
    privateRedis = await ensureRedis(`redis://127.0.0.1:${await freePort()}`);
  } catch {
    log('5. no redis-server binary: measuring memory on the shared Redis (other clients may blur it)');
  }
  const redisUrl = privateRedis?.url ?? infra.redisUrl;
  const figures: Figure[] = [];
  try {
    for (const n of [10_000, 50_000]) {
      log(`5. enqueue ${n.toLocaleString('en')} prompts`);
      const d = await deploy({ ...infra, redisUrl }, { label: 's5', sim: {} });
      try {
        const prompts = Array.from(
          { length: n },
          (_, i) => `a watercolor lighthouse at dusk, variation ${i}`,
        );
        const before = await usedMemory(d.redis);
        const { ms, via } = await enqueue(d, prompts);
        const after = await usedMemory(d.redis);
        const scenario = `5 enqueue ${n.toLocaleString('en')}`;
        figures.push(
          {
            scenario,
            name: `accepted in (${via})`,
            value: ms / 1000,
            unit: 's',
            target: n === 10_000 ? { op: '<=', value: 1 } : undefined,
            digits: 3,
          },
          {
            scenario,
            name: `Redis per queued job${privateRedis ? '' : ' (shared Redis)'}`,
            value: (after - before) / n / 1024,
            unit: 'KB',
            target: { op: '<=', value: 1.5 },
            digits: 2,
          },
        );
      } finally {
        await d.close();
      }
    }
  } finally {
    await privateRedis?.stop();
  }
  return figures;
}
