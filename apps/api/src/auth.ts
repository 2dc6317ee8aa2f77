/**
 * Authentication for the API (`/v1`, bearer tokens), for Bull Board (`/admin/queues`, Basic) and
 * for the admin routes (`requireAdmin`: the board's Basic credentials or an admin bearer token).
 *
 * Secrets are compared as SHA-256 digests with `crypto.timingSafeEqual`: digests have one length,
 * so neither the content nor the length of a configured secret leaks through response times, and
 * every configured token is compared on every request (no early exit on the first match).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time equality of two strings, whatever their lengths. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The idempotency scope of an API token: a hash, so Redis keys never hold the token itself.
 * 128 bits are plenty to keep two tokens' scopes apart.
 */
export function tokenScope(token: string): string {
  return createHash('sha256').update(`genqueue:idempotency:${token}`, 'utf8').digest('hex').slice(0, 32);
}

/** What the bearer middleware leaves in `res.locals` for the routes. */
export interface AuthLocals {
  /** `tokenScope` of the caller's token. */
  tokenScope: string;
}

function unauthorized(res: Response, challenge: string, message: string): void {
  res
    .status(401)
    .set('WWW-Authenticate', challenge)
    .json({ error: { code: 'unauthorized', message } });
}

/**
 * Bearer-token middleware for `/v1`. With no configured token every request is refused: the API is
 * never open by accident (`startApi` generates a token when `API_TOKENS` is empty).
 * On success it sets `res.locals.tokenScope`.
 */
export function bearerAuth(tokens: readonly string[]): RequestHandler {
  const digests = tokens.map(digest);
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!match) {
      unauthorized(res, 'Bearer', 'missing bearer token');
      return;
    }
    if (!tokenIn(match[1]!, digests)) {
      unauthorized(res, 'Bearer error="invalid_token"', 'invalid bearer token');
      return;
    }
    (res.locals as AuthLocals).tokenScope = tokenScope(match[1]!);
    next();
  };
}

/** Whether a `Basic` authorization header carries exactly these credentials (constant time). */
function basicMatches(header: string, expected: { user: Buffer; password: Buffer }): boolean {
  const match = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const user = colon >= 0 ? decoded.slice(0, colon) : '';
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  // Both comparisons always run, so a right user name with a wrong password takes as long as both wrong.
  const userOk = timingSafeEqual(digest(user), expected.user);
  const passwordOk = timingSafeEqual(digest(password), expected.password);
  return Boolean(match) && colon >= 0 && userOk && passwordOk;
}

/** Whether `token` is one of `digests`; every digest is compared, so timing says nothing of which. */
function tokenIn(token: string, digests: readonly Buffer[]): boolean {
  const given = digest(token);
  let ok = false;
  for (const expected of digests) ok = timingSafeEqual(given, expected) || ok;
  return ok;
}

/**
 * HTTP Basic middleware for the admin board. Callers must not mount it when the user or the
 * password is unset (the board is then disabled, never open).
 */
export function basicAuth(
  credentials: { user: string; password: string },
  realm = 'genqueue admin',
): RequestHandler {
  const expected = { user: digest(credentials.user), password: digest(credentials.password) };
  const challenge = `Basic realm="${realm}", charset="UTF-8"`;
  return (req: Request, res: Response, next: NextFunction) => {
    if (!basicMatches(req.get('authorization') ?? '', expected)) {
      unauthorized(res, challenge, 'admin credentials required');
      return;
    }
    next();
  };
}

/** Who is an operator on the admin routes (`requireAdmin`). */
export interface AdminCredentials {
  /** Bull Board's `ADMIN_USER` / `ADMIN_PASSWORD`; Basic is accepted only when both are set. */
  user?: string;
  password?: string;
  /** Admin bearer tokens (`ADMIN_TOKENS`). */
  tokens: readonly string[];
  /** The API's own tokens (`API_TOKENS`): known callers, but not operators, so they get 403. */
  apiTokens: readonly string[];
}

/**
 * What a bearer token is on the admin routes: `admin` may act, `user` is a known caller without
 * the right (403), `unknown` is no credential at all (401). One place to add another kind of admin
 * credential (an API key with an admin scope, say) without touching the routes.
 */
type BearerRole = 'admin' | 'user' | 'unknown';

/**
 * Middleware for the operator routes (`/v1/accounts`): lets through the Bull Board admin (HTTP
 * Basic) or a bearer token of `ADMIN_TOKENS`. A valid API token that is not an admin token gets
 * `403 forbidden`; no or wrong credentials get `401`. With neither admin form configured every
 * request is refused: the routes are never open.
 */
export function requireAdmin(credentials: AdminCredentials): RequestHandler {
  const basic =
    credentials.user && credentials.password
      ? { user: digest(credentials.user), password: digest(credentials.password) }
      : undefined;
  const adminDigests = credentials.tokens.map(digest);
  const apiDigests = credentials.apiTokens.map(digest);
  const roleOf = (token: string): BearerRole => {
    // Both lists are always compared, so timing does not tell an API token from an admin one.
    const admin = tokenIn(token, adminDigests);
    const user = tokenIn(token, apiDigests);
    return admin ? 'admin' : user ? 'user' : 'unknown';
  };
  const basicChallenge = basic ? ', Basic realm="genqueue admin", charset="UTF-8"' : '';
  const challenge = `Bearer realm="genqueue admin"${basicChallenge}`;
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    if (/^Basic /i.test(header)) {
      if (basic && basicMatches(header, basic)) {
        next();
        return;
      }
      unauthorized(res, challenge, 'invalid admin credentials');
      return;
    }
    const bearer = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!bearer) {
      unauthorized(
        res,
        challenge,
        'admin credentials required (an ADMIN_TOKENS bearer token or the admin user)',
      );
      return;
    }
    const role = roleOf(bearer[1]!);
    if (role === 'admin') {
      next();
      return;
    }
    if (role === 'user') {
      res.status(403).json({
        error: {
          code: 'forbidden',
          message: 'this route needs an admin credential; an API token is not one',
        },
      });
      return;
    }
    unauthorized(
      res,
      `Bearer realm="genqueue admin", error="invalid_token"${basicChallenge}`,
      'invalid bearer token',
    );
  };
}
