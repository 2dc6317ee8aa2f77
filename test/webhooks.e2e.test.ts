/**
 * Completion webhooks end to end: API → pipeline → `webhook` queue → a real receiver on 127.0.0.1,
 * with every delivery verified by the `standardwebhooks` package (what a customer would use).
 * The retry schedule is compressed to 0, 200, 400, 800 ms and the attempt timeout to 1 s (short,
 * yet long enough that a loaded machine does not time out a loopback answer).
 *
 * Also measured: the delay from the event (`finishedAt`, the body's `timestamp`) to the first
 * attempt's arrival, printed once at the end.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiHandle, startApi } from '@genqueue/api';
import { loadConfig } from '@genqueue/config';
import {
  type BatchView,
  intakeBatch,
  type JobState,
  type JobView,
  silentLogger,
  TERMINAL_STATES,
  type WebhookDeliveryRecord,
} from '@genqueue/core';
import { startWorker } from '@genqueue/worker';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readObject, type Stack, startStack, TEST_TOKEN } from './support/stack.ts';

const secret = `whsec_${randomBytes(24).toString('base64')}`;

interface Event {
  type: string;
  timestamp: string;
  data: unknown;
}

interface Arrival {
  /** When the request body had arrived (epoch ms). */
  at: number;
  path: string;
  id: string;
  /** The body, verified with the receiver's copy of the secret. */
  event: Event;
}

/** Delay from event to first arrival, per delivery id (ms). */
const firstArrivalDelays = new Map<string, number>();

type Answer = (res: ServerResponse, attempt: number, req: IncomingMessage) => void;

/**
 * A customer's receiver: records and verifies every request, answers as the test scripts.
 * `attempt` counts requests to this receiver, from 1. A request that fails verification throws
 * in the test that reads `arrivals` (it is recorded with `event: undefined`).
 */
async function startReceiver(answer: Answer = (res) => res.writeHead(200).end('ok')) {
  const arrivals: Arrival[] = [];
  const unverified: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = Date.now();
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      try {
        const event = new Webhook(secret).verify(body, {
          'webhook-id': id,
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        }) as Event;
        arrivals.push({ at, path: req.url ?? '', id, event });
        if (!firstArrivalDelays.has(id)) firstArrivalDelays.set(id, at - Date.parse(event.timestamp));
      } catch (error) {
        unverified.push(`${id}: ${(error as Error).message}`);
      }
      answer(res, arrivals.length + unverified.length, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    arrivals,
    unverified,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    workers: 0,
    sim: { submitQps: 10, maxInFlight: 10, latencyMs: { min: 200, max: 400 } },
    env: {
      WEBHOOK_SECRET: secret,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_SCHEDULE_MS: '0,200,400,800',
      WEBHOOK_TIMEOUT_MS: '1000',
    },
  });
  // Workaround, not the subject of this file: a batch item the submit gate turns back is pushed
  // back into BullMQ's prioritized set without a wake-up marker, so an idle submit worker only
  // looks again after its drainDelay (5 s), one item at a time. A short drainDelay keeps the
  // batch test below fast; the submit path needs the real fix (reported with this file).
  stack.workers.push(
    await startWorker(stack.config, { logger: silentLogger(), workerOptions: { drainDelay: 0.2 } }),
  );
});

afterAll(async () => {
  await stack?.close();
  const delays = [...firstArrivalDelays.values()].sort((a, b) => a - b);
  if (delays.length > 0) {
    const pick = (q: number) => delays[Math.min(delays.length - 1, Math.ceil(q * delays.length) - 1)];
    console.info(
      `webhooks: event → first arrival over ${delays.length} deliveries: ` +
        `p50 ${pick(0.5)} ms, p95 ${pick(0.95)} ms, max ${delays.at(-1)} ms`,
    );
  }
});

const ctx = () => stack.workers[0]!.context;

async function postJob(prompt: string, webhookUrl: string): Promise<string> {
  const res = await stack.call<{ id: string }>('POST', '/v1/jobs', {
    operation: 'kontext.text2img',
    input: { prompt },
    webhookUrl,
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

/** The owner's only delivery record, once `done` holds for it. */
async function waitForDelivery(
  ownerId: string,
  done: (record: WebhookDeliveryRecord) => boolean,
  what: string,
): Promise<WebhookDeliveryRecord> {
  return stack.waitFor(
    async () => {
      const records = await ctx().store.listWebhooks(ownerId);
      return records.length === 1 && done(records[0]!) ? records[0] : undefined;
    },
    20_000,
    what,
  );
}

/** Waits until BullMQ has finished with a delivery (completed, or failed for good). */
async function waitForQueueEnd(deliveryId: string): Promise<string> {
  return stack.waitFor(
    async () => {
      const state = await (await ctx().queues.webhook.getJob(deliveryId))?.getState();
      return state === 'completed' || state === 'failed' ? state : undefined;
    },
    20_000,
    `delivery ${deliveryId} to leave the queue`,
  );
}

describe('job webhooks', () => {
  it('sends one verified job.succeeded whose data is the job view, with S3 URLs that download the image', async () => {
    const receiver = await startReceiver();
    try {
      const id = await postJob('a kingfisher on a branch', `${receiver.url}/hooks?customer=7`);
      const record = await waitForDelivery(id, (r) => r.deliveredAt !== undefined, 'job.succeeded delivered');
      expect(await waitForQueueEnd(record.id)).toBe('completed');

      expect(receiver.unverified).toEqual([]);
      expect(receiver.arrivals).toHaveLength(1);
      const [arrival] = receiver.arrivals;
      expect(arrival!.path).toBe('/hooks?customer=7');
      expect(arrival!.id).toBe(record.id);
      expect(arrival!.event.type).toBe('job.succeeded');
      const data = arrival!.event.data as JobView;
      expect(data).toMatchObject({
        id,
        state: 'succeeded',
        provider: 'liblib',
        operation: 'kontext.text2img',
      });
      expect(arrival!.event.timestamp).toBe(data.finishedAt);
      expect(data.outputs).toHaveLength(1);
      const output = data.outputs[0]!;
      // No S3_PUBLIC_URL: presigned for S3_PRESIGN_TTL_SECONDS.
      expect(output.url).toContain(`X-Amz-Expires=${stack.config.s3.presignTtlSeconds}`);
      const downloaded = Buffer.from(await (await fetch(output.url)).arrayBuffer());
      expect(downloaded.equals(await readObject(stack, output.key))).toBe(true);
      const task = stack.sim.tasks().find((t) => t.id === data.providerTaskId)!;
      expect(downloaded.equals(stack.sim.imageBytes(task.images[0]!.url)!)).toBe(true);

      const view = await stack.job(id);
      expect(view.webhooks).toEqual([
        {
          id: record.id,
          type: 'job.succeeded',
          attempts: 1,
          lastStatus: 200,
          deliveredAt: expect.any(String),
        },
      ]);
    } finally {
      await receiver.stop();
    }
  });

  it('sends job.failed, with the reason, for a job that fails', async () => {
    const receiver = await startReceiver();
    try {
      const id = await postJob('something forbidden', `${receiver.url}/hooks`);
      await waitForDelivery(id, (r) => r.deliveredAt !== undefined, 'job.failed delivered');
      expect(receiver.arrivals.map((a) => a.event.type)).toEqual(['job.failed']);
      const data = receiver.arrivals[0]!.event.data as JobView;
      expect(data).toMatchObject({ id, state: 'failed', error: { code: '100052' } });
      expect(receiver.unverified).toEqual([]);
    } finally {
      await receiver.stop();
    }
  });

  it('retries a failing receiver with the same webhook-id and records each attempt', async () => {
    const receiver = await startReceiver((res, attempt) => res.writeHead(attempt <= 2 ? 500 : 200).end());
    try {
      const id = await postJob('a heron at dawn', `${receiver.url}/hooks`);
      const record = await waitForDelivery(id, (r) => r.deliveredAt !== undefined, 'third attempt delivered');
      expect(await waitForQueueEnd(record.id)).toBe('completed');
      expect(receiver.unverified).toEqual([]);
      expect(receiver.arrivals).toHaveLength(3);
      expect(new Set(receiver.arrivals.map((a) => a.id))).toEqual(new Set([record.id]));
      expect(receiver.arrivals.every((a) => a.event.type === 'job.succeeded')).toBe(true);
      // The schedule's 200 ms and 400 ms, less 20% jitter, at least.
      const [first, second, third] = receiver.arrivals.map((a) => a.at) as [number, number, number];
      expect(second - first).toBeGreaterThanOrEqual(160);
      expect(third - second).toBeGreaterThanOrEqual(320);

      const view = await stack.job(id);
      expect(view.webhooks).toEqual([
        {
          id: record.id,
          type: 'job.succeeded',
          attempts: 3,
          lastStatus: 200,
          deliveredAt: expect.any(String),
        },
      ]);
    } finally {
      await receiver.stop();
    }
  });

  it('waits at least Retry-After before the next attempt', async () => {
    const receiver = await startReceiver((res, attempt) =>
      attempt === 1 ? res.writeHead(429, { 'retry-after': '1' }).end() : res.writeHead(200).end(),
    );
    try {
      const id = await postJob('a lighthouse in fog', `${receiver.url}/hooks`);
      await waitForDelivery(id, (r) => r.deliveredAt !== undefined, 'delivery after Retry-After');
      expect(receiver.arrivals).toHaveLength(2);
      // The schedule alone would retry after about 200 ms.
      expect(receiver.arrivals[1]!.at - receiver.arrivals[0]!.at).toBeGreaterThanOrEqual(1_000);
      expect((await stack.job(id)).webhooks?.[0]).toMatchObject({ attempts: 2, lastStatus: 200 });
    } finally {
      await receiver.stop();
    }
  });

  it('stops at 410 Gone, and skips later deliveries to that URL', async () => {
    const receiver = await startReceiver((res) => res.writeHead(410).end());
    try {
      const url = `${receiver.url}/retired`;
      const first = await postJob('an owl at night', url);
      const record = await waitForDelivery(first, (r) => r.gaveUpAt !== undefined, '410 recorded');
      expect(await waitForQueueEnd(record.id)).toBe('failed');
      expect(record).toMatchObject({ attempts: 1, lastStatus: 410 });
      expect(receiver.arrivals).toHaveLength(1);
      expect((await stack.job(first)).webhooks).toEqual([
        { id: record.id, type: 'job.succeeded', attempts: 1, lastStatus: 410 },
      ]);

      const second = await postJob('a second owl', url);
      const skipped = await waitForDelivery(second, (r) => r.gaveUpAt !== undefined, 'skip recorded');
      expect(skipped.attempts).toBe(0);
      expect(skipped.lastError).toMatch(/^skipped: this URL answered 410 Gone/);
      expect(receiver.arrivals).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });

  it('retries a receiver slower than WEBHOOK_TIMEOUT_MS', async () => {
    const receiver = await startReceiver((res, attempt) => {
      if (attempt === 1) setTimeout(() => res.end(), 3_000).unref();
      else res.writeHead(200).end();
    });
    try {
      const id = await postJob('a slow tortoise', `${receiver.url}/hooks`);
      const record = await waitForDelivery(
        id,
        (r) => r.deliveredAt !== undefined,
        'delivery after a timeout',
      );
      expect(record).toMatchObject({ attempts: 2, lastStatus: 200 });
      expect(receiver.arrivals.map((a) => a.id)).toEqual([record.id, record.id]);
    } finally {
      await receiver.stop();
    }
  });

  it('does not follow a redirect to loopback, and gives up when the schedule is used up', async () => {
    const target = await startReceiver();
    const receiver = await startReceiver((res) =>
      res.writeHead(302, { location: `${target.url}/internal-admin` }).end(),
    );
    try {
      const id = await postJob('a redirecting fox', `${receiver.url}/hooks`);
      const record = await waitForDelivery(id, (r) => r.gaveUpAt !== undefined, 'give-up after 4 attempts');
      expect(record).toMatchObject({
        attempts: 4,
        lastStatus: 302,
        lastError: 'redirect (HTTP 302) not followed',
      });
      expect(await waitForQueueEnd(record.id)).toBe('failed');
      expect(receiver.arrivals).toHaveLength(4);
      expect(target.arrivals).toHaveLength(0);
      expect(target.unverified).toHaveLength(0);
    } finally {
      await target.stop();
      await receiver.stop();
    }
  });
});

describe('webhook URLs at arrival', () => {
  let guarded: ApiHandle;
  let unconfigured: ApiHandle;

  beforeAll(async () => {
    const options = { host: '127.0.0.1', port: 0, logger: silentLogger(), redis: stack.redis };
    guarded = await startApi(loadConfig({ ...stack.env, WEBHOOK_ALLOW_PRIVATE: 'false' }), options);
    unconfigured = await startApi(loadConfig({ ...stack.env, WEBHOOK_SECRET: '' }), options);
  });

  afterAll(async () => {
    await guarded?.close();
    await unconfigured?.close();
  });

  async function post(api: ApiHandle, webhookUrl: string) {
    const response = await request(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'kontext.text2img', input: { prompt: 'p' }, webhookUrl }),
    });
    return {
      status: response.statusCode,
      body: (await response.body.json()) as {
        error: { code: string; issues?: { path: string; message: string }[] };
      },
    };
  }

  it('refuses private and loopback webhook URLs with 400 when private targets are not allowed', async () => {
    const receiver = await startReceiver();
    const port = new URL(receiver.url).port;
    try {
      for (const url of [
        `http://127.0.0.1:${port}/hooks`,
        'http://10.0.0.1/hooks',
        'http://169.254.169.254/latest/meta-data/',
        `http://[::1]:${port}/hooks`,
        `http://localhost:${port}/hooks`,
        `http://hooks.localhost:${port}/hooks`,
      ]) {
        const res = await post(guarded, url);
        expect(res.status, url).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
        expect(res.body.error.issues?.map((i) => i.path)).toEqual(['webhookUrl']);
      }
      expect(receiver.arrivals).toHaveLength(0);
    } finally {
      await receiver.stop();
    }
  });

  it('answers 400 webhooks_not_configured when no WEBHOOK_SECRET is set, so nothing is ever sent unsigned', async () => {
    const res = await post(unconfigured, 'https://hooks.example.com/genqueue');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('webhooks_not_configured');
    expect(res.body.error.issues?.[0]?.path).toBe('webhookUrl');
  });
});

describe('batch webhooks', () => {
  it('sends exactly one batch.completed with counts and points, and per-job events only when asked', async () => {
    const receiver = await startReceiver();
    const { store, queues, lifecycle, adapters } = ctx();
    const spec = adapters.get('liblib')!.get('default')!.operations['kontext.text2img']!;
    const intake = (path: string, events: string[], prompts: string[]) =>
      intakeBatch(
        { store, lifecycle },
        {
          provider: 'liblib',
          operation: 'kontext.text2img',
          spec,
          defaults: { aspectRatio: '1:1' },
          webhookUrl: `${receiver.url}${path}`,
          events,
          skipInvalid: false,
          maxItems: 1_000,
        },
        prompts.map((prompt) => ({ input: { prompt } })),
      );
    try {
      const prompts = Array.from({ length: 30 }, (_, i) =>
        i % 10 === 3 ? `forbidden item ${i}` : `batch item ${i}: a paper boat`,
      );
      const [quiet, chatty] = await Promise.all([
        intake('/quiet', [], prompts),
        intake(
          '/chatty',
          ['job.succeeded', 'job.failed'],
          prompts.slice(0, 6).map((p) => `chatty ${p}`),
        ),
      ]);
      if (!quiet.ok || !chatty.ok) throw new Error('batch intake refused the batches');

      for (const batch of [quiet, chatty]) {
        await waitForDelivery(batch.id, (r) => r.deliveredAt !== undefined, `batch ${batch.id} completed`);
      }
      // The chatty batch's per-job events may still be on their way.
      await stack.waitFor(
        async () => receiver.arrivals.filter((a) => a.path === '/chatty').length >= 7,
        20_000,
        'per-job events',
      );
      expect(receiver.unverified).toEqual([]);

      const quietArrivals = receiver.arrivals.filter((a) => a.path === '/quiet');
      expect(quietArrivals.map((a) => a.event.type)).toEqual(['batch.completed']);
      const data = quietArrivals[0]!.event.data as BatchView;
      const jobs = await store.getJobs(await store.batchItemIds(quiet.id, 0, 30));
      const counts = Object.fromEntries([...TERMINAL_STATES, 'queued'].map((s) => [s, 0])) as Record<
        string,
        number
      >;
      for (const job of jobs) counts[job!.state as JobState] = (counts[job!.state] ?? 0) + 1;
      expect(counts).toMatchObject({ succeeded: 27, failed: 3 });
      expect(data).toMatchObject({ id: quiet.id, total: 30, done: true, counts });
      expect(data.pointsCost).toBe(jobs.reduce((sum, job) => sum + (job!.pointsCost ?? 0), 0));
      expect(data.pointsCost).toBeGreaterThan(0);
      expect(quietArrivals[0]!.event.timestamp).toBe(data.finishedAt);

      const chattyArrivals = receiver.arrivals.filter((a) => a.path === '/chatty');
      expect(chattyArrivals.filter((a) => a.event.type === 'batch.completed')).toHaveLength(1);
      const perJob = chattyArrivals.filter((a) => a.event.type !== 'batch.completed');
      expect(perJob.map((a) => (a.event.data as JobView).id).sort()).toEqual(
        (await store.batchItemIds(chatty.id, 0, 6)).sort(),
      );
      expect(perJob.filter((a) => a.event.type === 'job.failed')).toHaveLength(1);
      expect(new Set(chattyArrivals.map((a) => a.id)).size).toBe(7);

      // A worker that crashed after draining but before removing the outbox entry: a sweep drains
      // the same entry again, and nothing new is sent.
      const [record] = await store.listWebhooks(quiet.id);
      expect(await waitForQueueEnd(record!.id)).toBe('completed');
      const delivered = await queues.webhook.getJob(record!.id);
      await lifecycle.drain([{ member: 'replayed', entry: { kind: 'webhook', payload: delivered!.data } }]);
      const again = await queues.webhook.getJob(record!.id);
      expect(await again?.getState()).toBe('completed');
      expect(again?.attemptsMade).toBe(1);
      expect(receiver.arrivals.filter((a) => a.path === '/quiet')).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });
});
