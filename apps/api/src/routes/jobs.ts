/**
 * `/v1/jobs`: create a job, read it, cancel it.
 *
 * A job is validated twice before anything is stored: the envelope (provider, operation, input,
 * webhookUrl, metadata) with zod, then `input` with the operation's own schema from the provider
 * port. Every http(s) URL in the request is checked by the SSRF guard, since providers and our sink
 * fetch them. Local file paths in `input` are never read: the provider clients refuse them.
 */
import {
  findUrls,
  isTerminal,
  type JobRecord,
  type JobState,
  nestsDeeperThan,
  newJobId,
} from '@genqueue/core';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { idempotencyScopeOf, principalOf, readsOf, requireScope } from '../access.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, invalidRequest } from '../http-error.ts';
import { checkAccountFilter } from '../internal/account-pools.ts';
import {
  checkUrls,
  DEFAULT_PROVIDER,
  IDEMPOTENCY_TTL_SECONDS,
  idempotencyKeyOf,
  MAX_METADATA_BYTES,
  metadataSchema,
  resolveOperation,
  webhookUrlSchema,
  zodIssues,
} from '../internal/request-checks.ts';
import { requireWebhookSecret } from '../internal/webhook-config.ts';
import type { Reads } from '../reads.ts';

export { IDEMPOTENCY_TTL_SECONDS, MAX_METADATA_BYTES };
/** Most URLs checked per request; each may cost a DNS lookup. */
export const MAX_URLS_PER_JOB = 64;
/** Deepest object/array nesting accepted in a body. */
export const MAX_BODY_DEPTH = 32;

const jsonObject = z.record(z.unknown());

/** The body of `POST /v1/jobs`. Unknown fields are refused, so a typo (`webhook_url`) is not silently ignored. */
export const createJobBodySchema = z
  .object({
    provider: z.string().min(1).max(64).default(DEFAULT_PROVIDER),
    operation: z.string().min(1).max(128),
    input: jsonObject,
    webhookUrl: webhookUrlSchema.optional(),
    metadata: metadataSchema.optional(),
    /** Only this account of the provider may submit the job. */
    account: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, 'an account id: 1 to 32 letters, digits, _ or -')
      .optional(),
    /** Only accounts with every one of these tags may submit the job. */
    accountTags: z.array(z.string().min(1).max(64)).max(16).optional(),
  })
  .strict();

// Canonical JSON (sorted keys), to compare a replayed request with the stored job.
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** The `/v1/jobs` routes. Mount under `/v1` behind `keyAuth`. */
export function jobsRouter(deps: RouteDeps): Router {
  const router = Router();
  const now = deps.now ?? Date.now;

  router.post('/jobs', requireScope('jobs:write'), async (req: Request, res: Response) => {
    if (req.is('application/json') === false) {
      throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
    }
    const idempotencyKey = idempotencyKeyOf(req);
    if (nestsDeeperThan(req.body, MAX_BODY_DEPTH)) {
      throw invalidRequest([{ path: 'body', message: `nests deeper than ${MAX_BODY_DEPTH} levels` }]);
    }

    const envelope = createJobBodySchema.safeParse(req.body);
    if (!envelope.success) throw invalidRequest(zodIssues(envelope.error));
    const { provider: providerName, operation, webhookUrl, metadata, account, accountTags } = envelope.data;

    const { spec } = resolveOperation(deps.providers, providerName, operation);
    const parsedInput = spec.schema.safeParse(envelope.data.input);
    if (!parsedInput.success) throw invalidRequest(zodIssues(parsedInput.error, ['input']));
    const input = parsedInput.data;
    checkAccountFilter(deps.pools, providerName, { account, tags: accountTags });

    await checkUrls(
      deps.checkUrl,
      [
        ...(webhookUrl ? [{ path: ['webhookUrl'], url: webhookUrl }] : []),
        ...findUrls(input, ['input'], MAX_URLS_PER_JOB),
      ],
      MAX_URLS_PER_JOB,
    );
    // After the URL checks, so a refused URL is reported by field whatever the server's setup.
    if (webhookUrl) requireWebhookSecret(deps.config);

    const principal = principalOf(res);
    await deps.quotas.admit(principal.tenant, 1);
    const createdAt = now();
    const id = newJobId(createdAt);
    // The record, its submit entry in the outbox and the key are written in one step: a crash
    // after it leaves a job a worker's outbox sweep enqueues, never one stuck `queued`.
    const created = await deps.store.createJob(
      {
        id,
        tenant: principal.tenant,
        provider: providerName,
        operation,
        input,
        webhookUrl,
        events: webhookUrl ? ['job.succeeded', 'job.failed'] : undefined,
        metadata,
        accountPin: account,
        accountTags,
        createdAt,
      },
      idempotencyKey === undefined
        ? undefined
        : { scope: idempotencyScopeOf(principal), key: idempotencyKey, ttlSeconds: IDEMPOTENCY_TTL_SECONDS },
    );
    if (!created.created) {
      await replay(reads(res), res, created.existingId, { provider: providerName, operation, input });
      return;
    }
    await deps.lifecycle.drain(created.outbox);
    deps.logger.info({ jobId: id, provider: providerName, operation }, 'job:created');
    res.status(202).json({ id, state: 'queued' satisfies JobState });
  });

  router.get('/jobs/:id', requireScope('jobs:read'), async (req: Request<{ id: string }>, res: Response) => {
    const r = reads(res);
    const job = await findJob(r, req.params.id);
    res.json(await r.view(job, { webhooks: true }));
  });

  router.post(
    '/jobs/:id/cancel',
    requireScope('jobs:write'),
    async (req: Request<{ id: string }>, res: Response) => {
      const job = await findJob(reads(res), req.params.id);
      if (isTerminal(job.state)) throw new ApiError(409, 'conflict', `job already ${job.state}`);
      // The lifecycle cancels a queued job at once (and announces it, completing its batch if it was
      // the last); a running one is flagged for the worker, which cancels it at the provider.
      const state = await deps.lifecycle.cancel(job.id, { code: 'canceled', message: 'canceled by user' });
      if (state === undefined) throw new ApiError(404, 'not_found', `no job ${job.id}`);
      if (state !== 'canceled' && isTerminal(state))
        throw new ApiError(409, 'conflict', `job already ${state}`);
      deps.logger.info(
        { jobId: job.id, state },
        state === 'canceled' ? 'job:canceled' : 'job:cancel-requested',
      );
      res.status(202).json({ id: job.id, state });
    },
  );

  const reads = (res: Response): Reads => readsOf(deps, res);

  return router;
}

async function findJob(reads: Reads, id: string): Promise<JobRecord> {
  const job = await reads.job(id);
  if (!job) throw new ApiError(404, 'not_found', 'job not found');
  return job;
}

async function replay(
  reads: Reads,
  res: Response,
  existingId: string,
  request: { provider: string; operation: string; input: Record<string, unknown> },
): Promise<void> {
  const existing = await reads.job(existingId);
  if (!existing) {
    // The key outlived its job's record (retention shorter than the key's TTL).
    throw new ApiError(409, 'conflict', 'the job of this Idempotency-Key no longer exists');
  }
  if (
    existing.provider !== request.provider ||
    existing.operation !== request.operation ||
    canonical(existing.input) !== canonical(request.input)
  ) {
    throw new ApiError(
      422,
      'idempotency_key_reused',
      'this Idempotency-Key was used with a different request',
    );
  }
  res.status(200).set('Idempotent-Replayed', 'true').json({ id: existing.id, state: existing.state });
}
