/**
 * `GET /v1/openapi.json` and `/docs`: the document is valid OpenAPI 3.1 by a real validator, names
 * every route the express app serves, and its example requests are accepted by the API (202) with
 * every provider of the catalog enabled (their base URLs point nowhere: no worker runs, the jobs
 * only queue).
 */
import { createApp } from '@genqueue/api';
import { JobStore, QueueSet, silentLogger } from '@genqueue/core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, TEST_TOKEN } from './support/stack.ts';

let stack: Stack | undefined;
// biome-ignore lint/suspicious/noExplicitAny: assertions walk the document freely
type Json = Record<string, any>;

beforeAll(async () => {
  stack = await startStack({
    workers: 0,
    env: {
      LIBLIB_V1_API_KEY: 'test-key',
      LIBLIB_V1_BASE_URL: 'http://127.0.0.1:9',
      REPLICATE_API_TOKEN: 'test-token',
      REPLICATE_BASE_URL: 'http://127.0.0.1:9',
      MODELVERSE_API_KEY: 'test-key',
      MODELVERSE_BASE_URL: 'http://127.0.0.1:9',
    },
  });
});

afterAll(async () => {
  await stack?.close();
});

async function document(): Promise<Json> {
  const { status, body } = await stack!.call<Json>('GET', '/v1/openapi.json');
  expect(status).toBe(200);
  return body;
}

/** Every `METHOD /path` the express app routes, with express parameters written as OpenAPI's. */
function expressRoutes(): string[] {
  const s = stack!;
  const store = new JobStore({ redis: s.redis, prefix: s.config.queuePrefix, retentionSeconds: 60 });
  const queues = QueueSet.fromConfig(s.config, s.redis, ['liblib']);
  const app = createApp({
    config: s.config,
    store,
    queues,
    redis: s.redis,
    providers: new Map(),
    objectUrl: async () => '',
    checkUrl: async () => undefined,
    s3Ready: async () => undefined,
    redisReady: async () => undefined,
    logger: silentLogger(),
  }) as unknown as { router: { stack: Layer[] } };
  const routes: string[] = [];
  const walk = (layers: Layer[], mount: string) => {
    for (const layer of layers) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) {
          routes.push(`${method.toUpperCase()} ${mount}${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack) {
        // Express 5 keeps no mount path on a layer: the only prefix genqueue mounts a router at is /v1.
        const at = layer.match('/v1/x') && !layer.match('/x') ? '/v1' : '';
        walk(layer.handle.stack, mount + at);
      }
    }
  };
  walk(app.router.stack, '');
  void queues.close();
  return routes;
}
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  match(path: string): boolean;
}

describe('the OpenAPI document', () => {
  it('needs the bearer token, like every /v1 route', async () => {
    const response = await fetch(`${stack!.api.url}/v1/openapi.json`);
    expect(response.status).toBe(401);
    expect((await fetch(`${stack!.api.url}/docs`)).status).toBe(401);
  });

  it('is valid OpenAPI 3.1, with bearer auth, the error shape and the webhooks', async () => {
    const doc = await document();
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
    expect(Object.keys(doc.webhooks).sort()).toEqual([
      'batch.completed',
      'job.canceled',
      'job.failed',
      'job.succeeded',
    ]);
  });

  it('names every route the express app serves', async () => {
    const doc = await document();
    const documented = new Set(
      Object.entries(doc.paths as Json).flatMap(([path, item]) =>
        Object.keys(item as Json).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    // The gallery's HTML pages (`/ui`) are for browsers, not part of the API the document describes.
    const served = expressRoutes().filter((route) => !route.split(' ')[1]!.startsWith('/ui'));
    expect(served.length).toBeGreaterThan(10);
    // results.:format is one express route for the two documented files.
    const expanded = served.flatMap((route) =>
      route.includes('results.{format}')
        ? [route.replace('{format}', 'jsonl'), route.replace('{format}', 'csv')]
        : [route],
    );
    for (const route of expanded) expect(documented, route).toContain(route);
  });

  it("documents every catalog operation's input schema", async () => {
    const doc = await document();
    const { PROVIDER_CATALOG } = await import('@genqueue/providers');
    const names = Object.keys(doc.components.schemas);
    for (const descriptor of PROVIDER_CATALOG) {
      for (const operation of Object.keys(descriptor.operations)) {
        expect(names).toContain(`Input.${descriptor.name}.${operation.replace(/[^A-Za-z0-9._-]/g, '_')}`);
      }
    }
  });

  it('has example requests the API accepts', async () => {
    const doc = await document();
    const jobExamples = Object.values(
      doc.paths['/v1/jobs'].post.requestBody.content['application/json'].examples,
    );
    expect(jobExamples.length).toBe(4);
    for (const example of jobExamples as { value: Json }[]) {
      const posted = await stack!.call<Json>('POST', '/v1/jobs', example.value);
      expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    }
    const batchExamples = Object.values(
      doc.paths['/v1/batches'].post.requestBody.content['application/json'].examples,
    );
    for (const example of batchExamples as { value: Json }[]) {
      const posted = await stack!.call<Json>('POST', '/v1/batches', example.value);
      expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    }
  });

  it('serves /docs: every route on one page, no script, a strict CSP', async () => {
    const response = await fetch(`${stack!.api.url}/docs`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|https?:/);
    const html = await response.text();
    expect(html).not.toMatch(/<script|https?:\/\//);
    for (const path of Object.keys((await document()).paths)) expect(html).toContain(`<code>${path}</code>`);
  });
});
