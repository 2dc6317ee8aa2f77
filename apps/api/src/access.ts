/**
 * Who may call `/v1`: the bearer key's {@link Principal} (tenant and scopes), checked per route.
 *
 * Reading needs `jobs:read`, creating, canceling and retrying `jobs:write`, the key routes and
 * every tenant's work `admin` (which holds the other scopes too). A key without the scope a
 * route needs gets `403 forbidden`: the caller is known, and the scope is no secret. Another
 * tenant's records are a different matter: they answer 404 like records that do not exist
 * (`reads.ts`), so ids cannot be probed.
 */
import type { Scope } from '@genqueue/config';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bearerToken, unauthorized } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './http-error.ts';
import { hasScope, isAdmin, type KeyRing, type Principal } from './key-ring.ts';
import { type ReadScope, Reads } from './reads.ts';

/** What the key middleware leaves in `res.locals` for the routes. */
export interface AccessLocals {
  principal: Principal;
}

/** The caller's principal (set by {@link keyAuth}). */
export function principalOf(res: Response): Principal {
  const principal = (res.locals as Partial<AccessLocals>).principal;
  if (!principal) throw new Error('keyAuth must run before this route');
  return principal;
}

/** What the caller may read: its tenant's records, or every tenant's for an admin key. */
export function readScopeOf(principal: Principal): ReadScope {
  return { tenant: principal.tenant, admin: isAdmin(principal) };
}

/** The read path on behalf of the route's caller (its tenant, or every tenant for an admin key). */
export function readsOf(deps: Pick<ApiDeps, 'store' | 'objectUrl'>, res: Response): Reads {
  return new Reads(deps.store, deps.objectUrl, readScopeOf(principalOf(res)));
}

/**
 * The `Idempotency-Key` scope of a caller: its tenant and its key, so no key of one tenant can
 * meet another tenant's, and two holders of different keys never replay each other's requests.
 */
export function idempotencyScopeOf(principal: Principal): string {
  return `${principal.tenant}:${principal.keyId}`;
}

/** Hooks run around authentication (failed-authentication counting, rate limits). */
export interface AuthGuard {
  /** Before the key is looked up: answers (and returns false) to refuse the attempt. */
  before?(req: Request, res: Response): Promise<boolean>;
  /** After a failed attempt. */
  failed?(req: Request): Promise<void>;
  /** After a successful one: answers (and returns false) to refuse the request. */
  admitted?(principal: Principal, res: Response): Promise<boolean>;
}

/**
 * Bearer-key middleware for `/v1`. With no key configured or stored every request is refused:
 * the API is never open by accident (`startApi` generates a token when none is configured).
 */
export function keyAuth(ring: KeyRing, guard: AuthGuard = {}): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (guard.before && !(await guard.before(req, res))) return;
      const token = bearerToken(req.get('authorization') ?? '');
      if (token === undefined) {
        await guard.failed?.(req);
        unauthorized(res, 'Bearer', 'missing bearer token');
        return;
      }
      const principal = await ring.authenticate(token);
      if (!principal) {
        await guard.failed?.(req);
        unauthorized(res, 'Bearer error="invalid_token"', 'invalid bearer token');
        return;
      }
      if (guard.admitted && !(await guard.admitted(principal, res))) return;
      (res.locals as AccessLocals).principal = principal;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** Refuses (403) a caller whose key lacks `scope`. */
export function requireScope(scope: Scope): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (hasScope(principalOf(res), scope)) {
      next();
      return;
    }
    next(new ApiError(403, 'forbidden', `this key lacks the ${scope} scope`));
  };
}
