/**
 * `GET /metrics`: the deployment's Prometheus metrics (text format 0.0.4), for whoever scrapes
 * this API instance. Workers' figures come from Redis (`@genqueue/metrics`), queue depth from
 * BullMQ and each account's leases, effective limits, pause state, points and balance from
 * the limiter, all read at scrape time: any API instance answers for every worker process.
 *
 * Protected by a bearer token: `METRICS_TOKEN` when set (so a scraper holds no API token),
 * otherwise any API token. Tokens are compared in constant time (`bearerAuth`, built on the same
 * digest comparison as `safeEqual`).
 */
import type { Config } from '@genqueue/config';
import { limiterKeyPrefix, type RedisClient } from '@genqueue/core';
import { AccountPool } from '@genqueue/limiter';
import { MetricsCollector } from '@genqueue/metrics';
import { type NextFunction, type Request, type Response, Router } from 'express';
import { bearerAuth } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';

/** `GET /metrics` behind its bearer token. */
export function metricsRouter(deps: ApiDeps): Router {
  const router = Router();
  const { config } = deps;
  const tokens = config.metricsToken ? [config.metricsToken] : config.apiTokens;
  let collector: Promise<MetricsCollector> | undefined;

  router.get('/metrics', bearerAuth(tokens), async (_req: Request, res: Response, next: NextFunction) => {
    try {
      collector ??= buildCollector(deps).catch((error: unknown) => {
        collector = undefined;
        throw error;
      });
      const ready = await collector;
      const text = await ready.metrics();
      res.set('Content-Type', ready.contentType).set('Cache-Control', 'no-store').send(text);
    } catch (error) {
      next(error);
    }
  });
  return router;
}

/**
 * The collector reads through the queues' own Redis connection: the app gets no connection of its
 * own, and the queues' one is the deployment's.
 */
async function buildCollector(deps: ApiDeps): Promise<MetricsCollector> {
  const { config, queues } = deps;
  // startApi builds the queues on an ioredis connection, which BullMQ's non-blocking queues use as is.
  const redis = (await queues.poll.client) as unknown as RedisClient;
  const providers = [...deps.providers.keys()].flatMap((name) => {
    const settings = config.providers[name as keyof Config['providers']];
    if (!settings) return [];
    const configured = config.accounts[name as keyof Config['accounts']] ?? [];
    // Same key prefix and accounts as the workers' pools; only its reads are used here. An API
    // given no credentials (PROVIDERS alone) knows the single-account form's `default` account.
    const pool = new AccountPool({
      redis,
      keyPrefix: limiterKeyPrefix(config.queuePrefix, name),
      accounts:
        configured.length > 0
          ? configured.map((a) => ({ id: a.id, ...a.limits, weight: a.weight, tags: a.tags }))
          : [{ id: 'default', ...settings.limits }],
    });
    return [{ provider: name, accountStates: () => pool.accountStates() }];
  });
  return new MetricsCollector({ redis, prefix: config.queuePrefix, queues: queues.all(), providers });
}
