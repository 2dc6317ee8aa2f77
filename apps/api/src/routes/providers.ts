/**
 * Provider lookups that are not jobs: `GET /v1/providers/:provider/models/:modelId` answers the
 * provider's description of a model, for providers that have such a lookup (LiblibAI's model
 * version lookup, 002 §4.1.1: `GET /v1/providers/liblib/models/:versionUuid`).
 *
 * Answers: 200 `{ provider, model }`; 404 `not_found` for an unknown provider, a provider without
 * lookups, or a model the provider does not know; 400 for a malformed id; 503 `unavailable` when
 * the provider cannot answer now (outage, rate limit, account problem).
 */
import { ProviderError } from '@genqueue/core';
import { type Request, type Response, Router } from 'express';
import type { RouteDeps } from '../deps.ts';
import { ApiError, invalidRequest } from '../http-error.ts';

/** The `/v1/providers` routes. Mount under `/v1` behind `keyAuth`. */
export function providersRouter(deps: RouteDeps): Router {
  const router = Router();
  router.get('/providers/:provider/models/:modelId', async (req: Request, res: Response) => {
    const { provider: name, modelId } = req.params as { provider: string; modelId: string };
    const lookupModel = deps.providers.has(name) ? deps.modelLookup?.(name) : undefined;
    if (!lookupModel) {
      throw new ApiError(
        404,
        'not_found',
        `provider ${name} is not enabled, has no model lookup, or this API has not its credentials`,
      );
    }
    try {
      const model = await lookupModel(modelId, { jobId: `lookup-${modelId}` });
      res.json({ provider: name, model });
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (error.errorClass === 'invalid_job') {
        // LiblibAI: 200001 "model does not exist"; a malformed id is refused before any call.
        if (error.code === 'invalid_input') {
          throw invalidRequest([{ path: 'modelId', message: error.message }]);
        }
        throw new ApiError(404, 'not_found', `${name} does not know model ${modelId}: ${error.message}`);
      }
      res.set('retry-after', String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1_000) / 1000))));
      throw new ApiError(503, 'unavailable', `${name} cannot answer now: ${error.message}`);
    }
  });
  return router;
}
