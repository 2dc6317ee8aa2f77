/**
 * The webhook step against a real Redis (unique prefix) and a real receiver on 127.0.0.1: what each
 * outcome records, what it tells BullMQ, and the backoff BullMQ gets. The whole path through BullMQ
 * is covered by test/webhooks.e2e.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, loadConfig } from '@genqueue/config';
import {
  type BatchView,
  JobStore,
  type JobView,
  silentLogger,
  systemClock,
  type WebhookPayload,
} from '@genqueue/core';
import { createGuardedDispatcher } from '@genqueue/webhooks';
import { type Job, UnrecoverableError } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, uniquePrefix } from '../../../test/support/redis.ts';
import type { WorkerContext } from './context.ts';
import {
  goneUrlKey,
  MAX_RETRY_AFTER_MS,
  processWebhook,
  WebhookAttemptError,
  webhookBackoffStrategy,
} from './webhook-processor.ts';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const schedule = [0, 200, 400, 800];
const middle = () => 0.5;

describe('webhookBackoffStrategy', () => {
  const backoff = webhookBackoffStrategy(schedule, middle);

  it('waits the schedule’s next delay after each failed attempt, and stops when it is used up', () => {
    expect(backoff(1, 'webhook', new WebhookAttemptError('HTTP 500'))).toBe(200);
    expect(backoff(3, 'webhook', new WebhookAttemptError('HTTP 500'))).toBe(800);
    expect(backoff(4, 'webhook', new WebhookAttemptError('HTTP 500'))).toBe(-1);
  });

  it('jitters by ±20%', () => {
    expect(webhookBackoffStrategy(schedule, () => 0)(2, 'webhook')).toBe(320);
    expect(webhookBackoffStrategy(schedule, () => 0.999999)(2, 'webhook')).toBe(480);
  });

  it('never retries sooner than Retry-After, capped at a day', () => {
    expect(backoff(1, 'webhook', new WebhookAttemptError('HTTP 429', 1_500))).toBe(1_500);
    expect(backoff(1, 'webhook', new WebhookAttemptError('HTTP 429', 90 * 86_400_000))).toBe(
      MAX_RETRY_AFTER_MS,
    );
    // Retry-After does not revive a used-up schedule.
    expect(backoff(4, 'webhook', new WebhookAttemptError('HTTP 429', 1_000))).toBe(-1);
  });

  it('does not retry jobs of another backoff type', () => {
    expect(backoff(1, 'other', new Error('x'))).toBe(-1);
  });
});

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let receiverUrl: string;
const received: Received[] = [];
/** What the receiver answers next; each test sets it. */
let answer: (res: ServerResponse) => void = (res) => res.end();

let redis: ReturnType<typeof connectRedis>;
let storeNow = Date.now();
let prefix: string;
let store: JobStore;
let dispatcher: Dispatcher;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  redis = connectRedis();
  prefix = uniquePrefix('webhook-proc');
  store = new JobStore({ redis, prefix, retentionSeconds: 3600, now: () => storeNow });
  dispatcher = createGuardedDispatcher({ allowPrivate: true });
});

afterAll(async () => {
  await dispatcher?.close();
  await deletePrefix(redis, prefix);
  redis?.disconnect();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

function context(env: Record<string, string> = {}): WorkerContext {
  const config: Config = loadConfig({
    QUEUE_PREFIX: prefix,
    WEBHOOK_SECRET: secret,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE_MS: schedule.join(','),
    WEBHOOK_TIMEOUT_MS: '2000',
    ...env,
  });
  return {
    config,
    store,
    logger: silentLogger(),
    clock: systemClock,
    sink: { objectUrl: async (bucket: string, key: string) => `https://cdn.test/${bucket}/${key}?sig=1` },
    shutdownSignal: new AbortController().signal,
  } as unknown as WorkerContext;
}

let sequence = 0;

/** A succeeded job record, and a BullMQ-like job for its delivery at attempt `attemptsMade + 1`. */
async function deliveryOf(
  options: { url?: string; attemptsMade?: number } = {},
): Promise<{ job: Job<WebhookPayload>; jobId: string; finishedAt: number }> {
  const jobId = `j_test${Date.now().toString(36)}${sequence++}`;
  const finishedAt = Date.parse('2026-05-01T10:00:00.000Z') + sequence;
  await store.createJob({
    id: jobId,
    provider: 'liblib',
    operation: 'kontext.text2img',
    input: { prompt: 'a heron' },
    webhookUrl: options.url ?? receiverUrl,
    createdAt: finishedAt - 5_000,
  });
  await store.taskEnded(jobId, 'storing', {
    pointsCost: 58,
    taskOutputs: [{ url: 'https://x.test/0.png', kind: 'image' }],
  });
  storeNow = finishedAt;
  await store.stored(jobId, [
    { bucket: 'b', key: `jobs/${jobId}/0.png`, contentType: 'image/png', bytes: 3, sha256: 'x' },
  ]);
  storeNow = Date.now();
  const data: WebhookPayload = {
    deliveryId: `job.succeeded.${jobId}.${finishedAt}`,
    owner: { kind: 'job', id: jobId },
    type: 'job.succeeded',
    url: options.url ?? receiverUrl,
  };
  const job = {
    data,
    attemptsMade: options.attemptsMade ?? 0,
    opts: { attempts: schedule.length },
    timestamp: 1,
  };
  return { job: job as unknown as Job<WebhookPayload>, jobId, finishedAt };
}

function verify(request: Received): { type: string; timestamp: string; data: unknown } {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  }) as { type: string; timestamp: string; data: unknown };
}

describe('processWebhook', () => {
  it('delivers the signed job view once, records it, and never sends a recorded success again', async () => {
    answer = (res) => res.writeHead(204).end();
    const { job, jobId, finishedAt } = await deliveryOf();
    const before = received.length;
    expect(await processWebhook(context(), job, { dispatcher })).toBe('delivered');
    expect(received.length).toBe(before + 1);
    const request = received.at(-1)!;
    expect(request.headers['webhook-id']).toBe(job.data.deliveryId);
    const event = verify(request);
    expect(event.type).toBe('job.succeeded');
    expect(event.timestamp).toBe(new Date(finishedAt).toISOString());
    const view = event.data as JobView;
    expect(view).toMatchObject({ id: jobId, state: 'succeeded', pointsCost: 58 });
    expect(view.outputs[0]?.url).toBe(`https://cdn.test/b/jobs/${jobId}/0.png?sig=1`);
    expect(view.webhooks).toBeUndefined();

    const record = await store.getWebhook(jobId, job.data.deliveryId);
    expect(record).toMatchObject({ attempts: 1, lastStatus: 204, deliveredAt: expect.any(Number) });
    expect(record?.lastError).toBeUndefined();

    // A re-run (a worker that crashed after recording) sends nothing.
    expect(await processWebhook(context(), job, { dispatcher })).toBe('already_delivered');
    expect(received.length).toBe(before + 1);
  });

  it('records a failed attempt and hands Retry-After to the backoff; gives up on the last one', async () => {
    answer = (res) => res.writeHead(503, { 'retry-after': '3' }).end();
    const { job, jobId } = await deliveryOf();
    const error = await processWebhook(context(), job, { dispatcher }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookAttemptError);
    expect((error as WebhookAttemptError).retryAfterMs).toBe(3_000);
    expect(webhookBackoffStrategy(schedule)(1, 'webhook', error as Error)).toBe(3_000);
    let record = await store.getWebhook(jobId, job.data.deliveryId);
    expect(record).toMatchObject({ attempts: 1, lastStatus: 503, lastError: 'HTTP 503' });
    expect(record?.gaveUpAt).toBeUndefined();

    const last = { ...job, attemptsMade: schedule.length - 1 } as Job<WebhookPayload>;
    await expect(processWebhook(context(), last, { dispatcher })).rejects.toBeInstanceOf(WebhookAttemptError);
    record = await store.getWebhook(jobId, job.data.deliveryId);
    expect(record).toMatchObject({ attempts: 2, lastStatus: 503, gaveUpAt: expect.any(Number) });
  });

  it('stops at 410 Gone and skips later deliveries to that URL for a week', async () => {
    answer = (res) => res.writeHead(410).end();
    const url = `${receiverUrl}/gone-${sequence}`;
    const first = await deliveryOf({ url });
    const before = received.length;
    await expect(processWebhook(context(), first.job, { dispatcher })).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    expect(received.length).toBe(before + 1);
    expect(await store.getWebhook(first.jobId, first.job.data.deliveryId)).toMatchObject({
      attempts: 1,
      lastStatus: 410,
      gaveUpAt: expect.any(Number),
    });
    const ttl = await redis.ttl(`${prefix}:webhook-gone:${goneUrlKey(url)}`);
    expect(ttl).toBeGreaterThan(7 * 86_400 - 60);

    answer = (res) => res.end();
    const later = await deliveryOf({ url });
    await expect(processWebhook(context(), later.job, { dispatcher })).rejects.toThrow(/410 Gone/);
    expect(received.length).toBe(before + 1);
    const skipped = await store.getWebhook(later.jobId, later.job.data.deliveryId);
    expect(skipped).toMatchObject({ attempts: 0, gaveUpAt: expect.any(Number) });
    expect(skipped?.lastError).toMatch(/^skipped/);
  });

  it('gives up at once when the SSRF guard refuses the address at connect time', async () => {
    answer = (res) => res.end();
    const guarded = createGuardedDispatcher({ allowPrivate: false });
    try {
      const { job, jobId } = await deliveryOf();
      const before = received.length;
      await expect(
        processWebhook(context({ WEBHOOK_ALLOW_PRIVATE: 'false' }), job, { dispatcher: guarded }),
      ).rejects.toBeInstanceOf(UnrecoverableError);
      expect(received.length).toBe(before);
      const record = await store.getWebhook(jobId, job.data.deliveryId);
      expect(record).toMatchObject({ attempts: 1, gaveUpAt: expect.any(Number) });
      expect(record?.lastError).toMatch(/^refused: .*loopback/);
    } finally {
      await guarded.close();
    }
  });

  it('never sends unsigned: without WEBHOOK_SECRET the delivery waits for a retry', async () => {
    answer = (res) => res.end();
    const { job, jobId } = await deliveryOf();
    const before = received.length;
    const ctx = context({ WEBHOOK_SECRET: '' });
    await expect(processWebhook(ctx, job, { dispatcher })).rejects.toBeInstanceOf(WebhookAttemptError);
    expect(received.length).toBe(before);
    const record = await store.getWebhook(jobId, job.data.deliveryId);
    expect(record).toMatchObject({ attempts: 0, lastError: expect.stringContaining('WEBHOOK_SECRET') });
    expect(record?.gaveUpAt).toBeUndefined();
  });

  it('sends the batch view, counts and points, for batch.completed', async () => {
    answer = (res) => res.end();
    const batchId = `b_test${Date.now().toString(36)}`;
    await store.writeBatchItems(batchId, [{ input: { prompt: 'a' } }, { input: { prompt: 'b' } }]);
    const [first, second] = await store.batchItemIds(batchId, 0, 2);
    await store.commitBatch({
      id: batchId,
      provider: 'liblib',
      operation: 'kontext.text2img',
      defaults: {},
      total: 2,
      webhookUrl: receiverUrl,
      events: [],
      createdAt: Date.now() - 1_000,
    });
    const outputs = [{ url: 'https://x.test/0.png', kind: 'image' as const }];
    await store.taskEnded(first!, 'storing', { pointsCost: 58, taskOutputs: outputs }, 58);
    await store.stored(first!, []);
    await store.fail(second!, { code: 'x', message: 'y' });
    const finishedAt = (await store.getBatch(batchId))!.finishedAt!;
    const data: WebhookPayload = {
      deliveryId: `batch.completed.${batchId}.${finishedAt}`,
      owner: { kind: 'batch', id: batchId },
      type: 'batch.completed',
      url: receiverUrl,
    };
    const job = {
      data,
      attemptsMade: 0,
      opts: { attempts: 4 },
      timestamp: 1,
    } as unknown as Job<WebhookPayload>;
    expect(await processWebhook(context(), job, { dispatcher })).toBe('delivered');
    const event = verify(received.at(-1)!);
    expect(event.type).toBe('batch.completed');
    expect(event.data as BatchView).toMatchObject({
      id: batchId,
      total: 2,
      done: true,
      pointsCost: 58,
      counts: { succeeded: 1, failed: 1, queued: 0 },
      finishedAt: new Date(finishedAt).toISOString(),
    });
    expect(await store.getWebhook(batchId, data.deliveryId)).toMatchObject({ attempts: 1, lastStatus: 200 });
  });
});
