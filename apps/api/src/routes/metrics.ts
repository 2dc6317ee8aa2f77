/**
 * `GET /metrics`: the deployment's Prometheus metrics (text format 0.0.4), for whoever scrapes
 * this API instance. Workers' figures come from Redis (`@genqueue/metrics`), queue depth from
 * BullMQ and each account's leases, effective limits, pause state, points and balance from
 * the limiter, all read at scrape time: any API instance answers for every worker process.
 *
 * Protected by a bearer token: `METRICS_TOKEN` when set (so a scraper holds no API token),
 * otherwise any API token (`API_TOKENS`), and in both cases an API key with the `admin` scope: the
 * figures are the whole deployment's, every tenant's, so a key of `API_KEYS` without that scope
 * gets 403. Tokens are compared in constant time (`bearerAuth`, built on the same digest
 * comparison as `safeEqual`).
 */
import { MetricsCollector } from '@genqueue/metrics';
import { type NextFunction, type Request, type Response, Router } from 'express';
import { bearerAuth } from '../auth.ts';
import type { RouteDeps } from '../deps.ts';

/** `GET /metrics` behind its bearer token. */
export function metricsRouter(deps: RouteDeps): Router {
  const router = Router();
  const { config } = deps;
  const tokens = config.metricsToken ? [config.metricsToken] : config.apiTokens;
  let collector: Promise<MetricsCollector> | undefined;

  router.get(
    '/metrics',
    bearerAuth(tokens, deps.keys),
    async (_req: Request, res: Response, next: NextFunction) => {
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
    },
  );
  return router;
}

/** The collector, on the deployment's connection and the same account pools as `/v1/accounts`. */
async function buildCollector(deps: RouteDeps): Promise<MetricsCollector> {
  const { config, queues, redis, pools } = deps;
  const providers = [...pools].map(([provider, pool]) => ({
    provider,
    accountStates: () => pool.accountStates(),
  }));
  return new MetricsCollector({ redis, prefix: config.queuePrefix, queues: queues.all(), providers });
}
