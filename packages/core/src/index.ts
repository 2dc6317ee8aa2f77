export type {
  BatchIntakeParams,
  BatchIntakeResult,
  BatchItem,
  ItemIssue,
  RejectedRow,
} from './batch-intake.ts';
export { batchItemPriority, intakeBatch, MAX_PRIORITY } from './batch-intake.ts';
export type { JobPayload, JobTag, SinkPayload, WebhookPayload } from './catalog.ts';
export {
  JOB_OPTIONS,
  jobPayloadSchema,
  jobTag,
  PROMPT_EXCERPT_CHARS,
  promptExcerpt,
  QUEUE,
  sinkPayloadSchema,
  submitQueueName,
  webhookPayloadSchema,
} from './catalog.ts';
export type { Clock } from './clock.ts';
export { systemClock } from './clock.ts';
export type { ConnectionWatch, ConnectionWatchOptions } from './connection-watch.ts';
export { watchConnection } from './connection-watch.ts';
export type { ErrorAction, ErrorClass, JobError, ProviderErrorOptions, RetryLimit } from './errors.ts';
export { actionFor, CallAbortedError, isProviderError, ProviderError, parseRetryAfter } from './errors.ts';
export type { FairShareOptions } from './fair-share.ts';
export { FairShare } from './fair-share.ts';
export { DEFAULT_TENANT, newBatchId, newBatchItemId, newJobId, parseBatchItemId } from './ids.ts';
export type { FoundUrl, UrlCheckBounds } from './input-urls.ts';
export { checkUrlsBounded, findUrls, nestsDeeperThan, URL_CHECK_BOUNDS } from './input-urls.ts';
export type { JobState } from './job-state.ts';
export { canTransition, isTerminal, JOB_STATES, TERMINAL_STATES, TRANSITIONS } from './job-state.ts';
export type {
  AcceptedTask,
  BatchRecord,
  IdempotencyClaim,
  JobRecord,
  JobStoreOptions,
  NewBatch,
  NewJob,
  OutboxEntry,
  OutboxItem,
  StateChange,
  StoredOutput,
  TransitionResult,
  WebhookDeliveryRecord,
} from './job-store.ts';
export { BUDGET_EXCEEDED, bullJobId, isBatchDone, JobStore, OUTBOX_GRACE_MS } from './job-store.ts';
export type { JobLifecycleOptions } from './lifecycle.ts';
export { JobLifecycle } from './lifecycle.ts';
export type { Logger } from './logger.ts';
export { createLogger, REDACT_PATHS, silentLogger } from './logger.ts';
export type {
  CallContext,
  OperationSpec,
  Provider,
  ProviderOutput,
  SubmitResult,
  TaskStatus,
} from './provider.ts';
export { isTaskEnded } from './provider.ts';
export type {
  AdapterIo,
  ProviderAccount,
  ProviderCapabilities,
  ProviderDescription,
  ProviderDescriptor,
  ProviderLimits,
  ProviderOperations,
  ProviderSettings,
} from './provider-descriptor.ts';
export { credentialVariable, defineProvider } from './provider-descriptor.ts';
export type { QueueConfig, QueueSetOptions } from './queues.ts';
export { QueueSet } from './queues.ts';
export type {
  CreateRedisOptions,
  RedisClient,
  RedisClusterSettings,
  RedisSentinelSettings,
  RedisSettings,
  RedisSingleSettings,
} from './redis-connection.ts';
export { createRedis } from './redis-connection.ts';
export type { RedisKeyLayout } from './redis-keys.ts';
export { deleteKeysWithPrefix, limiterKeyPrefix, masters, redisKeyLayout } from './redis-keys.ts';
export type { AccountView, BatchView, JobView, ObjectUrlFn, OutputView, WebhookView } from './views.ts';
export { toBatchView, toJobView } from './views.ts';
