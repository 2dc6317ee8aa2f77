/**
 * The API's view of each provider's account pool: the same Redis keys as the workers' pools
 * (`limiterKeyPrefix`), built from the accounts' ids, limits, weights and tags only. The API never
 * submits through them; it reads their state and changes their runtime limits and manual pauses.
 */
import type { Config } from '@genqueue/config';
import { limiterKeyPrefix, type RedisClient } from '@genqueue/core';
import { AccountPool, type PoolAccount, poolAccountOf } from '@genqueue/limiter';
import type { ProviderName } from '@genqueue/providers';

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
