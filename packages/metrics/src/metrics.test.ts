import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsCollector } from './collector.ts';
import { metricKeys } from './internal/keys.ts';
import { RedisMetrics } from './redis-metrics.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let redis: Redis;
const prefixes: string[] = [];

function newPrefix(): string {
  const prefix = `{gqtest-metrics-${randomBytes(4).toString('hex')}}`;
  prefixes.push(prefix);
  return prefix;
}

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = metricKeys(prefix);
    await redis.del(keys.counters, keys.gauges, keys.histograms);
  }
  redis.disconnect();
});

function collector(prefix: string, inFlight = 3) {
  return new MetricsCollector({
    redis,
    prefix,
    queues: [{ name: 'poll', getJobCounts: async () => ({ waiting: 2, delayed: 1 }) }],
    providers: [{ provider: 'liblib', inFlight: async () => inFlight, maxInFlight: 5, submitQps: 1 }],
  });
}

describe('RedisMetrics → MetricsCollector', () => {
  it('adds up what several recorders sent, and renders cumulative histogram buckets', async () => {
    const prefix = newPrefix();
    const a = new RedisMetrics({ redis, prefix, flushIntervalMs: 0 });
    const b = new RedisMetrics({ redis, prefix, flushIntervalMs: 0 });
    a.submission('liblib', 'accepted', 'provider');
    a.submission('liblib', 'accepted', 'provider');
    b.submission('liblib', 'accepted', 'provider');
    b.submission('liblib', 'concurrency_limited', 'gate');
    a.generationTime('liblib', 1_500); // bucket 2
    b.generationTime('liblib', 25_000); // bucket 30
    a.sinkStored(1_000);
    b.sinkStored(24);
    a.taskCost('liblib', 58, 99_942);
    b.taskCost('liblib', 29, 99_913);
    await a.close();
    await b.close();

    const text = await collector(prefix).metrics();
    expect(text).toContain(
      'genqueue_submissions_total{provider="liblib",outcome="accepted",source="provider"} 3',
    );
    expect(text).toContain(
      'genqueue_submissions_total{provider="liblib",outcome="concurrency_limited",source="gate"} 1',
    );
    expect(text).toContain('genqueue_generation_duration_seconds_bucket{provider="liblib",le="1"} 0');
    expect(text).toContain('genqueue_generation_duration_seconds_bucket{provider="liblib",le="2"} 1');
    expect(text).toContain('genqueue_generation_duration_seconds_bucket{provider="liblib",le="20"} 1');
    expect(text).toContain('genqueue_generation_duration_seconds_bucket{provider="liblib",le="30"} 2');
    expect(text).toContain('genqueue_generation_duration_seconds_bucket{provider="liblib",le="+Inf"} 2');
    expect(text).toContain('genqueue_generation_duration_seconds_sum{provider="liblib"} 26.5');
    expect(text).toContain('genqueue_generation_duration_seconds_count{provider="liblib"} 2');
    expect(text).toContain('genqueue_sink_bytes_total 1024');
    expect(text).toContain('genqueue_provider_points_spent_total{provider="liblib"} 87');
    // a gauge keeps the value seen last
    expect(text).toContain('genqueue_provider_account_balance{provider="liblib"} 99913');
    expect(text).toContain('genqueue_queue_jobs{queue="poll",state="waiting"} 2');
    expect(text).toContain('genqueue_queue_jobs{queue="poll",state="active"} 0');
    expect(text).toContain('genqueue_provider_tasks_in_flight{provider="liblib"} 3');
    expect(text).toContain('genqueue_provider_max_in_flight{provider="liblib"} 5');
    expect(text).toContain('# TYPE genqueue_slot_release_delay_seconds histogram');
  });

  it('sends buffered figures on its own timer', async () => {
    const prefix = newPrefix();
    const metrics = new RedisMetrics({ redis, prefix, flushIntervalMs: 20 });
    metrics.webhookDelivered('delivered');
    const field = 'genqueue_webhook_deliveries_total{"outcome":"delivered"}';
    for (let i = 0; i < 200 && !(await redis.hget(metricKeys(prefix).counters, field)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await redis.hget(metricKeys(prefix).counters, field)).toBe('1');
    await metrics.close();
  });

  it('never throws into the caller: bad values are ignored, a dead Redis is logged', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    dead.on('error', () => undefined);
    const warnings: string[] = [];
    const metrics = new RedisMetrics({
      redis: dead,
      prefix: newPrefix(),
      flushIntervalMs: 0,
      logger: { warn: (_o, message) => warnings.push(message) },
    });
    metrics.generationTime('liblib', Number.NaN);
    metrics.inc('submissions', { provider: 'x' }, -1);
    metrics.sinkStored(10);
    await expect(metrics.close()).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    dead.disconnect();
  });
});
