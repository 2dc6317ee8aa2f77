export type {
  AcquireResult,
  PauseState,
  ProviderLimiterOptions,
  ProviderLimits,
} from './provider-limiter.ts';
export { ProviderLimiter } from './provider-limiter.ts';
export type { StatusQueryCapOptions, StatusQueryGrant } from './status-query-cap.ts';
export { StatusQueryCap } from './status-query-cap.ts';
