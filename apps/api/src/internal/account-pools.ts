/**
 * The API's view of each provider's account pool: the same Redis keys as the workers' pools
 * (`limiterKeyPrefix`), built from the accounts' ids, limits, weights and tags only. The API never
 * submits through them; it reads their state and changes their runtime limits and manual pauses,
 * and asks them which accounts a job's pin and tags allow, as the workers' gate does.
 */
import type { Config } from '@genqueue/config';
import { limiterKeyPrefix, type RedisClient } from '@genqueue/core';
import {
  type AccountFilter,
  AccountPool,
  NoMatchingAccountError,
  type PoolAccount,
  poolAccountOf,
} from '@genqueue/limiter';
import type { ProviderName } from '@genqueue/providers';
import { invalidRequest } from '../http-error.ts';

/**
 * The accounts of one provider as this process's configuration has them. A provider enabled by
 * `PROVIDERS` alone (an API given no provider credential) has no configured account here; its
 * workers then run the single-account configuration, whose account is `default` with the
 * provider's limits (`<PREFIX>_SUBMIT_QPS`, `<PREFIX>_MAX_IN_FLIGHT`).
 */
export function configuredAccounts(config: Config, provider: string): PoolAccount[] {
  const accounts = config.accounts[provider as ProviderName] ?? [];
  if (accounts.length > 0) {
    return accounts.map(poolAccountOf);
  }
  const settings = config.providers[provider as ProviderName];
  if (!settings) return [];
  return [{ id: 'default', submitQps: settings.limits.submitQps, maxInFlight: settings.limits.maxInFlight }];
}

/** One pool per provider named, in that order, over `redis`. */
export function accountPools(
  config: Config,
  redis: RedisClient,
  providers: readonly string[],
): Map<string, AccountPool> {
  const pools = new Map<string, AccountPool>();
  for (const provider of providers) {
    const accounts = configuredAccounts(config, provider);
    if (accounts.length === 0) continue;
    pools.set(
      provider,
      new AccountPool({
        redis,
        keyPrefix: limiterKeyPrefix(config.queuePrefix, provider),
        accounts,
        // Only `pause` reads it here (an account error's first probe); operators' pauses are never probed.
        probeIntervalMs: config.worker.accountProbeIntervalMs,
      }),
    );
  }
  return pools;
}

/**
 * Refuses (400, naming `account` or `accountTags`) a job whose pin or tags no account of its
 * provider's pool allows: it could never run. The pool's own `candidates` decides, the check the
 * workers' gate makes before each grant, so the API accepts exactly the jobs a worker can submit
 * (the `default` account of a provider enabled by `PROVIDERS` alone included).
 */
export function checkAccountFilter(
  pools: ReadonlyMap<string, AccountPool>,
  provider: string,
  filter: AccountFilter,
): void {
  if (filter.account === undefined && !filter.tags?.length) return;
  const pool = pools.get(provider);
  try {
    // No pool: a provider outside the catalog's settings, which has no account at all.
    if (!pool) throw new NoMatchingAccountError('no account');
    pool.candidates(filter);
  } catch (error) {
    if (!(error instanceof NoMatchingAccountError)) throw error;
    const unknownPin = filter.account !== undefined && !pool?.has(filter.account);
    throw invalidRequest([
      { path: unknownPin ? 'account' : 'accountTags', message: `${provider}: ${error.message}` },
    ]);
  }
}
