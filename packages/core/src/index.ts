// The pure definitions (job states, the job catalog, errors, the provider port, ids) live in
// @genqueue/model, which loads neither ioredis nor BullMQ; they are re-exported here so that a
// process importing the runtime gets both from one name.
export type {
  AdapterIo,
  CallContext,
  Clock,
  ErrorAction,
  ErrorClass,
  FoundUrl,
  JobError,
  JobPayload,
  JobState,
  JobTag,
  OperationSpec,
  Provider,
  ProviderAccount,
  ProviderCapabilities,
  ProviderDescription,
  ProviderDescriptor,
  ProviderErrorOptions,
  ProviderLimits,
  ProviderOperations,
  ProviderOutput,
  ProviderSettings,
  RedisKeyLayout,
  RetryLimit,
  SinkPayload,
  SubmitResult,
  TaskStatus,
  UrlCheckBounds,
  WebhookPayload,
} from '@genqueue/model';
export {
  actionFor,
  CallAbortedError,
  canTransition,
  checkUrlsBounded,
  credentialVariable,
  DEFAULT_TENANT,
  defineProvider,
  findUrls,
  isProviderError,
  isTaskEnded,
  isTerminal,
  JOB_STATES,
  jobPayloadSchema,
  jobTag,
  limiterKeyPrefix,
  nestsDeeperThan,
  newBatchId,
  newBatchItemId,
  newJobId,
  PROMPT_EXCERPT_CHARS,
  ProviderError,
  parseBatchItemId,
  parseRetryAfter,
  promptExcerpt,
  QUEUE,
  redisKeyLayout,
  sinkPayloadSchema,
  submitQueueName,
  systemClock,
  TERMINAL_STATES,
  TRANSITIONS,
  URL_CHECK_BOUNDS,
  webhookPayloadSchema,
} from '@genqueue/model';
export type {
  BatchIntakeParams,
  BatchIntakeResult,
  BatchItem,
  ItemIssue,
  RejectedRow,
} from './batch-intake.ts';
export { batchItemPriority, intakeBatch, MAX_PRIORITY } from './batch-intake.ts';
export type { ConnectionWatch, ConnectionWatchOptions } from './connection-watch.ts';
export { watchConnection } from './connection-watch.ts';
export type { FairShareOptions } from './fair-share.ts';
export { FairShare } from './fair-share.ts';
export { JOB_OPTIONS } from './job-options.ts';
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
export { deleteKeysWithPrefix, masters } from './redis-keys.ts';
export type { AccountView, BatchView, JobView, ObjectUrlFn, OutputView, WebhookView } from './views.ts';
export { toBatchView, toJobView } from './views.ts';
