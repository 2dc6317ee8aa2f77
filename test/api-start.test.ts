/**
 * `startApi` and `createApp` wiring: a generated token when none is configured, the real SSRF guard
 * from `@genqueue/webhooks` by default, readiness that reports what is down, and a clean close.
 */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig } from '@genqueue/config';
import { JobStore, type ProviderOperations, QueueSet, silentLogger } from '@genqueue/core';
import { descriptorOf, type ProviderListing } from '@genqueue/providers';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, startApi } from '../apps/api/src/index.ts';
import { connectRedis, deletePrefix, uniquePrefix } from './support/redis.ts';

const provider: ProviderOperations = {
  name: 'liblib',
  description: 'a provider with LiblibAI-like operations',
  operations: {
    'kontext.img2img': {
      schema: z.object({ prompt: z.string().min(1), image_list: z.array(z.string()).min(1) }).passthrough(),
      output: 'image',
      description: 'image to image',
    },
  },
};

let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = connectRedis();
});

afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
});

function config(env: Record<string, string> = {}) {
  const prefix = uniquePrefix('api-start');
  prefixes.push(prefix);
  return loadConfig({ QUEUE_PREFIX: prefix, ...env });
}

async function post(url: string, token: string, body: unknown) {
  const res = await request(`${url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: loose test body
  return { status: res.statusCode, body: (await res.body.json()) as any };
}

describe('startApi', () => {
  it('generates a token when API_TOKENS is empty, announces it once, and accepts only it', async () => {
    const announced: string[] = [];
    const api = await startApi(config(), {
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      providers: new Map([['liblib', provider]]),
      checkUrl: async () => {},
      objectUrl: async () => 'unused',
      s3Ready: async () => {},
      announceToken: (token) => announced.push(token),
    });
    try {
      expect(announced).toHaveLength(1);
      expect(api.generatedToken).toBe(announced[0]);
      expect(api.tokens).toEqual(announced);
      expect(announced[0]!.length).toBeGreaterThanOrEqual(32);
      const body = {
        operation: 'kontext.img2img',
        input: { prompt: 'p', image_list: ['https://a.example/x.png'] },
      };
      expect((await post(api.url, announced[0]!, body)).status).toBe(202);
      expect((await post(api.url, 'guess', body)).status).toBe(401);
    } finally {
      await api.close();
    }
    // closed: the port no longer answers
    await expect(request(`${api.url}/healthz`)).rejects.toThrow();
  });

  it('validates and lists jobs from the catalog alone: PROVIDERS, and no provider credential', async () => {
    const token = 'tok-catalog-1234567890';
    const api = await startApi(config({ API_TOKENS: token, PROVIDERS: 'replicate,liblib' }), {
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      checkUrl: async () => {},
      objectUrl: async () => 'unused',
      s3Ready: async () => {},
    });
    try {
      const example = descriptorOf('replicate').example;
      const accepted = await post(api.url, token, { provider: 'replicate', ...example });
      expect(accepted.status).toBe(202);
      const { input_image: _, ...withoutImage } = example.input;
      const refused = await post(api.url, token, { ...example, provider: 'replicate', input: withoutImage });
      expect(refused.status).toBe(400);
      expect(refused.body.error.issues).toEqual([{ path: 'input.input_image', message: 'Required' }]);
      const disabled = await post(api.url, token, {
        ...descriptorOf('modelverse').example,
        provider: 'modelverse',
      });
      expect(disabled.status).toBe(400);
      expect(disabled.body.error.issues[0].message).toBe(
        'unknown provider "modelverse"; valid providers: liblib, replicate',
      );

      const res = await request(`${api.url}/v1/operations`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(200);
      const listing = (await res.body.json()) as { providers: ProviderListing[] };
      expect(listing.providers.map((p) => p.name)).toEqual(['liblib', 'replicate']);
      const replicate = listing.providers[1]!;
      expect(replicate.operations.map((o) => o.name)).toEqual(
        Object.keys(descriptorOf('replicate').operations),
      );
      expect(replicate.operations[0]).toMatchObject({
        description: descriptorOf('replicate').operations[example.operation]!.description,
        output: 'image',
        inputSchema: { type: 'object', required: ['prompt', 'input_image'], additionalProperties: true },
      });
      expect((await request(`${api.url}/v1/operations`)).statusCode).toBe(401);
    } finally {
      await api.close();
    }
  });

  it('uses the real SSRF guard from @genqueue/webhooks by default', async () => {
    const api = await startApi(config({ API_TOKENS: 'tok-ssrf-1234567890' }), {
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      providers: new Map([['liblib', provider]]),
      objectUrl: async () => 'unused',
      s3Ready: async () => {},
    });
    try {
      const res = await post(api.url, 'tok-ssrf-1234567890', {
        operation: 'kontext.img2img',
        input: {
          prompt: 'p',
          image_list: ['http://169.254.169.254/latest/meta-data/', 'http://[::1]:8080/a.png'],
        },
        webhookUrl: 'http://localhost:9/hook',
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual([
        'input.image_list[0]',
        'input.image_list[1]',
        'webhookUrl',
      ]);
    } finally {
      await api.close();
    }
  });

  it('lets a request in flight finish on close', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inCheck = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const api = await startApi(config({ API_TOKENS: 'tok-close-1234567890' }), {
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      redis,
      providers: new Map([['liblib', provider]]),
      checkUrl: async () => {
        entered();
        await gate;
      },
      objectUrl: async () => 'unused',
      s3Ready: async () => {},
      closeGraceMs: 30_000,
    });
    const pending = post(api.url, 'tok-close-1234567890', {
      operation: 'kontext.img2img',
      input: { prompt: 'p', image_list: ['https://a.example/x.png'] },
    });
    await inCheck;
    const closing = api.close();
    release();
    expect((await pending).status).toBe(202);
    await closing;
    // the shared connection given in overrides stays open
    expect(await redis.ping()).toBe('PONG');
  });
});

describe('/readyz', () => {
  async function readyz(deps: { redisReady: () => Promise<void>; s3Ready: () => Promise<void> }) {
    const cfg = config({ API_TOKENS: 'tok-ready-1234567890' });
    const queues = new QueueSet({
      connection: redis,
      prefix: cfg.queuePrefix,
      providers: ['liblib'],
      submitAttempts: 1,
      transientBackoffMs: 1000,
      sinkAttempts: 1,
      webhookAttempts: 1,
    });
    const app = createApp({
      config: cfg,
      store: new JobStore({ redis, prefix: cfg.queuePrefix, retentionSeconds: 60 }),
      queues,
      redis,
      providers: new Map([['liblib', provider]]),
      objectUrl: async () => 'unused',
      checkUrl: async () => {},
      logger: silentLogger(),
      readyTimeoutMs: 200,
      ...deps,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
      return { status: res.statusCode, body: await res.body.json() };
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await queues.close();
    }
  }

  it('is 200 when Redis and S3 answer', async () => {
    expect(await readyz({ redisReady: async () => {}, s3Ready: async () => {} })).toEqual({
      status: 200,
      body: { ok: true },
    });
  });

  it('is 503 listing what is down, including a check that hangs', async () => {
    const res = await readyz({
      redisReady: () => new Promise(() => {}),
      s3Ready: () => Promise.reject(new Error('NoSuchBucket at http://key:secret@s3.internal')),
    });
    expect(res).toEqual({ status: 503, body: { ok: false, down: ['redis', 's3'] } });
  });
});

describe('server faults', () => {
  it('answer 500 internal and are logged without secrets; a job whose enqueue fails still runs', async () => {
    const token = 'tok-fault-secret-1234567890';
    const cfg = config({ API_TOKENS: token });
    // No submit queue for the provider: enqueueing fails after the job was written.
    const queues = new QueueSet({
      connection: redis,
      prefix: cfg.queuePrefix,
      providers: [],
      submitAttempts: 1,
      transientBackoffMs: 1000,
      sinkAttempts: 1,
      webhookAttempts: 1,
    });
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const store = new JobStore({ redis, prefix: cfg.queuePrefix, retentionSeconds: 60 });
    let storeFails = true;
    const faulty = new Proxy(store, {
      get(target, name, receiver) {
        if (name === 'createJob' && storeFails) return async () => Promise.reject(new Error('disk on fire'));
        const value = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const app = createApp({
      config: cfg,
      store: faulty,
      queues,
      redis,
      providers: new Map([['liblib', provider]]),
      objectUrl: async () => 'unused',
      checkUrl: async () => {},
      s3Ready: async () => {},
      redisReady: async () => {},
      logger,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const body = {
        operation: 'kontext.img2img',
        input: { prompt: 'p', image_list: ['https://a.example/x.png'] },
      };
      const send = () =>
        request(`${url}/v1/jobs`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': 'k1',
          },
          body: JSON.stringify(body),
        });
      const failed = await send();
      expect(failed.statusCode).toBe(500);
      expect(await failed.body.json()).toEqual({
        error: { code: 'internal', message: expect.stringContaining('logged') },
      });
      const errors = lines.filter((line) => JSON.parse(line).level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('disk on fire');
      expect(lines.join('')).not.toContain(token);
      expect(await redis.keys(`${cfg.queuePrefix}:job:*`)).toHaveLength(0);

      // The job, its submit entry and the key are one write: when enqueueing fails after it, the
      // job is accepted all the same, and a worker's outbox sweep enqueues it.
      storeFails = false;
      const accepted = await send();
      expect(accepted.statusCode).toBe(202);
      const { id } = (await accepted.body.json()) as { id: string };
      expect(lines.join('')).toContain('no submit queue for provider liblib');
      const outbox = await redis.zrange(`${cfg.queuePrefix}:outbox`, 0, -1);
      expect(outbox.map((entry) => JSON.parse(entry))).toMatchObject([
        { kind: 'submit', provider: 'liblib', jobId: id },
      ]);
      const replayed = await send();
      expect(replayed.statusCode).toBe(200);
      expect(((await replayed.body.json()) as { id: string }).id).toBe(id);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await queues.close();
    }
  });
});
