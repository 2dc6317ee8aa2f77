/**
 * Who may see the gallery: the Bull Board admin (HTTP Basic, `ADMIN_USER`/`ADMIN_PASSWORD`), a
 * caller with an API token (`Authorization: Bearer`), or a browser that signed in with an API
 * token on the login form and holds its session cookie.
 *
 * The cookie never holds the token. It holds the token's scope (a hash), an expiry and an
 * HMAC-SHA256 of both keyed by the token itself: any API process can check it without shared
 * state, and removing a token from `API_TOKENS` ends its sessions. It is `HttpOnly` (no script
 * reads it), `SameSite=Strict` (no other site's request carries it) and limited to `/ui`.
 *
 * Every POST must also come from a gallery page: the browser's `Sec-Fetch-Site` must say
 * `same-origin`, or, from a client that sends none, `Origin` (else `Referer`) must name this host. That
 * covers Basic credentials too, which browsers attach to cross-site requests whatever SameSite says.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { safeEqual, tokenScope } from '../auth.ts';
import type { ReadScope } from '../reads.ts';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'gq_session';
/** How long a sign-in lasts, in seconds. */
export const SESSION_TTL_SECONDS = 12 * 3600;
/** Where the gallery lives; the cookie is sent nowhere else. */
export const GALLERY_PATH = '/ui';

/** What the gallery's auth leaves in `res.locals`. */
export interface GalleryLocals {
  readScope: ReadScope;
}

/** Credentials the gallery accepts. */
export interface GalleryCredentials {
  apiTokens: readonly string[];
  admin: { user?: string; password?: string };
}

const sign = (token: string, payload: string) =>
  createHmac('sha256', token).update(payload).digest('base64url');

/** The cookie value for a sign-in with `token` at `now` (epoch ms). */
export function sessionValue(token: string, now: number): string {
  const payload = `${tokenScope(token)}.${Math.floor(now / 1000) + SESSION_TTL_SECONDS}`;
  return `${payload}.${sign(token, payload)}`;
}

/** The `Set-Cookie` header that signs a browser in (or out, with `value` empty). */
export function sessionCookie(value: string): string {
  const age = value ? SESSION_TTL_SECONDS : 0;
  return `${SESSION_COOKIE}=${value}; Path=${GALLERY_PATH}; Max-Age=${age}; HttpOnly; SameSite=Strict`;
}

/** The token one of whose sessions `value` is, if it is valid and unexpired at `now`. */
export function sessionToken(value: string, tokens: readonly string[], now: number): string | undefined {
  const [scope, expires, mac] = value.split('.');
  if (!scope || !expires || !mac || !/^\d{1,12}$/.test(expires)) return undefined;
  if (Number(expires) * 1000 <= now) return undefined;
  let found: string | undefined;
  for (const token of tokens) {
    const expected = Buffer.from(sign(token, `${scope}.${expires}`));
    const given = Buffer.from(mac);
    // Every token is tried, so timing does not say which one matched.
    if (expected.length === given.length && timingSafeEqual(expected, given) && tokenScope(token) === scope)
      found = token;
  }
  return found;
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The caller's read scope, or undefined without valid credentials. */
export function galleryScope(
  req: Request,
  credentials: GalleryCredentials,
  now: number,
): ReadScope | undefined {
  const authorization = req.get('authorization') ?? '';
  const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  const { user, password } = credentials.admin;
  if (basic && user && password) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const userOk = safeEqual(colon >= 0 ? decoded.slice(0, colon) : '', user);
    const passwordOk = safeEqual(colon >= 0 ? decoded.slice(colon + 1) : '', password);
    if (colon >= 0 && userOk && passwordOk) return { via: 'admin' };
  }
  const bearer = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
  if (bearer) {
    let ok = false;
    for (const token of credentials.apiTokens) ok = safeEqual(bearer[1]!, token) || ok;
    if (ok) return { via: 'token' };
  }
  const cookie = cookieOf(req, SESSION_COOKIE);
  if (cookie && sessionToken(cookie, credentials.apiTokens, now)) return { via: 'token' };
  return undefined;
}

/**
 * Requires gallery credentials. Without them, a page (a GET that accepts HTML) is redirected to
 * the login form; anything else answers 401.
 */
export function requireGalleryAuth(credentials: GalleryCredentials, now: () => number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const scope = galleryScope(req, credentials, now());
    if (scope) {
      (res.locals as GalleryLocals).readScope = scope;
      next();
      return;
    }
    res.set('Cache-Control', 'no-store');
    if (req.method === 'GET' && req.accepts(['html', 'json']) === 'html' && !req.path.startsWith('/files/')) {
      res.redirect(303, `${GALLERY_PATH}/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    res.status(401).type('text/plain').send('sign in first: /ui/login');
  };
}

/** Refuses a POST that does not come from one of this host's pages (see the module note). */
export const sameOriginPosts: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
  if (req.method !== 'POST') {
    next();
    return;
  }
  const site = req.get('sec-fetch-site');
  const source = req.get('origin') ?? req.get('referer');
  let sameHost = false;
  try {
    sameHost = source !== undefined && source !== 'null' && new URL(source).host === req.get('host');
  } catch {
    sameHost = false;
  }
  // A browser's own `Sec-Fetch-Site` (which no page can set) settles it; older clients are
  // judged by `Origin` or `Referer`.
  if (site === undefined ? !sameHost : site !== 'same-origin') {
    res.status(403).type('text/plain').send('cross-site request refused');
    return;
  }
  next();
};

/** Whether a `next` path after login stays inside the gallery (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/ui(?:[/?#]|$)/.test(next) && !next.startsWith('//')
    ? next
    : GALLERY_PATH;
}
