/**
 * `RedisMetrics`: what a worker process records, sent to Redis in the background so that any API
 * instance can expose the deployment's figures (see `catalog.ts` and `internal/keys.ts`).
 *
 * Recording never touches the network: each call adds to in-memory buffers, and a timer flushes
 * them every `flushIntervalMs` as one pipeline (HINCRBYFLOAT). A failed flush is logged and
 * its increments are dropped (metrics are best effort; retrying could double-count what Redis did
 * apply). No method throws into the processors, whatever its arguments.
 */
import type { RedisClient } from '@genqueue/core';
import {
  type Labels,
  type ProviderEndpoint,
  REMOTE_METRICS,
  type RemoteMetricKey,
  type SubmissionOutcome,
  type SubmissionSource,
  type WebhookOutcome,
} from './catalog.ts';
import { formatBound, metricKeys, PART_SEPARATOR, seriesField } from './internal/keys.ts';

/** The logger calls the recorder makes (a pino logger fits). */
export interface MetricsLogger {
  warn(object: object, message: string): void;
}

/** Options of {@link RedisMetrics}. */
export interface RedisMetricsOptions {
  /** ioredis connection (may be shared with the worker's other commands). */
  redis: RedisClient;
  /** The deployment's key prefix (`QUEUE_PREFIX`); keys are `{name:metrics}:*` (see `metricKeys`). */
  prefix: string;
  /** Where failed flushes are reported. Default: nowhere. */
  logger?: MetricsLogger;
  /** How often buffered figures are sent to Redis, in ms. Default 1000. 0 disables the timer (call `flush()`). */
  flushIntervalMs?: number;
}

const DEFAULT_FLUSH_INTERVAL_MS = 1_000;

/** Records the worker-side metrics of genqueue into Redis, batched and fire-and-forget. */
export class RedisMetrics {
  private readonly redis: RedisClient;
  private readonly keys: ReturnType<typeof metricKeys>;
  private readonly logger?: MetricsLogger;
  private counters = new Map<string, number>();
  private histograms = new Map<string, number>();
  private readonly timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: RedisMetricsOptions) {
    this.redis = options.redis;
    this.keys = metricKeys(options.prefix);
    this.logger = options.logger;
    const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (interval > 0) {
      this.timer = setInterval(() => void this.flush(), interval);
      this.timer.unref();
    }
  }

  /**
   * One submission attempt's outcome (see `SubmissionOutcome`, `SubmissionSource`) on `account`:
   * the granted one, or for a gate denial the pinned one or `ANY_ACCOUNT`.
   */
  submission(provider: string, account: string, outcome: SubmissionOutcome, source: SubmissionSource): void {
    this.inc('submissions', { provider, account, outcome, source });
  }

  /** The duration of one provider call made with `account`'s credentials, in ms. */
  providerRequest(provider: string, account: string, endpoint: ProviderEndpoint, durationMs: number): void {
    this.observe('providerRequestDuration', { provider, account, endpoint }, durationMs / 1000);
  }

  /** A task's generation time (submittedAt → taskEndedAt) on `account`, in ms. */
  generationTime(provider: string, account: string, durationMs: number): void {
    this.observe('generationDuration', { provider, account }, durationMs / 1000);
  }

  /**
   * The time from a task ending at the provider to its slot being freed, in ms. Callers pass an
   * upper bound: release time minus the status query before the one that saw the task ended.
   */
  slotReleaseDelay(provider: string, account: string, delayMs: number): void {
    this.observe('slotReleaseDelay', { provider, account }, delayMs / 1000);
  }

  /**
   * One status answer that found the task still running, with or without a progress reading: how
   * often the provider's endpoints fill it tells whether polling on progress is in effect.
   */
  runningAnswer(provider: string, account: string, progressReported: boolean): void {
    this.inc('runningAnswers', { provider, account, reported: String(progressReported) });
  }

  /** One output stored in S3. */
  sinkStored(bytes: number): void {
    this.inc('sinkBytes', {}, bytes);
    this.inc('sinkObjects', {});
  }

  /** One failed attempt to store outputs. */
  sinkError(retryable: boolean): void {
    this.inc('sinkErrors', { retryable: String(retryable) });
  }

  /** One job the reconciler repaired (see `reconcilerRepairs`). */
  reconcilerRepair(repair: 'submit' | 'poll' | 'sink' | 'deadline'): void {
    this.inc('reconcilerRepairs', { repair });
  }

  /** One webhook delivery attempt's outcome. */
  webhookDelivered(outcome: WebhookOutcome): void {
    this.inc('webhookDeliveries', { outcome });
  }

  /** Adds `by` (default 1) to a counter. Ignores non-finite or negative amounts. */
  inc(metric: RemoteMetricKey, labels: Labels, by = 1): void {
    const spec = REMOTE_METRICS[metric];
    if (spec.type !== 'counter' || !Number.isFinite(by) || by < 0) return;
    const field = seriesField(spec.name, spec.labelNames, labels);
    this.counters.set(field, (this.counters.get(field) ?? 0) + by);
  }

  /** Adds one observation to a histogram, in the metric's unit. Ignores non-finite values; clamps negatives to 0. */
  observe(metric: RemoteMetricKey, labels: Labels, value: number): void {
    const spec = REMOTE_METRICS[metric];
    if (spec.type !== 'histogram' || !Number.isFinite(value)) return;
    const v = Math.max(0, value);
    const series = seriesField(spec.name, spec.labelNames, labels);
    const bound = spec.buckets.find((b) => v <= b) ?? Number.POSITIVE_INFINITY;
    for (const part of [formatBound(bound), 'count']) {
      const field = `${series}${PART_SEPARATOR}${part}`;
      this.histograms.set(field, (this.histograms.get(field) ?? 0) + 1);
    }
    const sum = `${series}${PART_SEPARATOR}sum`;
    this.histograms.set(sum, (this.histograms.get(sum) ?? 0) + v);
  }

  /** Sends what is buffered now. Never rejects; resolves once Redis answered (or failed). */
  flush(): Promise<void> {
    // Chained, so concurrent flushes go out in order and `close()` waits for all of them.
    this.flushing = this.flushing.then(() => this.send());
    return this.flushing;
  }

  /** Stops the timer and sends what is left. Call before closing the Redis connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  private async send(): Promise<void> {
    const { counters, histograms } = this;
    if (counters.size + histograms.size === 0) return;
    this.counters = new Map();
    this.histograms = new Map();
    try {
      const pipeline = this.redis.pipeline();
      for (const [field, by] of counters) pipeline.hincrbyfloat(this.keys.counters, field, by);
      for (const [field, by] of histograms) pipeline.hincrbyfloat(this.keys.histograms, field, by);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    } catch (error) {
      this.logger?.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'metrics: could not record figures in Redis; they are dropped',
      );
    }
  }
}
