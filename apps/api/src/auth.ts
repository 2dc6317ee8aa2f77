/**
 * Authentication for the API (`/v1`, bearer tokens) and for Bull Board (`/admin/queues`, Basic).
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
    const given = digest(match[1]!);
    let ok = false;
    for (const expected of digests) ok = timingSafeEqual(given, expected) || ok;
    if (!ok) {
      unauthorized(res, 'Bearer error="invalid_token"', 'invalid bearer token');
      return;
    }
    (res.locals as AuthLocals).tokenScope = tokenScope(match[1]!);
    next();
  };
}

/**
 * HTTP Basic middleware for the admin board. Callers must not mount it when the user or the
 * password is unset (the board is then disabled, never open).
 */
export function basicAuth(
  credentials: { user: string; password: string },
  realm = 'genqueue admin',
): RequestHandler {
  const expectedUser = digest(credentials.user);
  const expectedPassword = digest(credentials.password);
  const challenge = `Basic realm="${realm}", charset="UTF-8"`;
  return (req: Request, res: Response, next: NextFunction) => {
    const match = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(req.get('authorization') ?? '');
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon >= 0 ? decoded.slice(0, colon) : '';
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    // Both comparisons always run, so a right user name with a wrong password takes as long as both wrong.
    const userOk = timingSafeEqual(digest(user), expectedUser);
    const passwordOk = timingSafeEqual(digest(password), expectedPassword);
    if (!match || colon < 0 || !(userOk && passwordOk)) {
      unauthorized(res, challenge, 'admin credentials required');
      return;
    }
    next();
  };
}
