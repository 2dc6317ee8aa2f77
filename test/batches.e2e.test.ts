/**
 * The batch routes: a few hundred prompts through the whole pipeline against the simulator, retry
 * of failed jobs; and, on the API alone (no worker, so jobs stay where the routes put them), JSON,
 * CSV and NDJSON uploads with bad rows, `skipInvalid`, a BOM, broken quoting, the item limit, the
 * SSRF guard, listing with a state filter and a cursor, and cancel.
 */

import { loadConfig } from '@genqueue/config';
import { type BatchView, JobStore, type JobView, QueueSet, silentLogger } from '@genqueue/core';
import { descriptorOf } from '@genqueue/providers';
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHandle, startApi } from '../apps/api/src/index.ts';
import { connectRedis, deletePrefix, uniquePrefix } from './support/redis.ts';
import { type Stack, startStack } from './support/stack.ts';

type Page = { items: JobView[]; nextCursor: string | null };
type Rejected = { row: number; line?: number; issues: { path: string; message: string }[] };
type ErrorBody = {
  error: {
    code: string;
    message: string;
    issues?: { path: string; message: string }[];
    rejected?: Rejected[];
  };
};

async function listAll(
  get: (path: string) => Promise<{ status: number; body: unknown }>,
  batchId: string,
  query: string,
): Promise<{ items: JobView[]; pages: number }> {
  const items: JobView[] = [];
  let cursor: string | null = '0';
  let pages = 0;
  while (cursor !== null) {
    const { status, body } = await get(`/v1/batches/${batchId}/jobs?${query}&cursor=${cursor}`);
    expect(status).toBe(200);
    const page = body as Page;
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  }
  return { items, pages };
}

describe('batches through the pipeline', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      sim: { submitQps: 50, maxInFlight: 10, latencyMs: { min: 50, max: 150 } },
      // The limiter's default 50 ms safety margin would cap 50/s at 14/s.
      env: { SUBMIT_MARGIN_MS: '5' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const batch = async (id: string) => {
    const { status, body } = await stack.call<BatchView>('GET', `/v1/batches/${id}`);
    expect(status).toBe(200);
    return body;
  };
  const get = (path: string) => stack.call('GET', path);

  it('runs 300 prompts to done, with counts that match the jobs listed', async () => {
    const prompts = Array.from({ length: 300 }, (_, i) => `pipeline batch prompt ${i}`);
    const started = Date.now();
    const created = await stack.call<{ id: string; total: number }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      defaults: { aspectRatio: '1:1', model: 'pro' },
      prompts,
      metadata: { campaign: 'e2e' },
    });
    expect(created.status).toBe(202);
    expect(created.body).toEqual({ id: expect.stringMatching(/^b_/), total: 300 });
    const id = created.body.id;

    const running = await batch(id);
    expect(running).toMatchObject({ id, total: 300, done: false, metadata: { campaign: 'e2e' } });

    const done = await stack.waitFor(
      async () => {
        const view = await batch(id);
        return view.done ? view : undefined;
      },
      40_000,
      'the batch to finish',
    );
    const elapsed = Date.now() - started;
    expect(done.counts).toEqual({
      queued: 0,
      submitting: 0,
      running: 0,
      storing: 0,
      succeeded: 300,
      failed: 0,
      canceled: 0,
    });
    expect(done.finishedAt).toBeDefined();
    expect(done.eta).toBeUndefined();
    expect(done.pointsCost).toBe(300 * 29);

    // Every job, in submission order, in pages of 100, with the same view as GET /v1/jobs/:id.
    const { items, pages } = await listAll(get, id, 'limit=100');
    expect(pages).toBe(3);
    expect(items.map((j) => j.id)).toEqual(await stack.itemIds(id));
    expect(items.map((j) => j.input.prompt)).toEqual(prompts);
    const tally: Record<string, number> = {};
    for (const job of items) tally[job.state] = (tally[job.state] ?? 0) + 1;
    expect(tally).toEqual({ succeeded: done.counts.succeeded });
    // Presigned output URLs carry their signing second, so compare the views without them.
    const unsigned = (job: JobView) => ({
      ...job,
      outputs: job.outputs.map(({ url: _url, thumbnail, ...o }) => ({ ...o, thumbnail: thumbnail?.key })),
    });
    expect(unsigned(items[7]!)).toEqual(unsigned(await stack.job(items[7]!.id)));
    expect(items[7]).toMatchObject({
      batchId: id,
      input: { prompt: prompts[7], aspectRatio: '1:1', model: 'pro' },
      outputs: [expect.objectContaining({ contentType: 'image/png' })],
    });

    // One filtered page holds them all; a state nobody is in gives an empty last page.
    const succeeded = await get(`/v1/batches/${id}/jobs?state=succeeded&limit=1000`);
    expect((succeeded.body as Page).items).toHaveLength(300);
    expect((succeeded.body as Page).nextCursor).toBeNull();
    expect((await get(`/v1/batches/${id}/jobs?state=failed`)).body).toEqual({ items: [], nextCursor: null });

    const stats = stack.sim.stats();
    expect(stats).toMatchObject({ qpsBreaches: 0, inFlightBreaches: 0, duplicatePrompts: 0 });
    for (const prompt of prompts) expect(stats.submissionsByPrompt[prompt]).toBe(1);
    console.info(`300-prompt batch: done in ${elapsed} ms`);
  });

  it('retries failed jobs: they are listed by state page after page, then succeed', async () => {
    stack.sim.configure({ failureRate: 0.4 });
    const created = await stack.call<{ id: string }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      prompts: Array.from({ length: 40 }, (_, i) => `retry batch prompt ${i}`),
    });
    expect(created.status).toBe(202);
    const id = created.body.id;
    const first = await stack.waitFor(
      async () => {
        const view = await batch(id);
        return view.done ? view : undefined;
      },
      30_000,
      'the failing batch to finish',
    );
    stack.sim.configure({ failureRate: 0 });
    expect(first.counts.failed).toBeGreaterThan(0);
    expect(first.counts.succeeded + first.counts.failed).toBe(40);

    // Pages of 3 failed jobs, found by scanning forward from each cursor.
    const failed = await listAll(get, id, 'state=failed&limit=3');
    expect(failed.items.map((j) => j.state)).toEqual(Array(first.counts.failed).fill('failed'));
    expect(failed.pages).toBeGreaterThanOrEqual(Math.ceil(first.counts.failed / 3));
    const indexes = failed.items.map((j) => Number(j.id.split('-').pop()));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(failed.items[0]!.error).toBeDefined();

    const retried = await stack.call<{ id: string; requeued: number }>('POST', `/v1/batches/${id}/retry`);
    expect(retried).toEqual({ status: 202, body: { id, requeued: first.counts.failed } });
    const second = await stack.waitFor(
      async () => {
        const view = await batch(id);
        return view.done ? view : undefined;
      },
      30_000,
      'the retried batch to finish',
    );
    expect(second.counts).toMatchObject({ succeeded: 40, failed: 0 });
    for (const job of failed.items) {
      const now = await stack.job(job.id);
      expect(now.state).toBe('succeeded');
      expect(now.error).toBeUndefined();
    }
    // Nothing left to retry.
    expect((await stack.call('POST', `/v1/batches/${id}/retry`)).body).toEqual({ id, requeued: 0 });
  });
});

describe('batch routes on the API alone', () => {
  const TOKEN = 'test-token-batches-0123456789';
  let redis: Redis;
  let prefix: string;
  let api: ApiHandle;
  let store: JobStore;
  let queues: QueueSet;

  /** Refuses loopback and private hosts, like the real guard. */
  async function checkUrl(url: string): Promise<void> {
    const host = new URL(url).hostname;
    if (/^(localhost|127\.|10\.|192\.168\.|169\.254\.)/.test(host))
      throw new Error(`${host} is a private address`);
  }

  beforeAll(async () => {
    redis = connectRedis();
    prefix = uniquePrefix('api-batches');
    const config = loadConfig({
      QUEUE_PREFIX: prefix,
      API_TOKENS: TOKEN,
      WEBHOOK_SECRET: `whsec_${Buffer.from('batches-test-secret-0123456789').toString('base64')}`,
    });
    api = await startApi(config, {
      host: '127.0.0.1',
      port: 0,
      redis,
      logger: silentLogger(),
      providers: new Map([['liblib', descriptorOf('liblib')]]),
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
      transientBackoffMs: 100,
      sinkAttempts: 3,
      webhookAttempts: 3,
    });
  });
  afterAll(async () => {
    await api?.close();
    await queues?.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  async function send<T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    body?: string | Buffer,
    contentType?: string,
  ): Promise<{ status: number; body: T }> {
    const response = await request(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(contentType ? { 'content-type': contentType } : {}) },
      body,
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  }
  const postJson = <T = unknown>(body: unknown, query = '') =>
    send<T>('POST', `/v1/batches${query}`, JSON.stringify(body), 'application/json');
  const postCsv = <T = unknown>(csv: string | Buffer, query: string) =>
    send<T>('POST', `/v1/batches?${query}`, csv, 'text/csv');
  const postNdjson = <T = unknown>(text: string, query: string) =>
    send<T>('POST', `/v1/batches?${query}`, text, 'application/x-ndjson');
  const jobsOf = async (id: string) => {
    const { status, body } = await send<Page>('GET', `/v1/batches/${id}/jobs?limit=1000`);
    expect(status).toBe(200);
    return body.items;
  };

  it('reads a CSV with a BOM, quoted cells and typed columns', async () => {
    const csv =
      '\uFEFFprompt,aspectRatio,imgCount,guidance_scale,metadata.ref\r\n' +
      'a red fox,1:1,2,3.5,row-1\r\n' +
      '"fox, with a comma",16:9,,,row-2\r\n' +
      '"a quote "" and a\nnewline",,1,,\r\n' +
      ',,,,\r\n' +
      '42,,,,row-5\r\n';
    const { status, body } = await postCsv<{ id: string; total: number }>(
      csv,
      `operation=kontext.text2img&set.model=pro&defaults=${encodeURIComponent('{"imgCount":1}')}`,
    );
    expect(status).toBe(202);
    expect(body).toEqual({ id: expect.stringMatching(/^b_/), total: 4 });
    const jobs = await jobsOf(body.id);
    expect(jobs.map((j) => ({ input: j.input, metadata: j.metadata }))).toEqual([
      {
        input: { model: 'pro', imgCount: 2, prompt: 'a red fox', aspectRatio: '1:1', guidance_scale: 3.5 },
        metadata: { ref: 'row-1' },
      },
      // An empty cell is "not given": the batch default applies.
      {
        input: { model: 'pro', imgCount: 1, prompt: 'fox, with a comma', aspectRatio: '16:9' },
        metadata: { ref: 'row-2' },
      },
      { input: { model: 'pro', imgCount: 1, prompt: 'a quote " and a\nnewline' }, metadata: undefined },
      // The schema wants a string prompt, so a number-looking prompt stays text.
      { input: { model: 'pro', imgCount: 1, prompt: '42' }, metadata: { ref: 'row-5' } },
    ]);
    const batch = (await send<BatchView>('GET', `/v1/batches/${body.id}`)).body;
    expect(batch).toMatchObject({
      total: 4,
      done: false,
      counts: { queued: 4 },
      operation: 'kontext.text2img',
    });
  });

  it('rejects a CSV with bad rows, naming each row, line and field, or skips them with skipInvalid', async () => {
    const csv = [
      'prompt,imgCount,aspectRatio',
      'good one,1,1:1',
      ',2,1:1', // no prompt (an empty cell is "not given")
      'too many,9,1:1',
      'good two,1,1:1',
      'wrong cells,1',
      'bad ratio,1,5:4',
    ].join('\n');
    const refused = await postCsv<ErrorBody>(csv, 'operation=kontext.text2img');
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_request');
    expect(refused.body.error.message).toMatch(/^4 invalid rows, nothing was created/);
    expect(refused.body.error.rejected).toEqual([
      { row: 2, line: 3, issues: [{ path: 'input.prompt', message: expect.any(String) }] },
      { row: 3, line: 4, issues: [{ path: 'input.imgCount', message: expect.stringMatching(/4/) }] },
      { row: 5, line: 6, issues: [{ path: 'row', message: 'has 2 cells; the header has 3 columns' }] },
      { row: 6, line: 7, issues: [{ path: 'input.aspectRatio', message: expect.any(String) }] },
    ]);
    expect(refused.body.error.issues!.map((i) => i.path)).toEqual([
      'rows[2].input.prompt',
      'rows[3].input.imgCount',
      'rows[5]',
      'rows[6].input.aspectRatio',
    ]);
    const batchKeys = await redis.keys(`${prefix}:batch:*`);

    const skipped = await postCsv<{ id: string; total: number; rejected: Rejected[] }>(
      csv,
      'operation=kontext.text2img&skipInvalid=true',
    );
    expect(skipped.status).toBe(202);
    expect(skipped.body.total).toBe(2);
    expect(skipped.body.rejected.map((r) => [r.row, r.line])).toEqual([
      [2, 3],
      [3, 4],
      [5, 6],
      [6, 7],
    ]);
    expect((await jobsOf(skipped.body.id)).map((j) => j.input.prompt)).toEqual(['good one', 'good two']);
    // The refused upload wrote nothing.
    expect(await redis.keys(`${prefix}:batch:*`)).toHaveLength(batchKeys.length + 1);
  });

  it('answers broken CSV quoting with 400 and the line, and a header problem likewise', async () => {
    const broken = await postCsv<ErrorBody>(
      'prompt,imgCount\nfine,1\n"broken"quote,1\nnext,1\n',
      'operation=kontext.text2img',
    );
    expect(broken.status).toBe(400);
    expect(broken.body.error.issues).toEqual([
      { path: 'line 3', message: expect.stringMatching(/malformed CSV/) },
    ]);
    const unclosed = await postCsv<ErrorBody>(
      'prompt\nfine\n"never closed\nmore\n',
      'operation=kontext.text2img',
    );
    expect(unclosed.status).toBe(400);
    expect(unclosed.body.error.issues![0]!.message).toMatch(/Quote Not Closed/);
    const header = await postCsv<ErrorBody>('prompt,prompt\na,b\n', 'operation=kontext.text2img');
    expect(header.body.error.issues).toEqual([
      { path: 'line 1', message: 'header column "prompt" appears twice' },
    ]);
    const empty = await postCsv<ErrorBody>('', 'operation=kontext.text2img');
    expect(empty.status).toBe(400);
    const noRows = await postCsv<ErrorBody>('prompt\n', 'operation=kontext.text2img');
    expect(noRows.body.error.issues).toEqual([{ path: 'items', message: 'the batch has no items' }]);
  });

  it('answers 413 too_many_items beyond 50,000 rows, for CSV and JSON, and writes nothing', async () => {
    const before = (await redis.keys(`${prefix}:batch:*`)).length;
    const rows = Array.from({ length: 50_001 }, (_, i) => `limit prompt ${i}`);
    const csv = await postCsv<ErrorBody>(`prompt\n${rows.join('\n')}\n`, 'operation=kontext.text2img');
    expect(csv.status).toBe(413);
    expect(csv.body.error).toEqual({ code: 'too_many_items', message: 'a batch holds at most 50000 items' });
    const json = await postJson<ErrorBody>({ operation: 'kontext.text2img', prompts: rows });
    expect(json.status).toBe(413);
    expect(json.body.error.code).toBe('too_many_items');
    expect((await redis.keys(`${prefix}:batch:*`)).length).toBe(before);
    // The connection is still usable after an answer given before the body was read.
    expect((await send('GET', '/v1/batches/b_00000000000000000000')).status).toBe(404);
  });

  it('takes Idempotency-Key: the same request replays the first batch (200), another is 422', async () => {
    const post = async (body: unknown, key: string) => {
      const response = await request(`${api.url}/v1/batches`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify(body),
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        body: (await response.body.json()) as { id?: string; total?: number; error?: { code: string } },
      };
    };
    const key = `batch-key-${prefix}`;
    const body = { operation: 'kontext.text2img', prompts: ['idempotent one', 'idempotent two'] };
    const first = await post(body, key);
    expect(first.status).toBe(202);
    const again = await post(body, key);
    expect(again).toMatchObject({ status: 200, body: { id: first.body.id, total: 2 } });
    expect(again.headers['idempotent-replayed']).toBe('true');
    const changed = await post({ ...body, prompts: ['something else'] }, key);
    expect(changed).toMatchObject({ status: 422, body: { error: { code: 'idempotency_key_reused' } } });
    // One batch, its two items queued once.
    expect((await jobsOf(String(first.body.id))).map((j) => j.state)).toEqual(['queued', 'queued']);
  });

  it('reads NDJSON: envelopes and bare inputs, blank lines, and bad lines as bad rows', async () => {
    const lines = [
      '{"input":{"prompt":"enveloped"},"metadata":{"n":1}}',
      '',
      '{"prompt":"bare","aspectRatio":"3:2"}',
      'not json',
      '[1,2]',
      '{"input":{"prompt":""}}',
      '{"prompt":"last"}',
    ].join('\r\n');
    const refused = await postNdjson<ErrorBody>(lines, 'operation=kontext.text2img');
    expect(refused.status).toBe(400);
    expect(refused.body.error.rejected!.map((r) => [r.row, r.line, r.issues[0]!.path])).toEqual([
      [3, 4, 'item'],
      [4, 5, 'item'],
      [5, 6, 'input.prompt'],
    ]);
    expect(refused.body.error.issues!.map((i) => i.path)).toEqual([
      'rows[3]',
      'rows[4]',
      'rows[5].input.prompt',
    ]);

    const accepted = await postNdjson<{ id: string; total: number; rejected: Rejected[] }>(
      lines,
      'operation=kontext.text2img&skipInvalid=1&set.imgCount=2',
    );
    expect(accepted.status).toBe(202);
    expect(accepted.body.total).toBe(3);
    expect(accepted.body.rejected).toHaveLength(3);
    const jobs = await jobsOf(accepted.body.id);
    expect(jobs.map((j) => [j.input, j.metadata])).toEqual([
      [{ imgCount: 2, prompt: 'enveloped' }, { n: 1 }],
      [{ imgCount: 2, prompt: 'bare', aspectRatio: '3:2' }, undefined],
      [{ imgCount: 2, prompt: 'last' }, undefined],
    ]);
  });

  it('takes JSON items with metadata, reports bad items by index, and accepts skipInvalid as a query parameter', async () => {
    const body = {
      operation: 'kontext.img2img',
      defaults: { model: 'max' },
      items: [
        {
          input: { prompt: 'edit one', image_list: ['https://images.example.test/a.png'] },
          metadata: { sku: 'A' },
        },
        { input: { prompt: 'edit two', image_list: ['http://169.254.169.254/latest/meta-data'] } },
        { input: { prompt: 'edit three' } },
        'not an item',
        { input: { prompt: 'edit five', image_list: ['https://images.example.test/b.png'] }, extra: 1 },
        { input: { prompt: 'edit six', image_list: ['https://images.example.test/c.png'] } },
      ],
    };
    const refused = await postJson<ErrorBody>(body);
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues!.map((i) => i.path)).toEqual([
      'items[1].input.image_list[0]',
      'items[2].input.image_list',
      'items[3]',
      'items[4]',
    ]);
    expect(refused.body.error.issues![0]!.message).toMatch(/private address/);
    expect(refused.body.error.rejected!.map((r) => r.row)).toEqual([2, 3, 4, 5]);

    const accepted = await postJson<{ id: string; total: number; rejected: Rejected[] }>(
      body,
      '?skipInvalid=true',
    );
    expect(accepted.status).toBe(202);
    expect(accepted.body.total).toBe(2);
    const jobs = await jobsOf(accepted.body.id);
    const [first, second] = await store.batchItemIds(accepted.body.id, 0, 2);
    expect(jobs.map((j) => [j.id, j.input.prompt, j.metadata])).toEqual([
      [first, 'edit one', { sku: 'A' }],
      [second, 'edit six', undefined],
    ]);
    expect(jobs[0]!.input).toMatchObject({ model: 'max' });
  });

  it('refuses bad settings before reading items: provider, operation, webhook, defaults, query, media type', async () => {
    const provider = await postJson<ErrorBody>({ provider: 'nope', operation: 'x', prompts: ['a'] });
    expect(provider.status).toBe(400);
    expect(provider.body.error.issues![0]).toEqual({
      path: 'provider',
      message: expect.stringContaining('valid providers: liblib'),
    });
    const operation = await postCsv<ErrorBody>('prompt\na\n', 'operation=kontext.nope');
    expect(operation.status).toBe(400);
    expect(operation.body.error.issues![0]!.message).toMatch(/valid operations: .*kontext\.text2img/);

    const webhook = await postJson<ErrorBody>({
      operation: 'kontext.text2img',
      prompts: ['a'],
      webhookUrl: 'http://10.0.0.5/hook',
    });
    expect(webhook.body.error.issues).toEqual([
      { path: 'webhookUrl', message: expect.stringMatching(/URL refused/) },
    ]);
    const defaults = await postJson<ErrorBody>({
      operation: 'kontext.img2img',
      defaults: { image_list: ['http://127.0.0.1:6379/'] },
      prompts: ['a'],
    });
    expect(defaults.body.error.issues).toEqual([
      { path: 'defaults.image_list[0]', message: expect.stringMatching(/URL refused/) },
    ]);
    const both = await postJson<ErrorBody>({ operation: 'kontext.text2img', prompts: ['a'], items: [] });
    expect(both.body.error.issues).toEqual([
      { path: 'items', message: 'send exactly one of items and prompts' },
    ]);
    const events = await postJson<ErrorBody>({
      operation: 'kontext.text2img',
      prompts: ['a'],
      events: ['job.failed'],
    });
    expect(events.body.error.issues![0]!.path).toBe('events');
    const typo = await postCsv<ErrorBody>(
      'prompt\na\n',
      'operation=kontext.text2img&webhook_url=https://x.test/',
    );
    expect(typo.status).toBe(400);
    expect(typo.body.error.issues![0]!.message).toMatch(/webhook_url/);
    const budget = await postCsv<ErrorBody>('prompt\na\n', 'operation=kontext.text2img&maxPoints=-3');
    expect(budget.body.error.issues![0]!.path).toBe('maxPoints');
    const badDefaults = await postNdjson<ErrorBody>(
      '{"prompt":"a"}',
      `operation=kontext.text2img&defaults=${encodeURIComponent('{oops')}`,
    );
    expect(badDefaults.body.error.issues).toEqual([{ path: 'defaults', message: 'must be a JSON object' }]);
    const media = await send<ErrorBody>('POST', '/v1/batches', 'a,b', 'text/plain');
    expect(media.status).toBe(415);

    // A webhook with events is accepted when public, and kept on the batch.
    const ok = await postCsv<{ id: string }>(
      'prompt\nwith hook\n',
      'operation=kontext.text2img&webhookUrl=https://hooks.example.test/genqueue&events=job.failed&maxPoints=50',
    );
    expect(ok.status).toBe(202);
    const record = await store.getBatch(ok.body.id);
    expect(record).toMatchObject({
      webhookUrl: 'https://hooks.example.test/genqueue',
      events: ['job.failed'],
      maxPoints: 50,
    });
  });

  it('lists with bounded work per page, validates the listing query, and 404s unknown batches', async () => {
    const created = await postJson<{ id: string; total: number }>({
      operation: 'kontext.text2img',
      prompts: Array.from({ length: 6_000 }, (_, i) => `listing prompt ${i}`),
    });
    expect(created.status).toBe(202);
    const id = created.body.id;
    // Nothing has run, so a filter on `succeeded` stops after 5,000 items and says where to go on.
    const firstPage = await send<Page>('GET', `/v1/batches/${id}/jobs?state=succeeded`);
    expect(firstPage.body).toEqual({ items: [], nextCursor: '5000' });
    const lastPage = await send<Page>('GET', `/v1/batches/${id}/jobs?state=succeeded&cursor=5000`);
    expect(lastPage.body).toEqual({ items: [], nextCursor: null });
    const queued = await send<Page>('GET', `/v1/batches/${id}/jobs?state=queued,running&cursor=5998`);
    expect(queued.body.items.map((j) => j.id)).toEqual(await store.batchItemIds(id, 5998, 6000));
    expect(queued.body.nextCursor).toBeNull();
    const unfiltered = await send<Page>('GET', `/v1/batches/${id}/jobs`);
    expect(unfiltered.body.items).toHaveLength(100);
    expect(unfiltered.body.nextCursor).toBe('100');

    for (const query of [
      'limit=0',
      'limit=1001',
      'limit=x',
      'state=done',
      'cursor=-1',
      'cursor=abc',
      'sort=asc',
    ]) {
      const { status, body } = await send<ErrorBody>('GET', `/v1/batches/${id}/jobs?${query}`);
      expect({ query, status, code: body.error.code }).toEqual({
        query,
        status: 400,
        code: 'invalid_request',
      });
    }
    for (const path of [
      '/v1/batches/b_0000000000000000000000',
      '/v1/batches/nope/jobs',
      '/v1/batches/j_0000000000000000/cancel',
    ]) {
      const method = path.endsWith('cancel') ? 'POST' : 'GET';
      expect((await send<ErrorBody>(method, path)).status).toBe(404);
    }
  });

  it('cancels a batch: queued jobs end canceled and leave the submit queue; a done batch is a conflict', async () => {
    const created = await postJson<{ id: string }>({
      operation: 'kontext.text2img',
      prompts: Array.from({ length: 10 }, (_, i) => `cancel prompt ${i}`),
    });
    const id = created.body.id;
    const submit = queues.submitQueue('liblib');
    const [fourth] = await store.batchItemIds(id, 3, 4);
    expect(await submit.getJob(fourth!)).toBeDefined();

    const canceled = await send<{ id: string; canceled: number }>('POST', `/v1/batches/${id}/cancel`);
    expect(canceled).toEqual({ status: 202, body: { id, canceled: 10 } });
    const view = (await send<BatchView>('GET', `/v1/batches/${id}`)).body;
    expect(view).toMatchObject({ done: true, canceledReason: 'batch canceled by user' });
    expect(view.counts.canceled).toBe(10);
    expect(view.finishedAt).toBeDefined();
    const jobs = await jobsOf(id);
    expect(jobs.every((j) => j.state === 'canceled' && j.error?.code === 'canceled')).toBe(true);
    expect(await submit.getJob(fourth!)).toBeUndefined();

    const again = await send<ErrorBody>('POST', `/v1/batches/${id}/cancel`);
    expect(again.status).toBe(409);
  });
});
