/**
 * Secrets never leave the process: a real API and worker at LOG_LEVEL=debug, logging into memory
 * through the production logger, run a succeeding job (with an uploaded input image and a
 * delivered webhook), a failing job (moderation, with a webhook the receiver refuses), an account
 * error (the provider refuses our signature), and callers with wrong credentials. Then every log
 * line, every API answer (headers and bodies), every job view, every webhook request and the
 * metrics page are searched for each secret: the LiblibAI SecretKey, every `Signature` the client
 * sent, the API, metrics and admin credentials, the S3 secret key and the webhook secret.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiHandle, startApi } from '@genqueue/api';
import { type Config, loadConfig } from '@genqueue/config';
import { encodePng, type Simulator, startSimulator } from '@genqueue/simulator';
import { startWorker, type WorkerHandle } from '@genqueue/worker';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis.ts';
import { startS3, type TestS3 } from '../support/s3.ts';
import { memoryLogger, type SignatureProxy, startSignatureProxy } from './support/capture.ts';

const WEBHOOK_KEY = Buffer.from('webhook-secret-SENTINEL-c0ffee-5e3d');
const SECRETS = {
  'LiblibAI SecretKey': 'liblib-secret-SENTINEL-7f3a9c2e5b1d4f60a8e7c3b2d1f0e9a8',
  'API token': 'gq_api-token-SENTINEL-4b2e8d1c9f7a6e5d3c2b1a0f',
  'metrics token': 'metrics-token-SENTINEL-9e8d7c6b5a4f3e2d',
  'admin password': 'admin-password-SENTINEL-1a2b3c4d5e6f',
  'S3 secret key': 's3-secret-SENTINEL-0f1e2d3c4b5a69788796a5b4',
  'webhook secret': `whsec_${WEBHOOK_KEY.toString('base64')}`,
  'webhook secret (base64 part)': WEBHOOK_KEY.toString('base64'),
  'webhook secret (raw)': WEBHOOK_KEY.toString('utf8'),
} as const;
const TOKEN = SECRETS['API token'];

let sim: Simulator;
let proxy: SignatureProxy;
let s3: TestS3;
let receiver: Server;
let receiverUrl: string;
const received: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
const redis = connectRedis();
const prefix = uniquePrefix('sec-secrets');
let config: Config;
let api: ApiHandle;
let worker: WorkerHandle;
const apiLog = memoryLogger('api');
const workerLog = memoryLogger('worker');
/** The fields of API answers this test reads (job creation and job views). */
interface Answer {
  id: string;
  state: string;
  webhooks?: { attempts: number }[];
}

/** Every answer the API gave in this test: status, headers and body. */
const answers: string[] = [];

async function call(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
): Promise<{ status: number; json: Answer }> {
  const res = await request(`${api.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  answers.push(`${method} ${path} ${res.statusCode} ${JSON.stringify(res.headers)} ${text}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json: json as Answer };
}

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const terminal = (id: string) =>
  waitFor(`job ${id} to end`, async () => {
    const { json } = await call('GET', `/v1/jobs/${id}`);
    return ['succeeded', 'failed', 'canceled'].includes(json.state) ? json : undefined;
  });

beforeAll(async () => {
  sim = await startSimulator({
    secretKey: SECRETS['LiblibAI SecretKey'],
    latencyMs: { min: 100, max: 300 },
    submitQps: 5,
  });
  proxy = await startSignatureProxy(sim.url);
  s3 = await startS3();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.statusCode = req.url?.startsWith('/fail') ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  config = loadConfig({
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'debug',
    API_TOKENS: TOKEN,
    METRICS_TOKEN: SECRETS['metrics token'],
    ADMIN_USER: 'ops',
    ADMIN_PASSWORD: SECRETS['admin password'],
    LIBLIB_BASE_URL: proxy.url,
    LIBLIB_ACCESS_KEY: sim.options.accessKey,
    LIBLIB_SECRET_KEY: SECRETS['LiblibAI SecretKey'],
    LIBLIB_SUBMIT_QPS: '5',
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: 'S3RVER',
    // s3rver does not check SigV4 signatures, so any secret key works against it.
    S3_SECRET_ACCESS_KEY: SECRETS['S3 secret key'],
    S3_FORCE_PATH_STYLE: 'true',
    POLL_MIN_INTERVAL_MS: '100',
    POLL_MAX_INTERVAL_MS: '250',
    TRANSIENT_BACKOFF_MS: '200',
    ACCOUNT_PROBE_INTERVAL_MS: '500',
    SHUTDOWN_GRACE_MS: '2000',
    WEBHOOK_SECRET: SECRETS['webhook secret'],
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE_MS: '0,100,100',
  });
  api = await startApi(config, { host: '127.0.0.1', port: 0, logger: apiLog.logger, redis });
  worker = await startWorker(config, { logger: workerLog.logger });
});

afterAll(async () => {
  await worker?.close();
  await api?.close();
  await deletePrefix(redis, prefix);
  redis.disconnect();
  await proxy?.close();
  await sim?.close();
  await s3?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('secrets', () => {
  it('appear in no log line, API answer, job view, webhook or metrics page', async () => {
    // 1. A job that succeeds, with an input image the worker uploads (signed upload call) and a webhook.
    const png = encodePng(8, 8, Buffer.alloc(8 * 8 * 3, 0x80));
    const ok = await call('POST', '/v1/jobs', {
      operation: 'kontext.img2img',
      input: { prompt: 'a red door', image_list: [`data:image/png;base64,${png.toString('base64')}`] },
      webhookUrl: `${receiverUrl}/ok`,
    });
    expect(ok.status).toBe(202);
    // 2. A job the provider refuses (moderation), with a webhook receiver that answers 500.
    const bad = await call('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'something forbidden' },
      webhookUrl: `${receiverUrl}/fail`,
    });
    expect(bad.status).toBe(202);
    const okJob = await terminal(ok.json.id);
    const badJob = await terminal(bad.json.id);
    expect(okJob.state).toBe('succeeded');
    expect(badJob.state).toBe('failed');

    // 3. An account error: the provider stops accepting our signature, then accepts it again.
    sim.configure({ secretKey: 'a-key-the-client-does-not-have' });
    const paused = await call('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'during an account error' },
    });
    await waitFor('the provider to refuse a signature', async () => sim.stats().authFailures > 0);
    sim.configure({ secretKey: SECRETS['LiblibAI SecretKey'] });
    expect((await terminal(paused.json.id)).state).toBe('succeeded');

    // 4. Callers with wrong or missing credentials, the metrics page, the admin board.
    expect((await call('GET', `/v1/jobs/${ok.json.id}`, undefined, {})).status).toBe(401);
    expect((await call('GET', '/v1/jobs/x', undefined, { authorization: `Bearer ${TOKEN}x` })).status).toBe(
      401,
    );
    expect(
      (await call('GET', '/metrics', undefined, { authorization: `Bearer ${SECRETS['metrics token']}` }))
        .status,
    ).toBe(200);
    expect(
      (await call('GET', '/metrics', undefined, { authorization: `Bearer ${TOKEN.slice(1)}` })).status,
    ).toBe(401);
    const board = `Basic ${Buffer.from(`ops:${SECRETS['admin password']}`).toString('base64')}`;
    expect((await call('GET', '/admin/queues/api/queues', undefined, { authorization: board })).status).toBe(
      200,
    );
    expect(
      (await call('GET', '/admin/queues', undefined, { authorization: 'Basic b3BzOm5vcGU=' })).status,
    ).toBe(401);

    // Webhooks: one delivered, and the refused one retried until the schedule ran out.
    await waitFor('the webhook deliveries', async () => {
      const view = (await call('GET', `/v1/jobs/${bad.json.id}`)).json;
      return (
        received.some((r) => r.url === '/ok') && received.filter((r) => r.url === '/fail').length >= 3 && view
      );
    });
    await waitFor('the failed delivery to be recorded', async () => {
      const view = (await call('GET', `/v1/jobs/${bad.json.id}`)).json;
      return (view.webhooks?.[0]?.attempts ?? 0) >= 3;
    });
    for (const id of [ok.json.id, bad.json.id, paused.json.id]) await call('GET', `/v1/jobs/${id}`);

    // What was exercised: signed calls (submissions, status, upload), and logs of every path.
    expect(proxy.signatures.length).toBeGreaterThanOrEqual(6);
    const logs = `${apiLog.text()}\n${workerLog.text()}`;
    expect(apiLog.lines()).toBeGreaterThan(10);
    expect(workerLog.lines()).toBeGreaterThan(10);
    expect(logs).toMatch(/"level":20/); // debug lines are there
    expect(logs).toMatch(/account/i); // the account error was logged
    expect(logs).toContain('100052'); // the moderation failure was logged

    const haystacks: Record<string, string> = {
      'API and worker logs': logs,
      'API answers': answers.join('\n'),
      'webhook requests': received.map((r) => `${r.url} ${JSON.stringify(r.headers)} ${r.body}`).join('\n'),
    };
    const needles: [string, string][] = [
      ...Object.entries(SECRETS),
      ...[...new Set(proxy.signatures)].map((s, i) => [`Signature #${i}`, s] as [string, string]),
    ];
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(haystacks)) {
      for (const [what, secret] of needles) {
        if (text.includes(secret)) leaks.push(`${what} found in ${where}`);
      }
    }
    expect(leaks).toEqual([]);
    console.log(
      `secret scan: ${Object.keys(SECRETS).length} secrets and ${new Set(proxy.signatures).size} signatures, ` +
        `searched in ${apiLog.lines() + workerLog.lines()} log lines, ${answers.length} API answers, ` +
        `${received.length} webhook requests`,
    );
  });
});
