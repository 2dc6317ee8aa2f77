export type {
  Labels,
  ProviderEndpoint,
  RemoteMetricKey,
  RemoteMetricSpec,
  SubmissionOutcome,
  SubmissionSource,
  WebhookOutcome,
} from './catalog.ts';
export { LIVE_METRICS, REMOTE_METRICS } from './catalog.ts';
export type {
  CountableQueue,
  MetricsCollectorOptions,
  MetricsRedis,
  ProviderGauge,
} from './collector.ts';
export { MetricsCollector, QUEUE_STATES } from './collector.ts';
export type { MetricsLogger, RedisMetricsOptions } from './redis-metrics.ts';
export { RedisMetrics } from './redis-metrics.ts';
