/**
 * The provider accounts, for operators: `GET /v1/accounts` lists every account of every enabled
 * provider (limits, load, pause, balance, counters; never a secret), and
 * `PATCH /v1/accounts/:provider/:id` changes an account's limits or pauses and resumes it. Both
 * need an admin credential (`requireAdmin`): the list tells how much work each account carries and
 * which one is out of points, which is operator information, not an API caller's.
 *
 * A change is written to the account's Redis keys, which every worker's grant reads: it holds from
 * the next grant on, without a restart. Answers: 200 with the account's state; 400 naming the
 * field at fault; 401 without credentials; 403 with an API token that is not an admin one; 404 for
 * a provider that is not enabled or an account it does not have.
 */
import type { AccountView } from '@genqueue/core';
import type { AccountState } from '@genqueue/limiter';
import express, { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, type Issue, invalidRequest, notFound } from '../http-error.ts';
import { zodIssues } from '../internal/request-checks.ts';

/** Reason stored with a pause made through the API. */
export const MANUAL_PAUSE_REASON = 'paused by an operator';

/** The body of `PATCH /v1/accounts/:provider/:id`; `null` goes back to the configured limit. */
export const accountChangeSchema = z
  .object({
    /** Submissions per second from the next grant on (> 0, may be fractional). */
    submitQps: z.number().finite().positive().nullable().optional(),
    /** Tasks in flight from the next grant on (an integer, 1 to 1000, as in the configuration). */
    maxInFlight: z.number().int().min(1).max(1000).nullable().optional(),
    /** `true`: an operator's pause (never probed, lasts until resumed); `false`: resume, whatever paused it. */
    paused: z.boolean().optional(),
  })
  .strict();

const iso = (ms: number) => new Date(ms).toISOString();

function viewOf(provider: string, state: AccountState): AccountView {
  const { pause } = state;
  return {
    provider,
    id: state.id,
    tags: state.tags,
    weight: state.weight,
    limits: { submitQps: state.submitQps, maxInFlight: state.maxInFlight },
    configuredLimits: state.configured,
    inFlight: state.inFlight,
    paused: pause.paused,
    pause: pause.paused
      ? {
          reason: pause.reason,
          since: iso(pause.since),
          manual: pause.manual,
          ...(pause.manual ? {} : { nextProbeAt: iso(pause.nextProbeAt) }),
        }
      : null,
    balance: state.balance ? { value: state.balance.value, at: iso(state.balance.at) } : null,
    pointsSpent: state.pointsSpent,
    submitted: state.submitted,
  };
}

/**
 * Issues of a strict object: an unknown field is named by its own path (zod reports it on the
 * object), so the 400 says which field to remove.
 */
function changeIssues(error: z.ZodError): Issue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          path: key,
          message: 'unknown field (expected submitQps, maxInFlight or paused)',
        }))
      : zodIssues(new z.ZodError([issue])),
  );
}

/** The `/v1/accounts` routes, behind `requireAdmin`. Mount at `/v1`, before the API tokens' bearer check. */
export function accountsRouter(deps: RouteDeps): Router {
  const router = Router();
  const { config, pools } = deps;
  const admin = requireAdmin({ ...config.admin, keys: deps.keys });

  // The whole subtree is the admin's: credentials are checked before the route's parameters are
  // decoded (a malformed one is a 400 only for an admin), and an unknown path under it is a 404.
  router.use('/accounts', admin);

  router.get('/accounts', async (_req: Request, res: Response) => {
    const accounts: AccountView[] = [];
    for (const [provider, pool] of pools) {
      for (const state of await pool.accountStates()) accounts.push(viewOf(provider, state));
    }
    res.set('Cache-Control', 'no-store').json({ accounts });
  });

  router.patch(
    '/accounts/:provider/:id',
    express.json({ limit: '16kb' }),
    async (req: Request, res: Response) => {
      const { provider, id } = req.params as { provider: string; id: string };
      const pool = pools.get(provider);
      if (!pool) throw new ApiError(404, 'not_found', `provider ${provider} is not enabled`);
      if (!pool.has(id)) throw new ApiError(404, 'not_found', `${provider} has no account ${id}`);
      if (req.is('application/json') === false) {
        throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
      }
      const parsed = accountChangeSchema.safeParse(req.body ?? {});
      if (!parsed.success) throw invalidRequest(changeIssues(parsed.error));
      const change = parsed.data;
      if (change.submitQps === undefined && change.maxInFlight === undefined && change.paused === undefined) {
        throw invalidRequest([
          { path: 'body', message: 'give at least one of submitQps, maxInFlight, paused' },
        ]);
      }
      if (change.submitQps !== undefined || change.maxInFlight !== undefined) {
        await pool.setLimits(id, { submitQps: change.submitQps, maxInFlight: change.maxInFlight });
      }
      if (change.paused === true) await pool.pause(id, MANUAL_PAUSE_REASON, { manual: true });
      if (change.paused === false) await pool.resume(id, { manual: true });
      deps.logger.info({ provider, account: id, change }, 'account:changed');
      const state = (await pool.accountStates()).find((s) => s.id === id)!;
      res.json(viewOf(provider, state));
    },
  );
  router.use('/accounts', notFound);
  return router;
}
