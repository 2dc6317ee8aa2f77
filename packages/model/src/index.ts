export type { JobPayload, JobTag, SinkPayload, WebhookPayload } from './catalog.ts';
export {
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
export type { ErrorAction, ErrorClass, JobError, ProviderErrorOptions, RetryLimit } from './errors.ts';
export { actionFor, CallAbortedError, isProviderError, ProviderError, parseRetryAfter } from './errors.ts';
export {
  DEFAULT_TENANT,
  newBatchId,
  newBatchItemId,
  newBatchItemSuffix,
  newJobId,
  parseBatchItemId,
} from './ids.ts';
export type { FoundUrl, UrlCheckBounds } from './input-urls.ts';
export { checkUrlsBounded, findUrls, nestsDeeperThan, URL_CHECK_BOUNDS } from './input-urls.ts';
export type { JobState } from './job-state.ts';
export { canTransition, isTerminal, JOB_STATES, TERMINAL_STATES, TRANSITIONS } from './job-state.ts';
export type { RedisKeyLayout } from './key-layout.ts';
export { limiterKeyPrefix, redisKeyLayout } from './key-layout.ts';
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
export type { BatchRecord, JobRecord, StateChange, StoredOutput, WebhookDeliveryRecord } from './records.ts';
export type { AccountView, BatchView, JobView, ObjectUrlFn, OutputView, WebhookView } from './views.ts';
export { toBatchView, toJobView } from './views.ts';
