/**
 * Who may see the gallery: the Bull Board admin (HTTP Basic, `ADMIN_USER`/`ADMIN_PASSWORD`), who
 * sees every tenant's work; a caller with an API key holding `jobs:read` (`Authorization:
 * Bearer`), who sees its tenant's (every tenant's with `admin`); or a browser that signed in with
 * such a key on the login form and holds its session cookie. Canceling and retrying from the
 * gallery needs `jobs:write`, as through the API.
 *
 * The cookie never holds the key. It holds the key's id, an expiry and an HMAC-SHA256 of both
 * keyed by the key's SHA-256 (which the server keeps, and the key's holder can compute): any API
 * process can check it without shared state, and removing or revoking a key ends its sessions.
 * It is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's request carries it)
 * and limited to `/ui`.
 *
 * Every POST must also come from a gallery page: the browser's `Sec-Fetch-Site` must say
 * `same-origin`, or, from a client that sends none, `Origin` (else `Referer`) must name this host. That
 * covers Basic credentials too, which browsers attach to cross-site requests whatever SameSite says.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DEFAULT_TENANT } from '@genqueue/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { readScopeOf } from '../access.ts';
import { basicDigests, basicMatches, bearerToken } from '../auth.ts';
import { hasScope, type KeyRing, type Principal } from '../key-ring.ts';
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
  /** Whether the caller may cancel and retry (`jobs:write`, or the board's admin). */
  canWrite: boolean;
}

/** Credentials the gallery accepts. */
export interface GalleryCredentials {
  keys: KeyRing;
  admin: { user?: string; password?: string };
}

const sign = (digest: string, payload: string) =>
  createHmac('sha256', digest).update(payload).digest('base64url');

/** The cookie value for a sign-in with the key of `principal` at `now` (epoch ms). */
export function sessionValue(principal: Principal, now: number): string {
  const payload = `${principal.keyId}.${Math.floor(now / 1000) + SESSION_TTL_SECONDS}`;
  return `${payload}.${sign(principal.digest, payload)}`;
}

/** The `Set-Cookie` header that signs a browser in (or out, with `value` empty). */
export function sessionCookie(value: string): string {
  const age = value ? SESSION_TTL_SECONDS : 0;
  return `${SESSION_COOKIE}=${value}; Path=${GALLERY_PATH}; Max-Age=${age}; HttpOnly; SameSite=Strict`;
}

/** The principal one of whose sessions `value` is, if it is valid and unexpired at `now`. */
export async function sessionPrincipal(
  value: string,
  keys: KeyRing,
  now: number,
): Promise<Principal | undefined> {
  const [id, expires, mac] = value.split('.');
  if (!id || !expires || !mac || !/^k_[0-9a-f]{24}$/.test(id) || !/^\d{1,12}$/.test(expires))
    return undefined;
  if (Number(expires) * 1000 <= now) return undefined;
  const principal = await keys.byId(id);
  if (!principal) return undefined;
  const expected = Buffer.from(sign(principal.digest, `${id}.${expires}`));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given) ? principal : undefined;
}

/** What a signed-in key may do in the gallery, or undefined when it may not read. */
function localsOf(principal: Principal | undefined): GalleryLocals | undefined {
  if (!principal || !hasScope(principal, 'jobs:read')) return undefined;
  return { readScope: readScopeOf(principal), canWrite: hasScope(principal, 'jobs:write') };
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** What the caller may do, or undefined without valid credentials. */
export async function galleryAccess(
  req: Request,
  credentials: GalleryCredentials,
  now: number,
): Promise<GalleryLocals | undefined> {
  const authorization = req.get('authorization') ?? '';
  const { user, password } = credentials.admin;
  if (user && password && basicMatches(authorization, basicDigests({ user, password }))) {
    return { readScope: { tenant: DEFAULT_TENANT, admin: true }, canWrite: true };
  }
  const token = bearerToken(authorization);
  if (token !== undefined) {
    const access = localsOf(await credentials.keys.authenticate(token));
    if (access) return access;
  }
  const cookie = cookieOf(req, SESSION_COOKIE);
  if (cookie) return localsOf(await sessionPrincipal(cookie, credentials.keys, now));
  return undefined;
}

/** The principal of a key given on the login form, if it may read the gallery. */
export async function loginPrincipal(keys: KeyRing, key: string): Promise<Principal | undefined> {
  const principal = key ? await keys.authenticate(key) : undefined;
  return principal && localsOf(principal) ? principal : undefined;
}

/**
 * Requires gallery credentials. Without them, a page (a GET that accepts HTML) is redirected to
 * the login form; anything else answers 401.
 */
export function requireGalleryAuth(credentials: GalleryCredentials, now: () => number): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    let access: GalleryLocals | undefined;
    try {
      access = await galleryAccess(req, credentials, now());
    } catch (error) {
      next(error);
      return;
    }
    if (access) {
      Object.assign(res.locals, access);
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
