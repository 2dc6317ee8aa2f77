/**
 * Who may call what: bearer tokens on every `/v1` route (and the API reference, with `API_KEYS`
 * alone too), an admin API key on `/metrics`, Basic auth on all of Bull Board (page,
 * API, static files), open health probes, and secure headers. Real HTTP, real Redis.
 */

import { loadConfig } from '@genqueue/config';
import { type ProviderOperations, silentLogger } from '@genqueue/core';
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ApiHandle, startApi } from '../apps/api/src/index.ts';
import { connectRedis, deletePrefix, uniquePrefix } from './support/redis.ts';

const TOKEN = 'auth-test-token-5f1c2a9e';
const ADMIN = { user: 'ops', password: 'correct horse battery staple' };

const provider: ProviderOperations = {
  name: 'liblib',
  description: 'a provider with LiblibAI-like operations',
  operations: {
    'kontext.text2img': {
      schema: z.object({ prompt: z.string().min(1) }).passthrough(),
      output: 'image',
      description: 'text to image',
    },
  },
};

let redis: Redis;
const prefixes: string[] = [];
const apis: ApiHandle[] = [];

async function start(env: Record<string, string>): Promise<ApiHandle> {
  const prefix = uniquePrefix('api-auth');
  prefixes.push(prefix);
  const api = await startApi(loadConfig({ QUEUE_PREFIX: prefix, ...env }), {
    host: '127.0.0.1',
    port: 0,
    redis,
    logger: silentLogger(),
    providers: new Map([['liblib', provider]]),
    checkUrl: async () => {},
    objectUrl: async (bucket, key) => `https://cdn.example.test/${bucket}/${key}`,
    s3Ready: async () => {},
    announceToken: () => {},
  });
  apis.push(api);
  return api;
}

let api: ApiHandle;

beforeAll(async () => {
  redis = connectRedis();
  api = await start({ API_TOKENS: TOKEN, ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password });
});

afterAll(async () => {
  for (const a of apis) await a.close();
  if (redis) {
    for (const p of prefixes) await deletePrefix(redis, p);
    await redis.quit();
  }
});

async function hit(url: string, method: string, headers: Record<string, string> = {}, body?: string) {
  const res = await request(url, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

const V1_ROUTES: [string, string][] = [
  ['POST', '/v1/jobs'],
  ['GET', '/v1/jobs/j_00000000000000000000000000'],
  ['POST', '/v1/jobs/j_00000000000000000000000000/cancel'],
  ['GET', '/v1/no-such-route'],
];

describe('/v1 bearer tokens', () => {
  const jobBody = JSON.stringify({ operation: 'kontext.text2img', input: { prompt: 'p' } });
  const cases: [string, Record<string, string>][] = [
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the token plus a character', { authorization: `Bearer ${TOKEN}x` }],
    ['Basic instead of Bearer', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }],
  ];
  for (const [label, headers] of cases) {
    it(`answers 401 with a Bearer challenge on every route for ${label}`, async () => {
      for (const [method, path] of V1_ROUTES) {
        const res = await hit(
          `${api.url}${path}`,
          method,
          { 'content-type': 'application/json', ...headers },
          jobBody,
        );
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
        expect(JSON.parse(res.text).error.code).toBe('unauthorized');
      }
    });
  }

  it('lets the right token through', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const created = await hit(
      `${api.url}/v1/jobs`,
      'POST',
      { ...auth, 'content-type': 'application/json' },
      jobBody,
    );
    expect(created.status).toBe(202);
    const { id } = JSON.parse(created.text) as { id: string };
    expect((await hit(`${api.url}/v1/jobs/${id}`, 'GET', auth)).status).toBe(200);
    expect((await hit(`${api.url}/v1/jobs/${id}/cancel`, 'POST', auth)).status).toBe(202);
    expect((await hit(`${api.url}/v1/no-such-route`, 'GET', auth)).status).toBe(404);
  });

  it('leaves the health probes open', async () => {
    expect((await hit(`${api.url}/healthz`, 'GET')).status).toBe(200);
    expect((await hit(`${api.url}/readyz`, 'GET')).status).toBe(200);
  });

  it('sends secure headers and no x-powered-by', async () => {
    const res = await hit(`${api.url}/healthz`, 'GET');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(String(res.headers['content-security-policy'])).toContain("default-src 'none'");
    expect(res.headers['strict-transport-security']).toBeDefined();
  });
});

describe('a deployment with API_KEYS only', () => {
  const KEYS = {
    read: 'keyed-read-key-0a8c3e51',
    write: 'keyed-write-key-7d29b4f6',
    readWrite: 'keyed-read-write-key-51d8c7e3',
    admin: 'keyed-admin-key-c1e05a92',
  };
  let keyed: ApiHandle;

  beforeAll(async () => {
    keyed = await start({
      API_KEYS: JSON.stringify([
        { tenant: 'a', key: KEYS.read, scopes: ['jobs:read'] },
        { tenant: 'a', key: KEYS.write, scopes: ['jobs:write'] },
        { tenant: 'a', key: KEYS.readWrite, scopes: ['jobs:read', 'jobs:write'] },
        { tenant: 'ops', key: KEYS.admin, scopes: ['admin'] },
      ]),
    });
  });

  describe('/docs and /v1/openapi.json', () => {
    const DOC_PATHS = ['/v1/openapi.json', '/docs'];

    it('serves both to any valid key, whatever its scopes', async () => {
      expect(keyed.tokens).toEqual([]);
      for (const key of Object.values(KEYS)) {
        for (const path of DOC_PATHS) {
          const res = await hit(`${keyed.url}${path}`, 'GET', { authorization: `Bearer ${key}` });
          expect(res.status, `${path} with ${key}`).toBe(200);
        }
      }
      const doc = await hit(`${keyed.url}/v1/openapi.json`, 'GET', { authorization: `Bearer ${KEYS.read}` });
      expect(JSON.parse(doc.text).openapi).toBe('3.1.0');
      const page = await hit(`${keyed.url}/docs`, 'GET', { authorization: `Bearer ${KEYS.read}` });
      expect(page.text).toContain('API reference');
    });

    it('answers 401 with a Bearer challenge without a key or with a wrong one', async () => {
      const wrong: Record<string, string>[] = [
        {},
        { authorization: 'Bearer not-a-key' },
        { authorization: `Bearer ${KEYS.read}x` },
        { authorization: `Basic ${Buffer.from(`x:${KEYS.read}`).toString('base64')}` },
      ];
      for (const path of DOC_PATHS) {
        for (const headers of wrong) {
          const res = await hit(`${keyed.url}${path}`, 'GET', headers);
          expect(res.status, `${path} with ${JSON.stringify(headers)}`).toBe(401);
          expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
          expect(JSON.parse(res.text).error.code).toBe('unauthorized');
        }
      }
    });
  });

  describe('/metrics', () => {
    it('serves the deployment-wide figures to a key with the admin scope', async () => {
      expect(keyed.tokens).toEqual([]);
      const res = await hit(`${keyed.url}/metrics`, 'GET', { authorization: `Bearer ${KEYS.admin}` });
      expect(res.status).toBe(200);
      expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
      expect(res.text).toContain('# TYPE genqueue_submissions_total counter');
    });

    it('answers 403 to a key with only jobs scopes, 401 without a key or with a wrong one', async () => {
      for (const key of [KEYS.read, KEYS.write, KEYS.readWrite]) {
        const res = await hit(`${keyed.url}/metrics`, 'GET', { authorization: `Bearer ${key}` });
        expect(res.status, key).toBe(403);
        expect(JSON.parse(res.text).error.code).toBe('forbidden');
      }
      const wrong: Record<string, string>[] = [
        {},
        { authorization: 'Bearer not-a-key' },
        { authorization: `Bearer ${KEYS.admin}x` },
      ];
      for (const headers of wrong) {
        const res = await hit(`${keyed.url}/metrics`, 'GET', headers);
        expect(res.status, JSON.stringify(headers)).toBe(401);
        expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
      }
    });
  });
});

describe('Bull Board Basic auth', () => {
  const BOARD_PATHS = ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/images/logo.svg'];

  it('answers 401 with a Basic challenge for the page, the API and a static asset', async () => {
    const wrong: Record<string, string>[] = [
      {},
      { authorization: basic(ADMIN.user, 'wrong') },
      { authorization: basic('wrong', ADMIN.password) },
      { authorization: basic(ADMIN.user, `${ADMIN.password}x`) },
      { authorization: `Bearer ${TOKEN}` },
      { authorization: 'Basic !!!' },
    ];
    for (const path of BOARD_PATHS) {
      for (const headers of wrong) {
        const res = await hit(`${api.url}${path}`, 'GET', headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(String(res.headers['www-authenticate'])).toMatch(/^Basic realm=/);
        expect(res.text).not.toContain('bull');
      }
    }
  });

  it('serves the page, the API and the static asset with the right credentials', async () => {
    const auth = { authorization: basic(ADMIN.user, ADMIN.password) };
    const page = await hit(`${api.url}/admin/queues`, 'GET', auth);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="root">');
    const queues = await hit(`${api.url}/admin/queues/api/queues`, 'GET', auth);
    expect(queues.status).toBe(200);
    const asset = await hit(`${api.url}/admin/queues/static/images/logo.svg`, 'GET', auth);
    expect(asset.status).toBe(200);
    expect(asset.text).toContain('<svg');
  });

  it('is disabled (404), never open, when the admin user or password is unset', async () => {
    const noPassword = await start({ API_TOKENS: TOKEN, ADMIN_USER: 'ops' });
    const nothing = await start({ API_TOKENS: TOKEN });
    for (const a of [noPassword, nothing]) {
      for (const path of BOARD_PATHS) {
        expect((await hit(`${a.url}${path}`, 'GET')).status, path).toBe(404);
        expect((await hit(`${a.url}${path}`, 'GET', { authorization: basic('ops', '') })).status, path).toBe(
          404,
        );
      }
    }
  });
});
