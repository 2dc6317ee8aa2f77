/**
 * `GET /v1/operations`: every enabled provider and operation, with its description and its input
 * schema as JSON Schema, generated from the same zod schemas that validate `POST /v1/jobs`.
 */
import { listOperations } from '@genqueue/providers';
import { Router } from 'express';
import type { RouteDeps } from '../deps.ts';

export function operationsRouter(deps: RouteDeps): Router {
  const router = Router();
  // The providers are fixed for the process's life: the listing is built once.
  const body = JSON.stringify({ providers: listOperations(deps.providers.values()) });
  router.get('/operations', (_req, res) => {
    res.type('application/json').send(body);
  });
  return router;
}
