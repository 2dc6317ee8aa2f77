// The pure definitions (job states, the job catalog, errors, the provider port, ids, the key
// layout) live in @genqueue/model, which loads neither ioredis nor BullMQ. All of it is re-exported
// here, so that a process importing the runtime gets both from one name and the two lists cannot
// drift.
export * from '@genqueue/model';
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
  IdempotencyClaim,
  JobStoreOptions,
  NewBatch,
  NewJob,
  OutboxEntry,
  OutboxItem,
  TransitionResult,
} from './job-store.ts';
export { BUDGET_EXCEEDED, bullJobId, isBatchDone, JobStore, OUTBOX_GRACE_MS } from './job-store.ts';
export type { JobLifecycleOptions } from './lifecycle.ts';
export { JobLifecycle } from './lifecycle.ts';
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
