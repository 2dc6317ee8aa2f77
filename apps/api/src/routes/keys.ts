/**
 * `/v1/admin/keys`: API keys kept in Redis, managed by an operator (`requireAdmin`: the board's
 * Basic credentials, an `ADMIN_TOKENS` bearer or an API key with the `admin` scope). Mount at
 * `/v1` before the API keys' check.
 * - `POST /v1/admin/keys` `{ tenant, scopes, label? }` → `201 { key, id, tenant, scopes, … }`:
 *   the key is in this answer only; genqueue keeps its SHA-256.
 * - `GET /v1/admin/keys` → `{ keys: [{ id, tenant, scopes, label?, createdAt }] }`: no secrets.
 * - `DELETE /v1/admin/keys/:id` → `204`, or `404` for an unknown id. Revoking ends the key's
 *   gallery sessions too.
 * Keys configured in `API_KEYS` / `API_TOKENS` are not listed here and cannot be revoked here.
 */
import { SCOPES, TENANT_NAME } from '@genqueue/config';
import express, { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { AccessLocals } from '../access.ts';
import { requireAdmin } from '../auth.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, invalidRequest } from '../http-error.ts';
import { zodIssues } from '../internal/request-checks.ts';

/** The body of `POST /v1/admin/keys`. */
export const createKeyBodySchema = z
  .object({
    tenant: z.string().regex(TENANT_NAME, 'must be 1 to 64 letters, digits, _ or -'),
    scopes: z.array(z.enum(SCOPES)).min(1, 'must name at least one scope'),
    label: z.string().min(1).max(200).optional(),
  })
  .strict();

export function keysRouter(deps: RouteDeps): Router {
  const router = Router();
  const admin = requireAdmin({ ...deps.config.admin, keys: deps.keys });
  // Logs name the key that acted (never a secret); Basic and ADMIN_TOKENS are "admin".
  const actor = (res: Response) => (res.locals as Partial<AccessLocals>).principal?.keyId ?? 'admin';

  router.post('/admin/keys', admin, express.json({ limit: '16kb' }), async (req: Request, res: Response) => {
    const body = createKeyBodySchema.safeParse(req.body);
    if (!body.success) throw invalidRequest(zodIssues(body.error));
    const { key, view } = await deps.keys.stored.create(body.data);
    deps.logger.info({ keyId: view.id, tenant: view.tenant, by: actor(res) }, 'key:created');
    res
      .status(201)
      .set('Cache-Control', 'no-store')
      .json({ key, ...view });
  });

  router.get('/admin/keys', admin, async (_req: Request, res: Response) => {
    res.json({ keys: await deps.keys.stored.list() });
  });

  router.delete('/admin/keys/:id', admin, async (req: Request<{ id: string }>, res: Response) => {
    const revoked = /^k_[0-9a-f]{24}$/.test(req.params.id) && (await deps.keys.stored.revoke(req.params.id));
    if (!revoked) throw new ApiError(404, 'not_found', 'no such stored key');
    deps.logger.info({ keyId: req.params.id, by: actor(res) }, 'key:revoked');
    res.status(204).end();
  });

  return router;
}
