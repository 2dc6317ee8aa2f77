/**
 * The producer API as an express app, built from injected parts (no globals), so tests, the demo
 * and `main.ts` assemble it the same way. One router per concern under `routes/`.
 *
 * Routes: `GET /healthz`, `GET /readyz` (open); `/v1/*` (bearer API key, per-route scopes: jobs,
 * batches, results, `GET /v1/operations`, provider lookups); `/v1/accounts` and `/v1/admin/keys`
 * (admin: Basic, an `ADMIN_TOKENS` bearer or an API key with the `admin` scope); `/admin/queues`
 * (Basic); `/ui` (the gallery: Basic, bearer or its session cookie).
 */
import { JobLifecycle } from '@genqueue/core';
import express from 'express';
import helmet from 'helmet';
import { keyAuth } from './access.ts';
import { adminRouter } from './admin.ts';
import type { ApiDeps, RouteDeps } from './deps.ts';
import { errorMiddleware, notFound } from './http-error.ts';
import { accountPools } from './internal/account-pools.ts';
import { bodyBudget } from './internal/body-budget.ts';
import { redisErrors, redisGate } from './internal/dependency-gate.ts';
import { ApiKeyStore, KeyRing } from './key-ring.ts';
import { TenantQuotas } from './quotas.ts';
import { ApiRateLimiter } from './rate-limits.ts';
import { accountsRouter } from './routes/accounts.ts';
import { batchesRouter } from './routes/batches.ts';
import { docsRouter } from './routes/docs.ts';
import { galleryRouter } from './routes/gallery.ts';
import { healthRouter } from './routes/health.ts';
import { jobsRouter } from './routes/jobs.ts';
import { keysRouter } from './routes/keys.ts';
import { metricsRouter } from './routes/metrics.ts';
import { operationsRouter } from './routes/operations.ts';
import { providersRouter } from './routes/providers.ts';
import { resultsRouter } from './routes/results.ts';

/**
 * Largest `POST /v1/jobs` body accepted, in bytes; larger ones get `413 payload_too_large`. 64 MiB
 * holds four 10 MB images as base64 data URLs (002 allows 10 MB per image; Kontext takes up to 4,
 * and specs 000, 001 and 004 take base64 too) with room for the rest. More images than that go as
 * URLs.
 */
export const BODY_LIMIT = 64 * 1024 * 1024;

/**
 * Bytes of large job bodies parsed at once, across requests (see `bodyBudget`): three bodies at the
 * limit, so parsing holds at most about 600 MB of heap however many clients send at once.
 */
export const BODY_BUDGET_BYTES = 3 * BODY_LIMIT;

/** Builds the API app. It holds no resources of its own: closing is the caller's (see `startApi`). */
export function createApp(apiDeps: ApiDeps): express.Express {
  const { redis, config } = apiDeps;
  const deps: RouteDeps = {
    ...apiDeps,
    keys: new KeyRing(config, new ApiKeyStore(redis, config.queuePrefix, apiDeps.now)),
    quotas: new TenantQuotas(apiDeps.store, config.tenants, apiDeps.now),
    authGuard: new ApiRateLimiter(redis, config.queuePrefix, config.rateLimits).guard(),
    // Defining the pools' scripts is local to the connection: no Redis round trip here.
    pools: accountPools(config, redis, [...apiDeps.providers.keys()]),
    lifecycle:
      apiDeps.lifecycle ??
      new JobLifecycle({
        store: apiDeps.store,
        queues: apiDeps.queues,
        logger: apiDeps.logger,
      }),
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // The API answers JSON only, so its CSP allows nothing; the board sets its own (admin.ts).
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
    }),
  );
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      // Probes, scrapes and the board's polling would drown the request log.
      const quiet =
        req.path === '/healthz' ||
        req.path === '/readyz' ||
        req.path === '/metrics' ||
        req.path.startsWith('/admin/') ||
        req.path.startsWith('/ui/files/') ||
        req.path.startsWith('/ui/static/') ||
        /^\/ui\/batches\/[^/]+\/(?:progress|tiles)$/.test(req.path);
      deps.logger[quiet ? 'debug' : 'info'](
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    });
    next();
  });

  app.use(healthRouter(deps));
  // Everything below reads or writes Redis.
  const redisUp = deps.redisUp ?? (() => true);
  app.use(redisGate(redisUp));

  app.use(galleryRouter(deps));

  const admin = adminRouter({ admin: deps.config.admin, queues: deps.queues.all() });
  if (admin) app.use(admin);

  app.use(metricsRouter(deps));
  app.use(docsRouter(deps));

  // Operators' routes take admin credentials (which need not be API tokens), so they come before
  // the API tokens' check; any other `/v1` path goes on to it.
  app.use('/v1', accountsRouter(deps));
  app.use('/v1', keysRouter(deps));

  const v1 = express.Router();
  v1.use(keyAuth(deps.keys, deps.authGuard));
  // Before the jobs' JSON parser: batches parse their own bodies (32 MB JSON, streamed CSV/NDJSON).
  v1.use(batchesRouter(deps));
  v1.use(resultsRouter(deps));
  v1.use(operationsRouter(deps));
  v1.use(bodyBudget({ limitBytes: BODY_LIMIT, budgetBytes: BODY_BUDGET_BYTES }));
  v1.use(express.json({ limit: BODY_LIMIT }));
  v1.use(jobsRouter(deps));
  v1.use(providersRouter(deps));
  // Unknown `/v1` routes answer 404 only to authenticated callers.
  v1.use(notFound);
  app.use('/v1', v1);

  app.use(notFound);
  app.use(redisErrors(redisUp));
  app.use(errorMiddleware(deps.logger));
  return app;
}
