export type {
  AccountFilter,
  AccountPoolOptions,
  AccountState,
  AcquireResult,
  Lease,
  LimitsChange,
  PauseState,
  PoolAccount,
} from './account-pool.ts';
export { ACCOUNT_ID_PATTERN, AccountPool, NoMatchingAccountError, poolAccountOf } from './account-pool.ts';
export type { StatusQueryCapOptions, StatusQueryGrant } from './status-query-cap.ts';
export { StatusQueryCap } from './status-query-cap.ts';
