/**
 * `GET /metrics` end to end: jobs run through the whole pipeline, then one scrape of the API shows
 * what the workers recorded (through Redis) and the live queue and limiter figures, in a valid
 * Prometheus text exposition, behind a bearer token.
 */
import { startApi } from '@genqueue/api';
import { loadConfig } from '@genqueue/config';
import { limiterKeyPrefix, QUEUE, silentLogger, submitQueueName } from '@genqueue/core';
import { AccountPool } from '@genqueue/limiter';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, TEST_TOKEN } from './support/stack.ts';

let stack: Stack;
const JOBS = 3;

beforeAll(async () => {
  stack = await startStack({ sim: { submitQps: 5, maxInFlight: 5, latencyMs: { min: 200, max: 400 } } });
});

afterAll(async () => {
  await stack?.close();
});

async function scrape(baseUrl: string, token?: string) {
  const response = await request(`${baseUrl}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return {
    status: response.statusCode,
    contentType: String(response.headers['content-type']),
    text: await response.body.text(),
  };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;

/**
 * A strict reader of the Prometheus text format 0.0.4: every line is a HELP, a TYPE or a sample;
 * each family has HELP and TYPE before its samples; sample names belong to a declared family
 * (`_bucket`/`_sum`/`_count` for histograms); labels and values parse. Throws on anything else.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      expect(name).toMatch(NAME);
      if (kind === 'HELP') {
        expect(rest!.length).toBeGreaterThan(0);
        helped.add(name!);
      } else {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(rest);
        expect(types.has(name!), `TYPE of ${name} declared twice`).toBe(false);
        types.set(name!, rest!);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a valid exposition line: ${line}`);
    const [, name, rawLabels, rawValue] = sample;
    const labels: Record<string, string> = {};
    if (rawLabels) {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < rawLabels.length) {
        const match = LABEL.exec(rawLabels);
        if (!match) throw new Error(`bad labels in: ${line}`);
        labels[match[1]!] = match[2]!;
      }
    }
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue);
    if (Number.isNaN(value) && rawValue !== 'NaN') throw new Error(`bad value in: ${line}`);
    const family = types.has(name!) ? name! : name!.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(family), `sample ${name} before its TYPE`).toBe(true);
    expect(helped.has(family), `sample ${name} before its HELP`).toBe(true);
    if (family !== name) expect(types.get(family)).toBe('histogram');
    if (name!.endsWith('_bucket')) expect(labels.le).toBeDefined();
    samples.push({ name: name!, labels, value });
  }
  return { types, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe('GET /metrics', () => {
  it('is refused without a valid token', async () => {
    expect((await scrape(stack.api.url)).status).toBe(401);
    expect((await scrape(stack.api.url, 'wrong-token')).status).toBe(401);
  });

  it('exposes what the workers did, the queues and the limits, in valid Prometheus text', async () => {
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
        operation: 'kontext.text2img',
        input: { prompt: `metrics ${i}` },
      });
      expect(posted.status).toBe(202);
      ids.push(posted.body.id);
    }
    await stack.waitFor(
      async () => (await Promise.all(ids.map((id) => stack.job(id)))).every((j) => j.state === 'succeeded'),
      30_000,
      'every job to succeed',
    );

    // Workers flush their figures about once a second: wait for the scrape to show them all.
    const { samples, types, contentType } = await stack.waitFor(
      async () => {
        const scraped = await scrape(stack.api.url, TEST_TOKEN);
        expect(scraped.status).toBe(200);
        const parsed = parseExposition(scraped.text);
        const done =
          value(parsed.samples, 'genqueue_submissions_total', { outcome: 'accepted' }) >= JOBS &&
          value(parsed.samples, 'genqueue_generation_duration_seconds_count') >= JOBS &&
          value(parsed.samples, 'genqueue_sink_objects_total') >= JOBS;
        return done ? { ...parsed, contentType: scraped.contentType } : undefined;
      },
      15_000,
      'the workers’ figures in a scrape',
    );
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    // The single-account configuration is the account `default`: every per-provider series names it.
    const own = { provider: 'liblib', account: 'default' };
    expect(value(samples, 'genqueue_submissions_total', { ...own, outcome: 'accepted' })).toBe(JOBS);
    const perProvider = samples.filter(
      (s) => s.labels.provider !== undefined && s.name !== 'genqueue_provider_all_accounts_paused',
    );
    expect(perProvider.length).toBeGreaterThan(0);
    for (const s of perProvider) {
      expect({ name: s.name, account: s.labels.account }).toEqual({
        name: s.name,
        account: s.labels.account === '*' ? '*' : 'default',
      });
    }
    expect(value(samples, 'genqueue_sink_bytes_total')).toBeGreaterThan(0);
    expect(types.get('genqueue_generation_duration_seconds')).toBe('histogram');
    const generation = value(samples, 'genqueue_generation_duration_seconds_count', own);
    expect(generation).toBeGreaterThanOrEqual(JOBS);
    // cumulative buckets: non-decreasing by bound, ending with +Inf equal to the count
    const buckets = samples
      .filter(
        (s) => s.name === 'genqueue_generation_duration_seconds_bucket' && s.labels.provider === 'liblib',
      )
      .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), value: s.value }));
    expect(buckets.map((b) => b.le)).toEqual([...buckets.map((b) => b.le)].sort((a, b) => a - b));
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)).toEqual({ le: Infinity, value: generation });
    expect(value(samples, 'genqueue_slot_release_delay_seconds_count')).toBeGreaterThanOrEqual(JOBS);
    expect(
      value(samples, 'genqueue_provider_request_duration_seconds_count', { endpoint: 'submit' }),
    ).toBeGreaterThanOrEqual(JOBS);
    expect(
      value(samples, 'genqueue_provider_request_duration_seconds_count', { endpoint: 'status' }),
    ).toBeGreaterThanOrEqual(JOBS);
    // Kontext max costs 58 points an image in the simulator (002 cost table)
    expect(value(samples, 'genqueue_provider_points_spent_total', own)).toBe(58 * JOBS);
    expect(value(samples, 'genqueue_provider_account_balance', own)).toBeGreaterThan(0);

    // queue depth for every queue of the deployment, in every state
    for (const queue of [submitQueueName('liblib'), QUEUE.poll, QUEUE.sink, QUEUE.webhook]) {
      const states = samples.filter((s) => s.name === 'genqueue_queue_jobs' && s.labels.queue === queue);
      expect(states.map((s) => s.labels.state)).toEqual(
        expect.arrayContaining(['waiting', 'active', 'delayed', 'completed', 'failed']),
      );
    }
    expect(
      value(samples, 'genqueue_queue_jobs', { queue: QUEUE.sink, state: 'completed' }),
    ).toBeGreaterThanOrEqual(JOBS);
    expect(value(samples, 'genqueue_provider_tasks_in_flight', own)).toBe(0);
    expect(value(samples, 'genqueue_provider_max_in_flight', own)).toBe(5);
    expect(value(samples, 'genqueue_provider_submit_qps_limit', own)).toBe(5);
    expect(value(samples, 'genqueue_provider_account_paused', own)).toBe(0);
    expect(value(samples, 'genqueue_provider_all_accounts_paused', { provider: 'liblib' })).toBe(0);
  });

  it('shows limits changed at runtime and a paused account, as the pool in Redis has them', async () => {
    // The workers' pool, on the same keys: what an operator's change writes.
    const pool = new AccountPool({
      redis: stack.redis,
      keyPrefix: limiterKeyPrefix(stack.prefix, 'liblib'),
      accounts: [{ id: 'default', submitQps: 5, maxInFlight: 5 }],
    });
    await pool.setLimits('default', { submitQps: 0.5, maxInFlight: 2 });
    await pool.pause('default', '100021: not enough points');
    try {
      const scraped = await scrape(stack.api.url, TEST_TOKEN);
      const { samples } = parseExposition(scraped.text);
      const own = { provider: 'liblib', account: 'default' };
      expect(value(samples, 'genqueue_provider_submit_qps_limit', own)).toBe(0.5);
      expect(value(samples, 'genqueue_provider_max_in_flight', own)).toBe(2);
      expect(value(samples, 'genqueue_provider_account_paused', { ...own, kind: 'account_error' })).toBe(1);
      expect(value(samples, 'genqueue_provider_account_paused', { ...own, kind: 'manual' })).toBe(0);
      expect(value(samples, 'genqueue_provider_all_accounts_paused', { provider: 'liblib' })).toBe(1);
    } finally {
      await pool.setLimits('default', { submitQps: null, maxInFlight: null });
      await pool.resume('default', { manual: true });
    }
  });

  it('takes METRICS_TOKEN when it is set, not an API token (403: a known caller without the right)', async () => {
    const config = loadConfig({ ...stack.env, METRICS_TOKEN: 'metrics-token-0123' });
    const api = await startApi(config, {
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      redis: stack.redis,
    });
    try {
      expect((await scrape(api.url, TEST_TOKEN)).status).toBe(403);
      expect((await scrape(api.url, 'wrong-token')).status).toBe(401);
      const scraped = await scrape(api.url, 'metrics-token-0123');
      expect(scraped.status).toBe(200);
      expect(scraped.text).toContain('# TYPE genqueue_submissions_total counter');
    } finally {
      await api.close();
    }
  });
});
