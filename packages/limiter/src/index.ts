export type {
  AcquireResult,
  PauseState,
  ProviderLimiterOptions,
  ProviderLimits,
} from './provider-limiter.ts';
export { ProviderLimiter } from './provider-limiter.ts';
