/**
 * `MetricsCollector`: the API side. At each scrape it reads the workers' figures from Redis (one
 * pipeline of two HGETALLs) and the live figures (BullMQ job counts per queue, each provider's
 * account states), and renders them with prom-client in the Prometheus text format.
 */
import { type Metric, Registry } from 'prom-client';
import { LIVE_METRICS, PAUSE_KINDS, REMOTE_METRICS, type RemoteMetricSpec } from './catalog.ts';
import { formatBound, metricKeys, PART_SEPARATOR, parseSeriesField } from './internal/keys.ts';

/** The part of ioredis the collector uses. */
export interface MetricsRedis {
  pipeline(): { hgetall(key: string): unknown; exec(): Promise<[Error | null, unknown][] | null> };
}

/** A queue whose depth is reported (a BullMQ `Queue` fits). */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

/** One account's live figures; an `AccountPool.accountStates()` entry fits. */
export interface AccountGauge {
  id: string;
  /** Live leases. */
  inFlight: number;
  /** Effective limits (a runtime change, else the configured value). */
  submitQps: number;
  maxInFlight: number;
  pause: { paused: false } | { paused: true; manual: boolean };
  /** Points the provider kept for this account's ended tasks. */
  pointsSpent: number;
  /** The last balance the provider reported, if any. */
  balance?: { value: number };
}

/** A provider and its accounts' live figures (`AccountPool.accountStates()`). */
export interface ProviderGauge {
  provider: string;
  accountStates(): Promise<readonly AccountGauge[]>;
}

/** Options of {@link MetricsCollector}. */
export interface MetricsCollectorOptions {
  /** Where the workers record (`RedisMetrics` with the same prefix). */
  redis: MetricsRedis;
  /** The deployment's key prefix (`QUEUE_PREFIX`). */
  prefix: string;
  /** Every queue of the deployment. */
  queues: readonly CountableQueue[];
  /** One entry per configured provider. */
  providers: readonly ProviderGauge[];
}

/** The BullMQ states reported per queue. */
export const QUEUE_STATES = [
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'waiting-children',
  'paused',
  'completed',
  'failed',
] as const;

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Snapshot {
  counters: Record<string, string>;
  histograms: Record<string, string>;
  accounts: { provider: string; states: readonly AccountGauge[] }[];
}

const EMPTY: Snapshot = { counters: {}, histograms: {}, accounts: [] };

/**
 * A prom-client metric whose samples are computed at scrape time. prom-client's registry only
 * calls `get()` (and `reset()`), so a plain object serves; its built-in classes cannot be given
 * precomputed histogram buckets.
 */
class ComputedMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly samples: () => Promise<Sample[]> | Sample[],
  ) {}
  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: await this.samples(),
    };
  }
  reset(): void {}
}

/** Renders the deployment's metrics. Holds no connections of its own. */
export class MetricsCollector {
  /** The prom-client registry (for its `contentType`, or to register more metrics). */
  readonly registry = new Registry();
  private snapshot: Snapshot = EMPTY;

  constructor(private readonly options: MetricsCollectorOptions) {
    for (const spec of Object.values(REMOTE_METRICS) as RemoteMetricSpec[]) {
      this.register(new ComputedMetric(spec.name, spec.help, spec.type, () => this.remoteSamples(spec)));
    }
    const { queueJobs } = LIVE_METRICS;
    this.register(
      new ComputedMetric(queueJobs.name, queueJobs.help, queueJobs.type, async () => {
        const counts = await Promise.all(options.queues.map((q) => q.getJobCounts(...QUEUE_STATES)));
        return options.queues.flatMap((queue, i) =>
          QUEUE_STATES.map((state) => ({
            labels: { queue: queue.name, state },
            value: counts[i]?.[state] ?? 0,
          })),
        );
      }),
    );
    // Per account, from the one read of every pool's state at the start of the scrape.
    const perAccount = (
      spec: { name: string; help: string; type: 'counter' | 'gauge' },
      samples: (state: AccountGauge) => { labels?: Record<string, string>; value: number }[],
    ) =>
      this.register(
        new ComputedMetric(spec.name, spec.help, spec.type, () =>
          this.snapshot.accounts.flatMap(({ provider, states }) =>
            states.flatMap((state) =>
              samples(state).map(({ labels, value }) => ({
                labels: { provider, account: state.id, ...labels },
                value,
              })),
            ),
          ),
        ),
      );
    const live = LIVE_METRICS;
    perAccount(live.tasksInFlight, (s) => [{ value: s.inFlight }]);
    perAccount(live.maxInFlight, (s) => [{ value: s.maxInFlight }]);
    perAccount(live.submitQps, (s) => [{ value: s.submitQps }]);
    perAccount(live.accountPaused, (s) =>
      PAUSE_KINDS.map((kind) => ({
        labels: { kind },
        value: s.pause.paused && (kind === 'manual') === s.pause.manual ? 1 : 0,
      })),
    );
    perAccount(live.pointsSpent, (s) => [{ value: s.pointsSpent }]);
    perAccount(live.accountBalance, (s) => (s.balance ? [{ value: s.balance.value }] : []));
    const { allAccountsPaused } = live;
    this.register(
      new ComputedMetric(allAccountsPaused.name, allAccountsPaused.help, allAccountsPaused.type, () =>
        this.snapshot.accounts.map(({ provider, states }) => ({
          labels: { provider },
          value: states.length > 0 && states.every((s) => s.pause.paused) ? 1 : 0,
        })),
      ),
    );
  }

  /** The Content-Type of {@link metrics}' answer. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads everything and renders it in the Prometheus text exposition format. */
  async metrics(): Promise<string> {
    this.snapshot = await this.read();
    return this.registry.metrics();
  }

  private register(metric: ComputedMetric): void {
    // See ComputedMetric: the registry needs only name, get() and reset().
    this.registry.registerMetric(metric as unknown as Metric);
  }

  private async read(): Promise<Snapshot> {
    const keys = metricKeys(this.options.prefix);
    const pipeline = this.options.redis.pipeline();
    pipeline.hgetall(keys.counters);
    pipeline.hgetall(keys.histograms);
    const [results, accounts] = await Promise.all([
      pipeline.exec().then((r) => r ?? []),
      Promise.all(
        this.options.providers.map(async (p) => ({ provider: p.provider, states: await p.accountStates() })),
      ),
    ]);
    const hash = (i: number): Record<string, string> => {
      const [error, value] = results[i] ?? [null, {}];
      if (error) throw error;
      return (value ?? {}) as Record<string, string>;
    };
    return { counters: hash(0), histograms: hash(1), accounts };
  }

  private remoteSamples(spec: RemoteMetricSpec): Sample[] {
    if (spec.type === 'histogram') return histogramSamples(spec, this.snapshot.histograms);
    const hash = this.snapshot.counters;
    const samples: Sample[] = [];
    for (const [field, raw] of Object.entries(hash)) {
      const parsed = parseSeriesField(field);
      const value = Number(raw);
      if (parsed?.name === spec.name && Number.isFinite(value))
        samples.push({ labels: parsed.labels, value });
    }
    return samples;
  }
}

/** Turns per-bucket counts into Prometheus' cumulative `_bucket`, `_sum` and `_count` samples. */
function histogramSamples(spec: RemoteMetricSpec, hash: Record<string, string>): Sample[] {
  const series = new Map<string, { labels: Record<string, string>; parts: Map<string, number> }>();
  for (const [field, raw] of Object.entries(hash)) {
    const cut = field.lastIndexOf(PART_SEPARATOR);
    if (cut < 0) continue;
    const parsed = parseSeriesField(field.slice(0, cut));
    if (parsed?.name !== spec.name) continue;
    const key = field.slice(0, cut);
    const entry = series.get(key) ?? { labels: parsed.labels, parts: new Map<string, number>() };
    entry.parts.set(field.slice(cut + 1), Number(raw) || 0);
    series.set(key, entry);
  }
  const bounds = [...(spec.buckets ?? []), Number.POSITIVE_INFINITY];
  const samples: Sample[] = [];
  for (const { labels, parts } of series.values()) {
    let cumulative = 0;
    for (const bound of bounds) {
      const le = formatBound(bound);
      cumulative += parts.get(le) ?? 0;
      samples.push({ metricName: `${spec.name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    samples.push({ metricName: `${spec.name}_sum`, labels, value: parts.get('sum') ?? 0 });
    samples.push({ metricName: `${spec.name}_count`, labels, value: parts.get('count') ?? cumulative });
  }
  return samples;
}
