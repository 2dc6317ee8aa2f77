/**
 * Authentication for the API (`/v1`, bearer tokens), for Bull Board (`/admin/queues`, Basic) and
 * for the admin routes (`requireAdmin`: the board's Basic credentials, an `ADMIN_TOKENS` bearer or
 * an API key with the `admin` scope).
 *
 * Secrets are compared as SHA-256 digests with `crypto.timingSafeEqual`: digests have one length,
 * so neither the content nor the length of a configured secret leaks through response times, and
 * every configured token is compared on every request (no early exit on the first match).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isAdmin, type KeyRing } from './key-ring.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time equality of two strings, whatever their lengths. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Answers 401 with `challenge` as `WWW-Authenticate`. */
export function unauthorized(res: Response, challenge: string, message: string): void {
  res
    .status(401)
    .set('WWW-Authenticate', challenge)
    .json({ error: { code: 'unauthorized', message } });
}

/**
 * Bearer-token middleware for a fixed list of tokens and, given `keys`, the API keys with the
 * `admin` scope (`/metrics`). Another valid API key gets `403 forbidden` (the caller is known, the
 * right is missing); no or a wrong token gets `401`. With no token and no admin key every request
 * is refused. The API's own routes take API keys (`keyAuth` in `access.ts`).
 */
export function bearerAuth(tokens: readonly string[], keys?: KeyRing): RequestHandler {
  const digests = tokens.map(digest);
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req.get('authorization') ?? '');
    if (token === undefined) {
      unauthorized(res, 'Bearer', 'missing bearer token');
      return;
    }
    let role: BearerRole;
    try {
      role = await bearerRole(token, digests, keys);
    } catch (error) {
      next(error);
      return;
    }
    if (role === 'admin') {
      next();
      return;
    }
    if (role === 'user') {
      forbidden(res, 'this route needs its token or an API key with the admin scope');
      return;
    }
    unauthorized(res, 'Bearer error="invalid_token"', 'invalid bearer token');
  };
}

/** The token of a `Bearer` authorization header, or undefined when the header is not one. */
export function bearerToken(header: string): string | undefined {
  return /^Bearer[ ]+([^\s]+)\s*$/i.exec(header)?.[1];
}

/** The digests {@link basicMatches} compares a `Basic` header against. */
export function basicDigests(credentials: { user: string; password: string }): {
  user: Buffer;
  password: Buffer;
} {
  return { user: digest(credentials.user), password: digest(credentials.password) };
}

/** Whether a `Basic` authorization header carries exactly these credentials (constant time). */
export function basicMatches(header: string, expected: { user: Buffer; password: Buffer }): boolean {
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
  const expected = basicDigests(credentials);
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
  /**
   * The API's keys: one with the `admin` scope is an operator; any other is a known caller
   * without the right, so it gets 403.
   */
  keys: KeyRing;
}

/**
 * What a bearer token is on a route for operators: `admin` may act (one of the route's own tokens,
 * or an API key with the `admin` scope), `user` is a known caller without the right (403),
 * `unknown` is no credential at all (401).
 */
type BearerRole = 'admin' | 'user' | 'unknown';

/** The {@link BearerRole} of `token` among the route's token `digests` and the API's `keys`. */
async function bearerRole(token: string, digests: readonly Buffer[], keys?: KeyRing): Promise<BearerRole> {
  // Both are always looked up, so timing does not tell an API key from one of the route's tokens.
  const listed = tokenIn(token, digests);
  const principal = await keys?.authenticate(token);
  return listed || (principal && isAdmin(principal)) ? 'admin' : principal ? 'user' : 'unknown';
}

/** Answers 403 to a known caller without the right. */
function forbidden(res: Response, message: string): void {
  res.status(403).json({ error: { code: 'forbidden', message } });
}

/**
 * Middleware for the operator routes (`/v1/accounts`, `/v1/admin/keys`): lets through the Bull
 * Board admin (HTTP Basic), a bearer token of `ADMIN_TOKENS` or an API key with the `admin` scope:
 * the one admin check of the API. A valid API key without that scope gets
 * `403 forbidden`; no or wrong credentials get `401`. With neither admin form configured every
 * request is refused: the routes are never open.
 */
export function requireAdmin(credentials: AdminCredentials): RequestHandler {
  const basic =
    credentials.user && credentials.password
      ? basicDigests({ user: credentials.user, password: credentials.password })
      : undefined;
  const adminDigests = credentials.tokens.map(digest);
  const basicChallenge = basic ? ', Basic realm="genqueue admin", charset="UTF-8"' : '';
  const challenge = `Bearer realm="genqueue admin"${basicChallenge}`;
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    if (/^Basic /i.test(header)) {
      if (basic && basicMatches(header, basic)) {
        next();
        return;
      }
      unauthorized(res, challenge, 'invalid admin credentials');
      return;
    }
    const token = bearerToken(header);
    if (token === undefined) {
      unauthorized(
        res,
        challenge,
        'admin credentials required (an ADMIN_TOKENS bearer token or the admin user)',
      );
      return;
    }
    let role: BearerRole;
    try {
      role = await bearerRole(token, adminDigests, credentials.keys);
    } catch (error) {
      next(error);
      return;
    }
    if (role === 'admin') {
      next();
      return;
    }
    if (role === 'user') {
      forbidden(res, 'this route needs an admin credential; an API key without the admin scope is not one');
      return;
    }
    unauthorized(
      res,
      `Bearer realm="genqueue admin", error="invalid_token"${basicChallenge}`,
      'invalid bearer token',
    );
  };
}
