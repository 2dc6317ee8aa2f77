export type { DeliverWebhookOptions, DeliveryResult } from './deliver.ts';
export { DEFAULT_WEBHOOK_TIMEOUT_MS, deliverWebhook, WEBHOOK_USER_AGENT } from './deliver.ts';
export { webhookRetryDelay } from './retry-delay.ts';
export type { SignWebhookInput } from './sign.ts';
export { signWebhook } from './sign.ts';
export type {
  AllowedHosts,
  CheckUrlOptions,
  GuardedDispatcherOptions,
  HostResolver,
  UnsafeUrlReason,
} from './url-guard.ts';
export { checkUrl, createGuardedDispatcher, parseWebhookUrl, UnsafeUrlError } from './url-guard.ts';
