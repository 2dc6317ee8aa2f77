export type {
  Labels,
  LiveMetricSpec,
  ProviderEndpoint,
  RemoteMetricKey,
  RemoteMetricSpec,
  SubmissionOutcome,
  SubmissionSource,
  WebhookOutcome,
} from './catalog.ts';
export { ANY_ACCOUNT, LIVE_METRICS, PAUSE_KINDS, REMOTE_METRICS } from './catalog.ts';
export type {
  AccountGauge,
  CountableQueue,
  MetricsCollectorOptions,
  MetricsRedis,
  ProviderGauge,
} from './collector.ts';
export { MetricsCollector, QUEUE_STATES } from './collector.ts';
export type { MetricsLogger, RedisMetricsOptions } from './redis-metrics.ts';
export { RedisMetrics } from './redis-metrics.ts';
