/**
 * The API's OpenAPI 3.1 document, generated from the zod schemas the routes validate with (the job
 * and batch bodies, the listing and upload queries) and from the provider catalog (each operation's
 * input schema and each provider's example job), so the document cannot drift from what the API
 * accepts. Views (what the API answers) and the webhook bodies are described here by hand: they are
 * TypeScript types, not schemas the API parses.
 */
import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { JOB_STATES } from '@genqueue/core';
import { PROVIDER_CATALOG } from '@genqueue/providers';
import { z } from 'zod';
import { listQuerySchema, uploadQuerySchema } from './internal/batch-query.ts';
import { accountChangeSchema } from './routes/accounts.ts';
import { batchBodySchema } from './routes/batches.ts';
import { createJobBodySchema } from './routes/jobs.ts';
import { createKeyBodySchema } from './routes/keys.ts';

// Adds `.openapi()` to zod's prototypes (the generator reads its metadata); changes no parsing.
extendZodWithOpenApi(z);

type Json = Record<string, unknown>;

const ERROR: Json = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          description: 'stable machine-readable code, e.g. invalid_request, not_found',
        },
        message: { type: 'string' },
        issues: {
          type: 'array',
          description: 'every field at fault (400)',
          items: {
            type: 'object',
            required: ['path', 'message'],
            properties: { path: { type: 'string' }, message: { type: 'string' } },
          },
        },
        rejected: {
          type: 'array',
          description: 'batch rows refused, with their issues',
          items: { type: 'object' },
        },
      },
    },
  },
};

const STATE: Json = { type: 'string', enum: [...JOB_STATES] };
const OUTPUT: Json = {
  type: 'object',
  required: ['bucket', 'key', 'url', 'contentType', 'bytes', 'sha256'],
  properties: {
    bucket: { type: 'string' },
    key: { type: 'string' },
    url: { type: 'string', format: 'uri', description: 'public or presigned URL of the stored file' },
    contentType: { type: 'string' },
    bytes: { type: 'integer' },
    sha256: { type: 'string' },
    seed: { type: 'number' },
    thumbnail: { type: 'object', properties: { key: { type: 'string' }, url: { type: 'string' } } },
  },
};
const JOB_VIEW: Json = {
  type: 'object',
  required: ['id', 'state', 'provider', 'operation', 'input', 'attempts', 'outputs', 'createdAt'],
  properties: {
    id: { type: 'string' },
    state: { $ref: '#/components/schemas/JobState' },
    tenant: { type: 'string', description: 'whose job it is' },
    provider: { type: 'string' },
    operation: { type: 'string' },
    input: { type: 'object' },
    providerTaskId: { type: ['string', 'null'] },
    providerStatus: { type: ['string', 'null'] },
    attempts: { type: 'integer' },
    outputs: { type: 'array', items: { $ref: '#/components/schemas/Output' } },
    pointsCost: { type: ['number', 'null'] },
    account: { type: ['string', 'null'], description: 'the provider account that submitted its task' },
    accountBalance: { type: ['number', 'null'] },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
    batchId: { type: 'string' },
    metadata: { type: 'object' },
    createdAt: { type: 'string', format: 'date-time' },
    submittedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    webhooks: { type: 'array', items: { type: 'object' } },
  },
};
const BATCH_VIEW: Json = {
  type: 'object',
  required: ['id', 'provider', 'operation', 'total', 'counts', 'done', 'pointsCost', 'createdAt'],
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string', description: 'whose batch it is' },
    provider: { type: 'string' },
    operation: { type: 'string' },
    total: { type: 'integer' },
    counts: { type: 'object', additionalProperties: { type: 'integer' }, propertyNames: STATE },
    done: { type: 'boolean' },
    pointsCost: { type: 'number' },
    maxPoints: { type: 'number' },
    canceledReason: { type: 'string' },
    metadata: { type: 'object' },
    createdAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    eta: { type: 'string', format: 'date-time' },
    webhooks: { type: 'array', items: { type: 'object' } },
  },
};

const ACCOUNT_LIMITS: Json = {
  type: 'object',
  required: ['submitQps', 'maxInFlight'],
  properties: {
    submitQps: { type: 'number', description: 'submissions per second' },
    maxInFlight: { type: 'integer', description: 'tasks in flight' },
  },
};
const ACCOUNT_VIEW: Json = {
  type: 'object',
  description: 'one provider account; never a secret',
  required: [
    'provider',
    'id',
    'tags',
    'weight',
    'limits',
    'configuredLimits',
    'inFlight',
    'paused',
    'pause',
    'balance',
    'pointsSpent',
    'submitted',
  ],
  properties: {
    provider: { type: 'string' },
    id: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    weight: { type: 'number' },
    limits: {
      ...ACCOUNT_LIMITS,
      description: 'what the next grant applies (a runtime change, else the configured value)',
    },
    configuredLimits: {
      ...ACCOUNT_LIMITS,
      description: 'what the configuration says (`null` in a change goes back to it)',
    },
    inFlight: { type: 'integer', description: 'tasks in flight now' },
    paused: { type: 'boolean' },
    pause: {
      type: ['object', 'null'],
      required: ['reason', 'since', 'manual'],
      properties: {
        reason: { type: 'string' },
        since: { type: 'string', format: 'date-time' },
        manual: { type: 'boolean', description: "an operator's pause: never probed, lasts until resumed" },
        nextProbeAt: { type: 'string', format: 'date-time', description: "an account error's next probe" },
      },
    },
    balance: {
      type: ['object', 'null'],
      description: 'the last balance the provider reported',
      required: ['value', 'at'],
      properties: { value: { type: 'number' }, at: { type: 'string', format: 'date-time' } },
    },
    pointsSpent: { type: 'number' },
    submitted: { type: 'integer', description: 'tasks the provider accepted from this account' },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), json(ref('Error'), ERROR_MEANING[s] ?? 'error')]));
const ERROR_MEANING: Record<number, string> = {
  400: 'invalid request: `issues` names every field at fault',
  401: 'missing or invalid credentials',
  403: "the key lacks the route's scope (jobs:read, jobs:write or admin), or is not an admin credential",
  404: "not found (or not yours: another tenant's ids answer 404 too)",
  409: 'conflict with the current state',
  413: 'too large',
  415: 'unsupported media type',
  429: 'rate limited (rate_limited, with Retry-After) or out of tenant quota (tenant_queue_full, tenant_budget_spent)',
  503: 'Redis or S3 is down; retry later',
};
/**
 * The schema as the document shows it: a field declared `z.undefined()` (a parameter the model
 * refuses) has no JSON Schema of its own, so it is left out of its object, which already rejects
 * it when strict or lets it through for the adapter to refuse. Everything else is the schema itself.
 */
function documentable(schema: z.ZodTypeAny): z.ZodTypeAny {
  // By type name, not instanceof: a package may hold its own copy of zod.
  const def = schema._def as { typeName: string; [key: string]: unknown };
  const inner = (key: string) => documentable(def[key] as z.ZodTypeAny);
  switch (def.typeName) {
    case 'ZodEffects':
      return new z.ZodEffects({ ...(def as unknown as z.ZodEffectsDef), schema: inner('schema') });
    case 'ZodOptional':
      return inner('innerType').optional();
    case 'ZodNullable':
      return inner('innerType').nullable();
    case 'ZodArray':
      return new z.ZodArray({ ...(def as unknown as z.ZodArrayDef), type: inner('type') });
    case 'ZodUnion':
      return new z.ZodUnion({
        ...(def as unknown as z.ZodUnionDef),
        options: (def.options as z.ZodTypeAny[]).map(documentable) as never,
      });
    case 'ZodObject': {
      const shape: z.ZodRawShape = {};
      for (const [key, field] of Object.entries((schema as z.AnyZodObject).shape as z.ZodRawShape)) {
        if (!refusesEverything(field)) shape[key] = documentable(field);
      }
      return new z.ZodObject({ ...(def as unknown as z.ZodObjectDef), shape: () => shape });
    }
    default:
      return schema;
  }
}

/** `z.undefined()`, possibly optional: the field must be absent. */
function refusesEverything(schema: z.ZodTypeAny): boolean {
  const def = schema._def as { typeName: string; innerType?: z.ZodTypeAny };
  if (def.typeName === 'ZodUndefined') return true;
  return (
    (def.typeName === 'ZodOptional' || def.typeName === 'ZodNullable') &&
    !!def.innerType &&
    refusesEverything(def.innerType)
  );
}

const idParam = z.object({ id: z.string().openapi({ description: 'job or batch id' }) });

/** The document, built once per process. */
let built: Json | undefined;

/** The OpenAPI 3.1 document of the API. */
export function openApiDocument(): Json {
  if (built) return built;
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      'an API key: one of API_TOKENS (tenant default, every scope), of API_KEYS, or one created through /v1/admin/keys',
  });
  const basic = registry.registerComponent('securitySchemes', 'adminBasic', {
    type: 'http',
    scheme: 'basic',
    description: 'ADMIN_USER / ADMIN_PASSWORD',
  });
  const adminBearer = registry.registerComponent('securitySchemes', 'adminBearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'one of ADMIN_TOKENS, or an API key with the admin scope',
  });
  registry.registerComponent('schemas', 'Error', ERROR);
  registry.registerComponent('schemas', 'JobState', STATE);
  registry.registerComponent('schemas', 'Output', OUTPUT);
  registry.registerComponent('schemas', 'Job', JOB_VIEW);
  registry.registerComponent('schemas', 'Batch', BATCH_VIEW);
  registry.registerComponent('schemas', 'Account', ACCOUNT_VIEW);
  const security = [{ [bearer.name]: [] }];
  const adminSecurity = [{ [adminBearer.name]: [] }, { [basic.name]: [] }];

  // One body per provider operation, its `input` the operation's own schema from the catalog.
  const variants: z.ZodTypeAny[] = [];
  const examples: Record<string, { value: unknown }> = {};
  for (const descriptor of PROVIDER_CATALOG) {
    for (const [operation, spec] of Object.entries(descriptor.operations)) {
      const input = registry.register(
        // Component names allow letters, digits, . _ - only (OpenAPI 3.1 §4.8.7.1).
        `Input.${descriptor.name}.${operation.replace(/[^A-Za-z0-9._-]/g, '_')}`,
        documentable(spec.schema as z.ZodTypeAny).openapi({ description: spec.description }),
      );
      variants.push(
        createJobBodySchema.extend({
          provider: z.literal(descriptor.name),
          operation: z.literal(operation),
          input,
        }),
      );
    }
    examples[descriptor.name] = { value: { provider: descriptor.name, ...descriptor.example } };
  }
  const jobBody = registry.register(
    'JobRequest',
    z.union(variants as [z.ZodTypeAny, z.ZodTypeAny, ...z.ZodTypeAny[]]).openapi({ description: 'one job' }),
  );

  registry.registerPath({
    method: 'post',
    path: '/v1/jobs',
    summary: 'Submit one job',
    security,
    request: {
      headers: z.object({ 'idempotency-key': z.string().optional() }),
      body: { content: { 'application/json': { schema: jobBody, examples } } },
    },
    responses: { 202: json(ref('Job'), 'accepted, queued'), ...errors(400, 401, 413, 503) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/jobs/{id}',
    summary: 'A job',
    security,
    request: { params: idParam },
    responses: { 200: json(ref('Job'), 'the job'), ...errors(401, 404, 503) },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/jobs/{id}/cancel',
    summary: 'Cancel a job',
    security,
    request: { params: idParam },
    responses: { 200: json(ref('Job'), 'the job after the cancel'), ...errors(401, 404, 409, 503) },
  });
  const batchExample = PROVIDER_CATALOG[0]!;
  registry.registerPath({
    method: 'post',
    path: '/v1/batches',
    summary: 'Submit a batch: JSON items or prompts, or an uploaded CSV / NDJSON file',
    security,
    request: {
      query: uploadQuerySchema.partial(),
      body: {
        content: {
          'application/json': {
            schema: registry.register('BatchRequest', batchBodySchema),
            examples: {
              prompts: {
                value: {
                  provider: batchExample.name,
                  operation: batchExample.example.operation,
                  defaults: batchExample.example.input,
                  prompts: ['a lighthouse at dusk', 'a harbour at dawn'],
                },
              },
            },
          },
          'text/csv': { schema: { type: 'string', description: 'header row of input fields' } },
          'application/x-ndjson': { schema: { type: 'string', description: 'one JSON item per line' } },
        },
      },
    },
    responses: {
      202: json(
        {
          type: 'object',
          required: ['id', 'total'],
          properties: { id: { type: 'string' }, total: { type: 'integer' } },
        },
        'accepted',
      ),
      ...errors(400, 401, 413, 415, 503),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/batches/{id}',
    summary: 'A batch and its counts',
    security,
    request: { params: idParam },
    responses: { 200: json(ref('Batch'), 'the batch'), ...errors(401, 404, 503) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/batches/{id}/jobs',
    summary: "A page of a batch's jobs, in submission order",
    security,
    request: { params: idParam, query: listQuerySchema },
    responses: {
      200: json(
        {
          type: 'object',
          required: ['items', 'nextCursor'],
          properties: {
            items: { type: 'array', items: ref('Job') },
            nextCursor: { type: ['string', 'null'] },
          },
        },
        'a page',
      ),
      ...errors(400, 401, 404, 503),
    },
  });
  for (const action of ['cancel', 'retry'] as const) {
    registry.registerPath({
      method: 'post',
      path: `/v1/batches/{id}/${action}`,
      summary: action === 'cancel' ? "Cancel a batch's unfinished jobs" : "Retry a batch's failed jobs",
      security,
      request: { params: idParam },
      responses: { 200: json(ref('Batch'), 'the batch'), ...errors(401, 404, 409, 503) },
    });
  }
  for (const [format, type] of [
    ['jsonl', 'application/x-ndjson'],
    ['csv', 'text/csv'],
  ] as const) {
    registry.registerPath({
      method: 'get',
      path: `/v1/batches/{id}/results.${format}`,
      summary: `The batch's results, one row per job (${format})`,
      security,
      request: { params: idParam },
      responses: {
        200: { description: 'streamed', content: { [type]: { schema: { type: 'string' } } } },
        ...errors(401, 404),
      },
    });
  }
  registry.registerPath({
    method: 'get',
    path: '/v1/operations',
    summary: 'Every enabled provider and operation, each input schema as JSON Schema',
    security,
    responses: {
      200: json(
        {
          type: 'object',
          required: ['providers'],
          properties: { providers: { type: 'array', items: { type: 'object' } } },
        },
        'the providers and their operations',
      ),
      ...errors(401),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/providers/{provider}/models/{modelId}',
    summary: "A provider's model, from its own model lookup (LiblibAI's model version lookup)",
    security,
    request: { params: z.object({ provider: z.string(), modelId: z.string() }) },
    responses: { 200: json({ type: 'object' }, "the provider's answer"), ...errors(401, 404, 503) },
  });
  const KEY_VIEW: Json = {
    type: 'object',
    required: ['id', 'tenant', 'scopes', 'createdAt'],
    properties: {
      id: { type: 'string' },
      tenant: { type: 'string' },
      scopes: { type: 'array', items: { type: 'string', enum: ['jobs:write', 'jobs:read', 'admin'] } },
      label: { type: 'string' },
      createdAt: { type: 'string', format: 'date-time' },
    },
  };
  registry.registerPath({
    method: 'post',
    path: '/v1/admin/keys',
    summary: 'Create an API key for a tenant (admin scope); the key is in this answer only',
    security: adminSecurity,
    request: { body: { content: { 'application/json': { schema: createKeyBodySchema } } } },
    responses: {
      201: json(
        {
          ...KEY_VIEW,
          required: ['key', ...(KEY_VIEW.required as string[])],
          properties: { key: { type: 'string' }, ...(KEY_VIEW.properties as Json) },
        },
        'the new key',
      ),
      ...errors(400, 401, 403),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/admin/keys',
    summary: 'The keys created through this route, without secrets (admin scope)',
    security: adminSecurity,
    responses: {
      200: json(
        { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: KEY_VIEW } } },
        'the keys',
      ),
      ...errors(401, 403),
    },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/admin/keys/{id}',
    summary: 'Revoke a key created through /v1/admin/keys (admin scope)',
    security: adminSecurity,
    request: { params: z.object({ id: z.string() }) },
    responses: { 204: { description: 'revoked' }, ...errors(401, 403, 404) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/accounts',
    summary: 'Every account of every enabled provider: limits, load, pause, balance (admin)',
    security: adminSecurity,
    responses: {
      200: json(
        {
          type: 'object',
          required: ['accounts'],
          properties: { accounts: { type: 'array', items: ref('Account') } },
        },
        'the accounts, provider by provider, in configuration order',
      ),
      ...errors(401, 403),
    },
  });
  registry.registerPath({
    method: 'patch',
    path: '/v1/accounts/{provider}/{id}',
    summary: "Change an account's limits, or pause or resume it, from the next grant on (admin)",
    security: adminSecurity,
    request: {
      params: z.object({ provider: z.string(), id: z.string().openapi({ description: 'account id' }) }),
      body: {
        content: {
          'application/json': {
            schema: registry.register('AccountChange', accountChangeSchema),
            examples: {
              limits: { value: { maxInFlight: 2, submitQps: 0.5 } },
              configured: { value: { maxInFlight: null } },
              pause: { value: { paused: true } },
            },
          },
        },
      },
    },
    responses: { 200: json(ref('Account'), "the account's new state"), ...errors(400, 401, 403, 404, 415) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/openapi.json',
    summary: 'This document',
    security,
    responses: { 200: json({ type: 'object' }, 'OpenAPI 3.1'), ...errors(401) },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs',
    summary: 'This document as a reference page',
    security,
    responses: {
      200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
      ...errors(401),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'The process answers (no credentials)',
    responses: { 200: json({ type: 'object' }, 'alive') },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'Redis and S3 answer (no credentials)',
    responses: { 200: json({ type: 'object' }, 'ready'), 503: json({ type: 'object' }, 'what is down') },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    summary:
      'Prometheus metrics (METRICS_TOKEN or else any API_TOKENS token, or an API key with the admin scope)',
    security,
    responses: {
      200: { description: 'text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...errors(401, 403),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/queues',
    summary: 'Bull Board (when ADMIN_USER and ADMIN_PASSWORD are set)',
    security: [{ [basic.name]: [] }],
    responses: {
      200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
      401: { description: 'credentials required' },
    },
  });

  // Standard Webhooks: POSTed to the job's or batch's webhookUrl, signed (webhook-id,
  // webhook-timestamp, webhook-signature headers), body `{ type, timestamp, data }`.
  for (const [type, view] of [
    ['job.succeeded', 'Job'],
    ['job.failed', 'Job'],
    ['job.canceled', 'Job'],
    ['batch.completed', 'Batch'],
  ] as const) {
    registry.registerWebhook({
      method: 'post',
      path: type,
      summary: `${type}: sent once, signed per Standard Webhooks`,
      request: {
        headers: z.object({
          'webhook-id': z.string(),
          'webhook-timestamp': z.string(),
          'webhook-signature': z.string(),
        }),
        body: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['type', 'timestamp', 'data'],
                properties: {
                  type: { type: 'string', const: type },
                  timestamp: { type: 'string', format: 'date-time' },
                  data: ref(view),
                },
              },
            },
          },
        },
      },
      responses: { 200: { description: 'any 2xx acknowledges; anything else is retried on the schedule' } },
    });
  }

  built = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'genqueue',
      version: '0.1.0',
      description: "Image-generation jobs and batches, within each provider's limits, stored in S3.",
    },
    servers: [{ url: '/' }],
  }) as unknown as Json;
  return built;
}
