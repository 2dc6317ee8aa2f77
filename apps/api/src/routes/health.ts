/**
 * Liveness and readiness probes, without authentication (load balancers and orchestrators call them).
 * `/healthz`: the process answers. `/readyz`: Redis and S3 answer too, within a time limit, so a
 * hung dependency makes the probe fail instead of hang.
 */
import { type Request, type Response, Router } from 'express';
import type { ApiDeps } from '../deps.ts';
import { scrubSecrets } from '../http-error.ts';

/** Default time limit of each readiness check, in milliseconds. */
export const READY_TIMEOUT_MS = 900;

function withTimeout(check: () => Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    Promise.resolve().then(check),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `GET /healthz` and `GET /readyz`. */
export function healthRouter(deps: ApiDeps): Router {
  const router = Router();
  const timeoutMs = deps.readyTimeoutMs ?? READY_TIMEOUT_MS;

  router.get('/healthz', (_req: Request, res: Response) => {
    res.json({ ok: true });
  });

  router.get('/readyz', async (_req: Request, res: Response) => {
    const checks = { redis: deps.redisReady, s3: deps.s3Ready };
    const results = await Promise.allSettled(
      Object.values(checks).map((check) => withTimeout(check, timeoutMs)),
    );
    const down = Object.keys(checks).filter((_, index) => results[index]!.status === 'rejected');
    if (down.length > 0) {
      // The reasons go to the log only: they may name internal hosts.
      deps.logger.warn(
        {
          down,
          reasons: results.flatMap((r) =>
            r.status === 'rejected' ? [scrubSecrets(String((r.reason as Error)?.message))] : [],
          ),
        },
        'not ready',
      );
      res.status(503).json({ ok: false, down });
      return;
    }
    res.json({ ok: true });
  });

  return router;
}
