export { actionFor, isProviderError, parseRetryAfter, ProviderError } from './errors.ts';
export type { ErrorAction, ErrorClass, JobError, ProviderErrorOptions } from './errors.ts';
export { systemClock } from './clock.ts';
export type { Clock } from './clock.ts';
export { isTaskEnded } from './provider.ts';
export type {
  CallContext,
  OperationSpec,
  Provider,
  ProviderCapabilities,
  ProviderOutput,
  SubmitResult,
  TaskStatus,
} from './provider.ts';
export { canTransition, isTerminal, JOB_STATES, TERMINAL_STATES, TRANSITIONS } from './job-state.ts';
export type { JobState } from './job-state.ts';
export { createLogger, REDACT_PATHS, silentLogger } from './logger.ts';
export type { Logger } from './logger.ts';
export { ConfigError, loadConfig, STANDARD_WEBHOOK_SCHEDULE_MS } from './config.ts';
export type { Config, ProviderSettings } from './config.ts';
export { JOB_OPTIONS, jobPayloadSchema, QUEUE, submitQueueName, webhookPayloadSchema } from './catalog.ts';
export type { JobPayload, WebhookPayload } from './catalog.ts';
