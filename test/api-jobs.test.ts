/**
 * The producer API's job routes, over real HTTP against a real Redis (unique prefix per file):
 * validation, the SSRF guard, creation (record + BullMQ job), idempotency, reading and canceling.
 */

import { loadConfig } from '@genqueue/config';
import { JobStore, type JobView, type ProviderOperations, QueueSet, silentLogger } from '@genqueue/core';
import { descriptorOf } from '@genqueue/providers';
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ApiHandle, startApi } from '../apps/api/src/index.ts';
import { connectRedis, deletePrefix, uniquePrefix } from './support/redis.ts';

const TOKEN = 'test-token-jobs-0123456789';
const OTHER_TOKEN = 'test-token-jobs-other-987654';

/** A provider with LiblibAI-like Kontext operations; only its schemas matter to the API. */
const provider: ProviderOperations = {
  name: 'liblib',
  description: 'a provider with LiblibAI-like operations',
  operations: {
    'kontext.text2img': {
      schema: z
        .object({
          prompt: z.string().min(1).max(2000),
          aspectRatio: z.enum(['1:1', '16:9', '9:16']).default('1:1'),
          imgCount: z.number().int().min(1).max(4).default(1),
        })
        .passthrough(),
      output: 'image',
      description: 'F.1 Kontext text to image',
    },
    'kontext.img2img': {
      schema: z
        .object({ prompt: z.string().min(1), image_list: z.array(z.string().url()).min(1).max(4) })
        .passthrough(),
      output: 'image',
      description: 'F.1 Kontext image to image',
    },
  },
};

/** Refuses loopback and private hosts, like the real guard; records what it was asked. */
const checked: string[] = [];
async function checkUrl(url: string): Promise<void> {
  checked.push(url);
  const host = new URL(url).hostname;
  if (/^(localhost|127\.|10\.|192\.168\.|169\.254\.)/.test(host)) {
    throw new Error(`${host} is a private address`);
  }
}

let redis: Redis;
let prefix: string;
let api: ApiHandle;
let store: JobStore;
let queues: QueueSet;

beforeAll(async () => {
  redis = connectRedis();
  prefix = uniquePrefix('api-jobs');
  const config = loadConfig({
    QUEUE_PREFIX: prefix,
    API_TOKENS: `${TOKEN},${OTHER_TOKEN}`,
    // A webhookUrl is accepted only when deliveries can be signed (webhooks_not_configured).
    WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  });
  api = await startApi(config, {
    host: '127.0.0.1',
    port: 0,
    redis,
    logger: silentLogger(),
    providers: new Map([['liblib', provider]]),
    checkUrl,
    objectUrl: async (bucket, key) => `https://cdn.example.test/${bucket}/${key}`,
    s3Ready: async () => {},
  });
  store = new JobStore({ redis, prefix, retentionSeconds: 3600 });
  queues = new QueueSet({
    connection: redis,
    prefix,
    providers: ['liblib'],
    submitAttempts: 3,
    transientBackoffMs: 1000,
    sinkAttempts: 3,
    webhookAttempts: 3,
  });
});

afterAll(async () => {
  await api?.close();
  await queues?.close();
  if (redis) {
    await deletePrefix(redis, prefix);
    await redis.quit();
  }
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely
  body: any;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? TOKEN}` };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await request(`${api.url}${path}`, {
    method,
    headers: { ...headers, ...options.headers },
    body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const text2img = (prompt = 'a lighthouse at dawn') => ({
  operation: 'kontext.text2img',
  input: { prompt },
});

describe('POST /v1/jobs validation', () => {
  it('lists the valid operations for an unknown one', async () => {
    const res = await call('POST', '/v1/jobs', {
      body: { operation: 'kontext.nope', input: { prompt: 'x' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.issues[0].path).toBe('operation');
    expect(res.body.error.message).toContain('kontext.text2img');
    expect(res.body.error.message).toContain('kontext.img2img');
  });

  it('lists the valid providers for an unknown one', async () => {
    const res = await call('POST', '/v1/jobs', { body: { provider: 'dalle', ...text2img() } });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: 'provider', message: expect.stringContaining('liblib') }]);
  });

  it('names the bad field by its path in the input', async () => {
    const res = await call('POST', '/v1/jobs', {
      body: {
        operation: 'kontext.img2img',
        input: { prompt: 'p', image_list: ['https://ok.example/a.png', 3] },
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['input.image_list[1]']);

    const missing = await call('POST', '/v1/jobs', { body: { operation: 'kontext.text2img', input: {} } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues[0].path).toBe('input.prompt');
  });

  it('refuses envelope mistakes: missing input, unknown fields, oversized metadata', async () => {
    const noInput = await call('POST', '/v1/jobs', { body: { operation: 'kontext.text2img' } });
    expect(noInput.body.error.issues[0].path).toBe('input');

    const typo = await call('POST', '/v1/jobs', {
      body: { ...text2img(), webhook_url: 'https://x.example' },
    });
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toContain('webhook_url');

    const big = await call('POST', '/v1/jobs', {
      body: { ...text2img(), metadata: { blob: 'x'.repeat(17_000) } },
    });
    expect(big.status).toBe(400);
    expect(big.body.error.issues[0].path).toBe('metadata');

    const array = await call('POST', '/v1/jobs', { body: [text2img()] });
    expect(array.status).toBe(400);
    expect(array.body.error.issues[0].path).toBe('body');
  });

  it('answers malformed JSON with invalid_json, a huge body with 413, another type with 415', async () => {
    const malformed = await call('POST', '/v1/jobs', {
      raw: '{"operation": "kontext.text2img", ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');

    const huge = await call('POST', '/v1/jobs', {
      body: { ...text2img(), input: { prompt: 'p', pad: 'x'.repeat(64 * 1024 * 1024) } },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');

    const form = await call('POST', '/v1/jobs', {
      raw: 'operation=kontext.text2img',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.body.error.code).toBe('unsupported_media_type');
  });

  it('answers 4xx, never 5xx, to hostile bodies', async () => {
    const depth = 100_000;
    const nested = await call('POST', '/v1/jobs', {
      raw: `{"operation":"kontext.text2img","input":{"prompt":"p","deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(nested.status).toBe(400);

    const proto = await call('POST', '/v1/jobs', {
      raw: '{"operation":"__proto__","input":{"prompt":"p"}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(proto.status).toBe(400);

    const badKey = await call('POST', '/v1/jobs', {
      body: text2img(),
      headers: { 'idempotency-key': 'k'.repeat(256) },
    });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.issues[0].path).toBe('Idempotency-Key');
  });
});

describe('SSRF guard', () => {
  it('refuses a private webhook URL and private image URLs, naming each field', async () => {
    const res = await call('POST', '/v1/jobs', {
      body: {
        operation: 'kontext.img2img',
        input: {
          prompt: 'p',
          image_list: ['https://images.example/a.png', 'http://169.254.169.254/latest/meta-data'],
        },
        webhookUrl: 'http://127.0.0.1:9/hook',
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    const paths = res.body.error.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(['input.image_list[1]', 'webhookUrl']);
    expect(res.body.error.issues[0].message).toContain('private address');
  });

  it('checks URL strings nested anywhere in the input, but not prompts that mention one', async () => {
    checked.length = 0;
    const res = await call('POST', '/v1/jobs', {
      body: {
        operation: 'kontext.text2img',
        input: { prompt: 'like https://10.0.0.1/x', extra: { refs: [{ src: ' HTTP://10.1.2.3/a.png ' }] } },
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([
      { path: 'input.extra.refs[0].src', message: expect.stringContaining('10.1.2.3') },
    ]);
    expect(checked).toEqual(['HTTP://10.1.2.3/a.png']);
  });
});

describe('creating and reading jobs', () => {
  it('stores a queued record and puts a BullMQ job with the same id in submit-liblib', async () => {
    const res = await call('POST', '/v1/jobs', {
      body: {
        ...text2img(),
        webhookUrl: 'https://hooks.example/genqueue',
        metadata: { campaign: 'spring' },
      },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^j_/), state: 'queued' });

    const record = await store.getJob(res.body.id);
    expect(record).toMatchObject({
      state: 'queued',
      provider: 'liblib',
      operation: 'kontext.text2img',
      // defaults from the operation's schema are applied before storing
      input: { prompt: 'a lighthouse at dawn', aspectRatio: '1:1', imgCount: 1 },
      webhookUrl: 'https://hooks.example/genqueue',
      events: ['job.succeeded', 'job.failed'],
      metadata: { campaign: 'spring' },
    });
    const bull = await queues.submitQueue('liblib').getJob(res.body.id);
    expect(bull?.id).toBe(res.body.id);
    // The processors read only the job id; the rest is for people reading Bull Board.
    expect(bull?.data).toEqual({ jobId: res.body.id, provider: 'liblib', prompt: 'a lighthouse at dawn' });
    expect(bull?.name).toBe('kontext.text2img · a lighthouse at dawn');
    expect(await bull?.getState()).toBe('waiting');
  });

  it('shows the job view, and 404 for unknown or malformed ids', async () => {
    const created = await call('POST', '/v1/jobs', { body: text2img('a red fox') });
    const res = await call('GET', `/v1/jobs/${created.body.id}`);
    expect(res.status).toBe(200);
    const view = res.body as JobView;
    expect(view).toMatchObject({
      id: created.body.id,
      state: 'queued',
      provider: 'liblib',
      operation: 'kontext.text2img',
      input: { prompt: 'a red fox' },
      outputs: [],
      providerTaskId: null,
    });
    expect(Date.parse(view.createdAt)).toBeGreaterThan(0);

    const unknown = await call('GET', '/v1/jobs/j_00000000000000000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    for (const bad of ['nope', '..%2f..%2fetc', 'j_%00', '%E0%A4%A']) {
      const res = await call('GET', `/v1/jobs/${bad}`);
      expect(res.status, bad).toBeGreaterThanOrEqual(400);
      expect(res.status, bad).toBeLessThan(500);
    }
    expect((await call('GET', '/v1/jobs/nope')).status).toBe(404);
  });

  it('shows outputs with their URLs once the worker stored them', async () => {
    const created = await call('POST', '/v1/jobs', { body: text2img('stored') });
    const id = created.body.id as string;
    await store.startSubmit(id, { submitStartedAt: 1, attempts: 1 });
    await store.taskAccepted(id, { providerTaskId: 'task-1', submittedAt: 2 });
    await store.taskEnded(id, 'storing', {
      taskOutputs: [{ url: 'https://cdn.example.test/x.png', kind: 'image' }],
    });
    await store.stored(id, [
      { bucket: 'genqueue', key: 'out/1.png', contentType: 'image/png', bytes: 10, sha256: 'ab' },
    ]);
    const res = await call('GET', `/v1/jobs/${created.body.id}`);
    expect(res.body.outputs[0].url).toBe('https://cdn.example.test/genqueue/out/1.png');
  });
});

describe('Idempotency-Key', () => {
  it('answers a repeat with the same job, 200 and Idempotent-Replayed', async () => {
    const key = `order-${Date.now()}`;
    const first = await call('POST', '/v1/jobs', {
      body: text2img('once'),
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(202);
    const again = await call('POST', '/v1/jobs', {
      body: text2img('once'),
      headers: { 'idempotency-key': key },
    });
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual({ id: first.body.id, state: 'queued' });
    expect(await queues.submitQueue('liblib').getJobCountByTypes('waiting')).toBeGreaterThan(0);

    // Keys are scoped per token: another token's same key is a new job.
    const other = await call('POST', '/v1/jobs', {
      body: text2img('once'),
      headers: { 'idempotency-key': key },
      token: OTHER_TOKEN,
    });
    expect(other.status).toBe(202);
    expect(other.body.id).not.toBe(first.body.id);

    // The same key with a different request is an error, not a silent replay.
    const changed = await call('POST', '/v1/jobs', {
      body: text2img('twice'),
      headers: { 'idempotency-key': key },
    });
    expect(changed.status).toBe(422);
    expect(changed.body.error.code).toBe('idempotency_key_reused');
  });

  it('gives concurrent repeats one job', async () => {
    const key = `burst-${Date.now()}`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        call('POST', '/v1/jobs', { body: text2img('burst'), headers: { 'idempotency-key': key } }),
      ),
    );
    const created = answers.filter((a) => a.status === 202);
    expect(created).toHaveLength(1);
    for (const a of answers) {
      // A repeat that arrives before the first one wrote its job is told to retry (409).
      expect([200, 202, 409]).toContain(a.status);
      if (a.status === 200) expect(a.body.id).toBe(created[0]!.body.id);
    }
  });

  it('does not claim the key for a request that fails validation', async () => {
    const key = `invalid-first-${Date.now()}`;
    const bad = await call('POST', '/v1/jobs', {
      body: { operation: 'kontext.text2img', input: {} },
      headers: { 'idempotency-key': key },
    });
    expect(bad.status).toBe(400);
    const good = await call('POST', '/v1/jobs', { body: text2img(), headers: { 'idempotency-key': key } });
    expect(good.status).toBe(202);
  });
});

describe('POST /v1/jobs/:id/cancel', () => {
  it('cancels a queued job: state canceled and its BullMQ job gone', async () => {
    const created = await call('POST', '/v1/jobs', { body: text2img('cancel me') });
    const id = created.body.id as string;
    expect(await queues.submitQueue('liblib').getJob(id)).toBeDefined();

    const res = await call('POST', `/v1/jobs/${id}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id, state: 'canceled' });
    const record = await store.getJob(id);
    expect(record?.state).toBe('canceled');
    expect(record?.error).toEqual({ code: 'canceled', message: 'canceled by user' });
    expect(record?.finishedAt).toBeGreaterThan(0);
    expect(await queues.submitQueue('liblib').getJob(id)).toBeUndefined();

    const again = await call('POST', `/v1/jobs/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error).toEqual({ code: 'conflict', message: 'job already canceled' });
  });

  it('asks the worker to cancel a running job and wakes its delayed poll job', async () => {
    const created = await call('POST', '/v1/jobs', { body: text2img('running') });
    const id = created.body.id as string;
    expect((await store.startSubmit(id, { submitStartedAt: 1, attempts: 1 })).ok).toBe(true);
    expect((await store.taskAccepted(id, { providerTaskId: 'task-1', submittedAt: 2 })).ok).toBe(true);
    await queues.poll.add('poll', { jobId: id }, { jobId: id, delay: 600_000 });

    const res = await call('POST', `/v1/jobs/${id}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id, state: 'running' });
    expect((await store.getJob(id))?.cancelRequested).toBe(true);
    expect(await (await queues.poll.getJob(id))?.getState()).toBe('waiting');
  });

  it('answers 409 for a finished job and 404 for an unknown one', async () => {
    const created = await call('POST', '/v1/jobs', { body: text2img('done') });
    const id = created.body.id as string;
    await store.fail(id, { code: 'x', message: 'y' });
    const res = await call('POST', `/v1/jobs/${id}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe('job already failed');
    expect((await call('POST', '/v1/jobs/j_00000000000000000000000000/cancel')).status).toBe(404);
  });
});

describe("with the LiblibAI descriptor's schemas", () => {
  it('validates Kontext inputs by the manual (002) and names the field at fault', async () => {
    const liblib = descriptorOf('liblib');
    const liblibApi = await startApi(loadConfig({ QUEUE_PREFIX: prefix, API_TOKENS: TOKEN }), {
      host: '127.0.0.1',
      port: 0,
      redis,
      logger: silentLogger(),
      providers: new Map([['liblib', liblib]]),
      checkUrl,
      objectUrl: async () => 'unused',
      s3Ready: async () => {},
    });
    const post = async (body: unknown) => {
      const res = await request(`${liblibApi.url}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: loose test body
      return { status: res.statusCode, body: (await res.body.json()) as any };
    };
    try {
      const tooLong = await post({ operation: 'kontext.text2img', input: { prompt: 'x'.repeat(2001) } });
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error.issues[0].path).toBe('input.prompt');

      const ratio = await post({ operation: 'kontext.text2img', input: { prompt: 'p', aspectRatio: '5:4' } });
      expect(ratio.status).toBe(400);
      expect(ratio.body.error.issues[0].path).toBe('input.aspectRatio');

      const privateImage = await post({
        operation: 'kontext.img2img',
        input: { prompt: 'p', image_list: ['http://10.0.0.8/in.png'] },
      });
      expect(privateImage.status).toBe(400);
      expect(privateImage.body.error.issues[0].path).toBe('input.image_list[0]');

      const ok = await post({
        operation: 'kontext.text2img',
        input: { prompt: 'a harbour', aspectRatio: '16:9' },
      });
      expect(ok.status).toBe(202);
      expect((await store.getJob(ok.body.id))?.input).toMatchObject({
        prompt: 'a harbour',
        aspectRatio: '16:9',
      });
    } finally {
      await liblibApi.close();
    }
  });
});
