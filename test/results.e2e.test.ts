/**
 * The result files: a 1,000-job batch run through the pipeline against the simulator, then
 * `results.jsonl` read line by line and `results.csv` row by row, each compared with the job views.
 */
import type { BatchView, JobView } from '@genqueue/core';
import { parse } from 'csv-parse/sync';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultLine } from '../apps/api/src/routes/results.ts';
import { type Stack, startStack, TEST_TOKEN } from './support/stack.ts';

const COUNT = 1_000;
let stack: Stack;
let batchId: string;

/** A view's output without its URL, which a presigned URL's signing time may change. */
const stable = (o: { bucket: string; key: string; sha256: string; bytes: number; contentType: string }) => ({
  bucket: o.bucket,
  key: o.key,
  sha256: o.sha256,
  bytes: o.bytes,
  contentType: o.contentType,
});

beforeAll(async () => {
  stack = await startStack({
    sim: {
      submitQps: 400,
      maxInFlight: 100,
      latencyMs: { min: 5, max: 20 },
      imageSize: { width: 32, height: 32 },
    },
    env: {
      SUBMIT_MARGIN_MS: '1',
      LIBLIB_SUBMIT_QPS: '400',
      LIBLIB_MAX_IN_FLIGHT: '100',
      SINK_CONCURRENCY: '8',
    },
  });
  const prompts = Array.from({ length: COUNT }, (_, i) => (i === 3 ? '=1+1, "quoted"' : `result ${i}`));
  const created = await stack.call<{ id: string }>('POST', '/v1/batches', {
    operation: 'kontext.text2img',
    prompts,
  });
  expect(created.status).toBe(202);
  batchId = created.body.id;
  await stack.waitFor(
    async () => (await stack.call<BatchView>('GET', `/v1/batches/${batchId}`)).body.done,
    150_000,
    'the 1,000-job batch to finish',
  );
}, 180_000);

afterAll(async () => {
  await stack?.close();
});

async function fetchText(
  path: string,
  token = TEST_TOKEN,
): Promise<{ status: number; type?: string; text: string }> {
  const res = await request(`${stack.api.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, type: res.headers['content-type'] as string, text: await res.body.text() };
}

async function jobViews(): Promise<JobView[]> {
  const views: JobView[] = [];
  let cursor: string | null = '0';
  while (cursor !== null) {
    const page: { status: number; body: { items: JobView[]; nextCursor: string | null } } = await stack.call(
      'GET',
      `/v1/batches/${batchId}/jobs?limit=1000&cursor=${cursor}`,
    );
    views.push(...page.body.items);
    cursor = page.body.nextCursor;
  }
  return views;
}

describe('GET /v1/batches/:id/results.jsonl', () => {
  it('has one parseable line per job, in submission order, matching the job views', async () => {
    const { status, type, text } = await fetchText(`/v1/batches/${batchId}/results.jsonl`);
    expect(status).toBe(200);
    expect(type).toMatch(/^application\/x-ndjson/);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const parsed = lines.map((line) => JSON.parse(line) as ResultLine);
    const views = await jobViews();
    const ids = await stack.itemIds(batchId);
    expect(parsed).toHaveLength(COUNT);
    expect(parsed.map((l) => l.id)).toEqual(views.map((v) => v.id));
    for (const [i, line] of parsed.entries()) {
      const view = views[i]!;
      expect(line.id).toBe(ids[i]);
      expect(line.state).toBe(view.state);
      expect(line.input).toEqual(view.input);
      expect(line.pointsCost).toBe(view.pointsCost);
      expect(line.error).toEqual(view.error ? { code: view.error.code, message: view.error.message } : null);
      expect(line.outputs.map(stable)).toEqual(view.outputs.map(stable));
      expect(line.outputs.map((o) => o.seed)).toEqual(view.outputs.map((o) => o.seed ?? null));
      for (const output of line.outputs) expect(new URL(output.url).pathname).toContain(output.key);
    }
    expect(parsed.filter((l) => l.state === 'succeeded').length).toBeGreaterThan(COUNT * 0.9);
  });

  it('answers 404 for an unknown batch and 401 without a token', async () => {
    expect((await fetchText('/v1/batches/b_0000000000000000000000/results.jsonl')).status).toBe(404);
    expect((await fetchText(`/v1/batches/${batchId}/results.xml`)).status).toBe(404);
    expect((await fetchText(`/v1/batches/${batchId}/results.jsonl`, 'wrong-token')).status).toBe(401);
  });
});

describe('GET /v1/batches/:id/results.csv', () => {
  it('has a header and one row per job with the same fields flattened', async () => {
    const { status, type, text } = await fetchText(`/v1/batches/${batchId}/results.csv`);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/csv/);
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(COUNT);
    const views = await jobViews();
    for (const [i, row] of rows.entries()) {
      const view = views[i]!;
      expect(row.id).toBe(view.id);
      expect(row.state).toBe(view.state);
      expect(JSON.parse(row.input!)).toEqual(view.input);
      expect(row.output_keys).toBe(view.outputs.map((o) => o.key).join(' '));
      expect(row.output_sha256).toBe(view.outputs.map((o) => o.sha256).join(' '));
    }
    // Quotes and commas survive; a leading `=` is neutralised for spreadsheets.
    expect(rows[3]!.prompt).toBe(`'=1+1, "quoted"`);
    expect(JSON.parse(rows[3]!.input!)).toEqual({ ...views[3]!.input, prompt: '=1+1, "quoted"' });
  });
});
