/**
 * The API while Redis or S3 is down: a private `redis-server` killed under a running API, the same
 * server stopped with SIGSTOP (it keeps its connections open and answers nothing, as in a network
 * partition), and a real s3rver stopped. Every call answers `503` with `Retry-After` within 2 s, `/readyz` within
 * 1 s, the log says once that Redis is down and once that it is back, and the API recovers by itself.
 */
import { Writable } from 'node:stream';
import { type ApiHandle, startApi } from '@genqueue/api';
import { loadConfig } from '@genqueue/config';
import { JobStore, newJobId } from '@genqueue/core';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestartableS3, startRestartableS3 } from './chaos/support/restartable-s3.ts';
import { type PrivateRedis, startPrivateRedis } from './support/private-redis.ts';
import { uniquePrefix } from './support/redis.ts';

const TOKEN = 'tok-dependencies-down-1234567890';
const JOB = { operation: 'kontext.text2img', input: { prompt: 'a lighthouse' } };

let redis: PrivateRedis;
let s3: RestartableS3;
let api: ApiHandle;
let store: JobStore;
let storeRedis: Redis;
const lines: string[] = [];

async function call(method: 'GET' | 'POST', path: string, body?: unknown) {
  const started = Date.now();
  const res = await request(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 10_000,
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    retryAfter: res.headers['retry-after'],
    ms: Date.now() - started,
    // biome-ignore lint/suspicious/noExplicitAny: loose test body
    body: (text.startsWith('{') ? JSON.parse(text) : text) as any,
  };
}

const said = (text: string) => lines.filter((line) => line.includes(text)).length;

beforeAll(async () => {
  redis = await startPrivateRedis();
  s3 = await startRestartableS3();
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const config = loadConfig({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: uniquePrefix('deps-down'),
    API_TOKENS: TOKEN,
    // The API validates against the catalog only; the workers (none here) would hold these keys.
    LIBLIB_ACCESS_KEY: 'ak-unused',
    LIBLIB_SECRET_KEY: 'sk-unused',
    ...s3.env,
  });
  api = await startApi(config, { host: '127.0.0.1', port: 0, logger });
  storeRedis = new Redis(redis.url, { maxRetriesPerRequest: null });
  storeRedis.on('error', () => undefined); // it reconnects by itself after the kill
  store = new JobStore({ redis: storeRedis, prefix: config.queuePrefix, retentionSeconds: 600 });
});

afterAll(async () => {
  await api?.close();
  storeRedis?.disconnect();
  await redis?.destroy();
  await s3?.destroy();
});

describe('Redis killed under the API', () => {
  it('answers 503 with Retry-After within 2 s, /readyz within 1 s, logs once, and comes back by itself', async () => {
    const before = await call('POST', '/v1/jobs', JOB);
    expect(before.body).toMatchObject({ id: expect.any(String) });

    await redis.kill();
    const posted = await call('POST', '/v1/jobs', JOB);
    expect(posted).toMatchObject({ status: 503, retryAfter: '5', body: { error: { code: 'unavailable' } } });
    expect(posted.ms).toBeLessThan(2_000);
    const read = await call('GET', `/v1/jobs/${before.body.id}`);
    expect(read).toMatchObject({ status: 503, retryAfter: '5' });
    expect(read.ms).toBeLessThan(2_000);

    const ready = await call('GET', '/readyz');
    expect(ready).toMatchObject({ status: 503, body: { ok: false, down: ['redis'] } });
    expect(ready.ms).toBeLessThan(1_000);
    console.log(
      `Redis down: POST /v1/jobs 503 in ${posted.ms} ms, GET ${read.ms} ms, /readyz ${ready.ms} ms`,
    );

    // ioredis keeps reconnecting (and failing) meanwhile: one line says so, not one per attempt.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(said('redis: unreachable')).toBe(1);
    expect(said('Unhandled error event')).toBe(0);

    await redis.start();
    const deadline = Date.now() + 15_000;
    let again = await call('POST', '/v1/jobs', JOB);
    while (again.status !== 202 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = await call('POST', '/v1/jobs', JOB);
    }
    expect(again.status).toBe(202);
    expect((await call('GET', '/readyz')).status).toBe(200);
    expect(said('redis: reachable again')).toBe(1);
    expect(said('redis: unreachable')).toBe(1);
  });
});

describe('S3 stopped under the API', () => {
  it('fails /readyz within 1 s and answers 503 for a stored file, then serves it again', async () => {
    // A succeeded job whose output key names nothing in S3 yet: 404 while S3 is up.
    const id = newJobId();
    const key = `jobs/${id}/0.png`;
    const created = await store.createJob({
      id,
      provider: 'liblib',
      operation: JOB.operation,
      input: JOB.input,
      createdAt: Date.now(),
    });
    expect(created.created).toBe(true);
    await store.taskAccepted(id, { providerTaskId: 'task-1', submittedAt: Date.now() });
    await store.taskEnded(id, 'storing', { taskEndedAt: Date.now() });
    const output = { bucket: s3.bucket, key, contentType: 'image/png', bytes: 1, sha256: 'x' };
    expect((await store.stored(id, [output])).ok).toBe(true);
    expect((await call('GET', `/ui/files/${key}`)).status).toBe(404);

    await s3.stop();
    const ready = await call('GET', '/readyz');
    expect(ready).toMatchObject({ status: 503, body: { ok: false, down: ['s3'] } });
    expect(ready.ms).toBeLessThan(1_000);
    const file = await call('GET', `/ui/files/${key}`);
    expect(file).toMatchObject({ status: 503, retryAfter: '5', body: { error: { code: 'unavailable' } } });
    expect(file.ms).toBeLessThan(2_000);

    await s3.start();
    expect((await call('GET', '/readyz')).status).toBe(200);
    expect((await call('GET', `/ui/files/${key}`)).status).toBe(404);
  });
});

describe('Redis hung (SIGSTOP) under the API', () => {
  it('answers 503 within 2 s, also to a request already waiting, /readyz within 1 s, and loses nothing after SIGCONT', async () => {
    const before = await call('POST', '/v1/jobs', JOB);
    expect(before.status).toBe(202);
    const downBefore = said('redis: unreachable');
    const backBefore = said('redis: reachable again');

    redis.pause();
    try {
      // Sent before the probe can have noticed: its command is on the wire, unanswered.
      const waiting = await call('POST', '/v1/jobs', JOB);
      expect(waiting).toMatchObject({
        status: 503,
        retryAfter: '5',
        body: { error: { code: 'unavailable' } },
      });
      expect(waiting.ms).toBeLessThan(2_000);

      // By now the probe has marked Redis down: the gate answers without sending a command.
      const posted = await call('POST', '/v1/jobs', JOB);
      expect(posted).toMatchObject({
        status: 503,
        retryAfter: '5',
        body: { error: { code: 'unavailable' } },
      });
      expect(posted.ms).toBeLessThan(500);
      const read = await call('GET', `/v1/jobs/${before.body.id}`);
      expect(read).toMatchObject({ status: 503, retryAfter: '5' });
      expect(read.ms).toBeLessThan(500);
      const ready = await call('GET', '/readyz');
      expect(ready).toMatchObject({ status: 503, body: { ok: false, down: ['redis'] } });
      expect(ready.ms).toBeLessThan(1_000);
      console.log(
        `Redis hung: waiting POST 503 in ${waiting.ms} ms, POST ${posted.ms} ms, GET ${read.ms} ms, /readyz ${ready.ms} ms`,
      );

      // The probe keeps getting no answer meanwhile: one line says so, not one per PING.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(said('redis: unreachable') - downBefore).toBe(1);
    } finally {
      redis.resume();
    }

    const deadline = Date.now() + 15_000;
    let again = await call('POST', '/v1/jobs', JOB);
    while (again.status !== 202 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = await call('POST', '/v1/jobs', JOB);
    }
    expect(again.status).toBe(202);
    expect((await call('GET', '/readyz')).status).toBe(200);
    // What was accepted before the hang, and after it, is there.
    expect(await call('GET', `/v1/jobs/${before.body.id}`)).toMatchObject({
      status: 200,
      body: { id: before.body.id, state: 'queued' },
    });
    expect(await call('GET', `/v1/jobs/${again.body.id}`)).toMatchObject({
      status: 200,
      body: { id: again.body.id },
    });
    expect(said('redis: reachable again') - backBefore).toBe(1);
    expect(said('redis: unreachable') - downBefore).toBe(1);
  });
});
