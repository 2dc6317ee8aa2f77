import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountGauge, MetricsCollector } from './collector.ts';
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
    await redis.del(keys.counters, keys.histograms);
  }
  redis.disconnect();
});

/** Two LiblibAI accounts as `AccountPool.accountStates()` reports them. */
const ACCOUNTS: AccountGauge[] = [
  {
    id: 'main',
    inFlight: 3,
    submitQps: 0.5, // changed at runtime from the configured 1
    maxInFlight: 5,
    pause: { paused: false },
    pointsSpent: 87,
    balance: { value: 99_913 },
  },
  {
    id: 'team2',
    inFlight: 0,
    submitQps: 1,
    maxInFlight: 5,
    pause: { paused: true, manual: false },
    pointsSpent: 0,
  },
];

function collector(prefix: string, accounts: AccountGauge[] = ACCOUNTS) {
  return new MetricsCollector({
    redis,
    prefix,
    queues: [{ name: 'poll', getJobCounts: async () => ({ waiting: 2, delayed: 1 }) }],
    providers: [{ provider: 'liblib', accountStates: async () => accounts }],
  });
}

describe('RedisMetrics → MetricsCollector', () => {
  it('adds up what several recorders sent, and renders cumulative histogram buckets', async () => {
    const prefix = newPrefix();
    const a = new RedisMetrics({ redis, prefix, flushIntervalMs: 0 });
    const b = new RedisMetrics({ redis, prefix, flushIntervalMs: 0 });
    a.submission('liblib', 'main', 'accepted', 'provider');
    a.submission('liblib', 'main', 'accepted', 'provider');
    b.submission('liblib', 'main', 'accepted', 'provider');
    b.submission('liblib', 'team2', 'accepted', 'provider');
    b.submission('liblib', '*', 'concurrency_limited', 'gate');
    a.generationTime('liblib', 'main', 1_500); // bucket 2
    b.generationTime('liblib', 'main', 25_000); // bucket 30
    a.sinkStored(1_000);
    b.sinkStored(24);
    a.runningAnswer('liblib', 'main', true);
    b.runningAnswer('liblib', 'main', true);
    b.runningAnswer('liblib', 'main', false);
    await a.close();
    await b.close();

    const text = await collector(prefix).metrics();
    const series = 'provider="liblib",account="main"';
    expect(text).toContain(`genqueue_submissions_total{${series},outcome="accepted",source="provider"} 3`);
    expect(text).toContain(
      'genqueue_submissions_total{provider="liblib",account="team2",outcome="accepted",source="provider"} 1',
    );
    expect(text).toContain(
      'genqueue_submissions_total{provider="liblib",account="*",outcome="concurrency_limited",source="gate"} 1',
    );
    expect(text).toContain(`genqueue_generation_duration_seconds_bucket{${series},le="1"} 0`);
    expect(text).toContain(`genqueue_generation_duration_seconds_bucket{${series},le="2"} 1`);
    expect(text).toContain(`genqueue_generation_duration_seconds_bucket{${series},le="20"} 1`);
    expect(text).toContain(`genqueue_generation_duration_seconds_bucket{${series},le="30"} 2`);
    expect(text).toContain(`genqueue_generation_duration_seconds_bucket{${series},le="+Inf"} 2`);
    expect(text).toContain(`genqueue_generation_duration_seconds_sum{${series}} 26.5`);
    expect(text).toContain(`genqueue_generation_duration_seconds_count{${series}} 2`);
    expect(text).toContain('genqueue_sink_bytes_total 1024');
    expect(text).toContain(`genqueue_status_running_answers_total{${series},reported="true"} 2`);
    expect(text).toContain(`genqueue_status_running_answers_total{${series},reported="false"} 1`);
    expect(text).toContain('genqueue_queue_jobs{queue="poll",state="waiting"} 2');
    expect(text).toContain('genqueue_queue_jobs{queue="poll",state="active"} 0');
    expect(text).toContain('# TYPE genqueue_slot_release_delay_seconds histogram');
  });

  it('shows each account’s live state: leases, effective limits, pause, points and balance', async () => {
    const text = await collector(newPrefix()).metrics();
    const main = 'provider="liblib",account="main"';
    const team2 = 'provider="liblib",account="team2"';
    expect(text).toContain(`genqueue_provider_tasks_in_flight{${main}} 3`);
    expect(text).toContain(`genqueue_provider_tasks_in_flight{${team2}} 0`);
    expect(text).toContain(`genqueue_provider_max_in_flight{${main}} 5`);
    expect(text).toContain(`genqueue_provider_submit_qps_limit{${main}} 0.5`);
    expect(text).toContain(`genqueue_provider_submit_qps_limit{${team2}} 1`);
    expect(text).toContain('# TYPE genqueue_provider_points_spent_total counter');
    expect(text).toContain(`genqueue_provider_points_spent_total{${main}} 87`);
    expect(text).toContain(`genqueue_provider_account_balance{${main}} 99913`);
    // No balance reported yet: no series rather than a made-up 0.
    expect(text).not.toContain(`genqueue_provider_account_balance{${team2}}`);
    expect(text).toContain(`genqueue_provider_account_paused{${main},kind="account_error"} 0`);
    expect(text).toContain(`genqueue_provider_account_paused{${main},kind="manual"} 0`);
    expect(text).toContain(`genqueue_provider_account_paused{${team2},kind="account_error"} 1`);
    expect(text).toContain(`genqueue_provider_account_paused{${team2},kind="manual"} 0`);
    expect(text).toContain('genqueue_provider_all_accounts_paused{provider="liblib"} 0');

    const allPaused = ACCOUNTS.map((a) => ({ ...a, pause: { paused: true as const, manual: true } }));
    const paused = await collector(newPrefix(), allPaused).metrics();
    expect(paused).toContain(`genqueue_provider_account_paused{${main},kind="manual"} 1`);
    expect(paused).toContain(`genqueue_provider_account_paused{${main},kind="account_error"} 0`);
    expect(paused).toContain('genqueue_provider_all_accounts_paused{provider="liblib"} 1');
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
    metrics.generationTime('liblib', 'default', Number.NaN);
    metrics.inc('submissions', { provider: 'x' }, -1);
    metrics.sinkStored(10);
    await expect(metrics.close()).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    dead.disconnect();
  });
});
