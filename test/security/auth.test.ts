/**
 * Nothing but the health probes answers without credentials: every `/v1` route, `/metrics`, and
 * all of Bull Board (the page, its API, and every static file it ships) answer 401 with a JSON
 * error and a challenge, for no credentials and for wrong ones (a token's prefix or extension, the
 * wrong scheme, the API token on the board); the admin routes answer 403 to an API token. Real API
 * on real Redis.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, ADMIN_TOKEN, type Stack, startStack, TEST_TOKEN } from '../support/stack.ts';
import { closeAgent, type RawRequest, send } from './support/http.ts';

const METRICS_TOKEN = 'auth-suite-metrics-token-3e1f';
let stack: Stack;
let jobId: string;
let batchId: string;

beforeAll(async () => {
  stack = await startStack({ workers: 0, env: { METRICS_TOKEN } });
  jobId = (
    await stack.call<{ id: string }>('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'p' },
    })
  ).body.id;
  const batch = await stack.call<{ id: string }>('POST', '/v1/batches', {
    operation: 'kontext.text2img',
    prompts: ['p'],
  });
  expect(batch.status).toBe(202);
  batchId = batch.body.id;
});

afterAll(async () => {
  closeAgent();
  await stack?.close();
});

/** Every file Bull Board serves under `/admin/queues/static/`. */
function boardStaticFiles(): string[] {
  const ui = dirname(createRequire(import.meta.url).resolve('@bull-board/ui/package.json'));
  const root = join(ui, 'dist', 'static');
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : [relative(root, join(dir, entry.name))],
    );
  return walk(root).map((file) => `/admin/queues/static/${file.split('\\').join('/')}`);
}

const wrongBearers = () => [
  undefined,
  `Bearer ${TEST_TOKEN.slice(0, -1)}`,
  `Bearer ${TEST_TOKEN}0`,
  `Bearer ${TEST_TOKEN.toUpperCase()}`,
  `bearer  ${TEST_TOKEN} extra`,
  `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`,
  TEST_TOKEN,
];

async function expect401(req: RawRequest, challenge: RegExp): Promise<void> {
  const res = await send(stack.api.url, req);
  const what = `${req.method} ${req.path} with ${req.headers?.authorization ?? 'no credentials'}`;
  expect(res.status, what).toBe(401);
  expect(String(res.headers['www-authenticate']), what).toMatch(challenge);
  expect((res.json as { error: { code: string } }).error.code, what).toBe('unauthorized');
}

describe('credentials are required', () => {
  it('on every /v1 route, whatever the body', async () => {
    const routes: [string, string, string?][] = [
      ['POST', '/v1/jobs', 'application/json'],
      ['GET', `/v1/jobs/${jobId}`],
      ['POST', `/v1/jobs/${jobId}/cancel`],
      ['POST', '/v1/batches', 'application/json'],
      ['POST', '/v1/batches?operation=kontext.text2img', 'text/csv'],
      ['POST', '/v1/batches?operation=kontext.text2img', 'application/x-ndjson'],
      ['GET', `/v1/batches/${batchId}`],
      ['GET', `/v1/batches/${batchId}/jobs?limit=10`],
      ['POST', `/v1/batches/${batchId}/cancel`],
      ['POST', `/v1/batches/${batchId}/retry`],
      ['GET', `/v1/batches/${batchId}/results.jsonl`],
      ['GET', `/v1/batches/${batchId}/results.csv`],
      ['GET', '/v1/no-such-route'],
      ['DELETE', `/v1/jobs/${jobId}`],
    ];
    const bodies: Record<string, string> = {
      'application/json': JSON.stringify({
        operation: 'kontext.text2img',
        input: { prompt: 'p' },
        prompts: ['p'],
      }),
      'text/csv': 'prompt\na cat\n',
      'application/x-ndjson': '{"prompt":"a cat"}\n',
    };
    for (const [method, path, type] of routes) {
      for (const authorization of wrongBearers()) {
        await expect401(
          {
            method,
            path,
            headers: {
              ...(type ? { 'content-type': type } : {}),
              ...(authorization ? { authorization } : {}),
            },
            body: type ? bodies[type] : undefined,
          },
          /^Bearer/,
        );
      }
    }
    // The right token passes the same routes (so the 401s above are the credential check's).
    expect((await stack.call('GET', `/v1/jobs/${jobId}`)).status).toBe(200);
    expect((await stack.call('GET', `/v1/batches/${batchId}`)).status).toBe(200);
  });

  it('on the admin routes: 401 but for an admin credential, 403 for an API token', async () => {
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const wrong = [
      undefined,
      `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
      `Bearer ${ADMIN_TOKEN}0`,
      `Bearer ${ADMIN_TOKEN.toUpperCase()}`,
      `Bearer ${METRICS_TOKEN}`,
      basic(ADMIN.user, `${ADMIN.password}x`),
      basic(ADMIN.user, ''),
      `Basic ${ADMIN_TOKEN}`,
      ADMIN_TOKEN,
    ];
    const routes: [string, string, string?][] = [
      ['GET', '/v1/accounts'],
      ['PATCH', '/v1/accounts/liblib/default', '{"paused":true}'],
      ['PATCH', '/v1/accounts/liblib/%', '{"paused":true}'],
      ['GET', '/v1/accounts/liblib'],
    ];
    for (const [method, path, body] of routes) {
      const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
      for (const authorization of wrong) {
        await expect401(
          { method, path, headers: { ...headers, ...(authorization ? { authorization } : {}) }, body },
          /^Bearer realm="genqueue admin"/,
        );
      }
      const forbidden = await send(stack.api.url, {
        method,
        path,
        headers: { ...headers, authorization: `Bearer ${TEST_TOKEN}` },
        body,
      });
      expect(forbidden.status, `${method} ${path}`).toBe(403);
    }
    // None of the refused PATCHes paused the account; the admin token passes.
    const listed = await send(stack.api.url, {
      method: 'GET',
      path: '/v1/accounts',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(listed.status).toBe(200);
    expect((listed.json as { accounts: { paused: boolean }[] }).accounts[0]!.paused).toBe(false);
  });

  it('on /metrics, where only METRICS_TOKEN is accepted', async () => {
    for (const authorization of [...wrongBearers(), `Bearer ${METRICS_TOKEN.slice(1)}`]) {
      await expect401(
        { method: 'GET', path: '/metrics', headers: authorization ? { authorization } : {} },
        /^Bearer/,
      );
    }
    const ok = await send(stack.api.url, {
      method: 'GET',
      path: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(ok.status).toBe(200);
  });

  it('on all of Bull Board: page, API and every static file', async () => {
    const files = boardStaticFiles();
    expect(files.length).toBeGreaterThan(5);
    const paths = [
      '/admin/queues',
      '/admin/queues/',
      '/admin/queues/queue/poll',
      '/admin/queues/api/queues',
      '/admin/queues/api/redis/stats',
      '/admin/queues/api/queues/poll/retry/failed',
      ...files,
    ];
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const wrong = [
      undefined,
      basic(ADMIN.user, `${ADMIN.password}x`),
      basic(ADMIN.user, ADMIN.password.slice(0, -1)),
      basic('root', ADMIN.password),
      `Bearer ${TEST_TOKEN}`,
    ];
    for (const path of paths) {
      for (const authorization of wrong) {
        await expect401({ method: 'GET', path, headers: authorization ? { authorization } : {} }, /^Basic/);
      }
    }
    // With the right credentials a static file is served.
    const served = await send(stack.api.url, {
      method: 'GET',
      path: files.find((f) => f.endsWith('.js'))!,
      headers: { authorization: basic(ADMIN.user, ADMIN.password) },
    });
    expect(served.status).toBe(200);
    console.log(`board paths checked without or with wrong credentials: ${paths.length} × ${wrong.length}`);
  });

  it('but not on the health probes', async () => {
    expect((await send(stack.api.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
    expect((await send(stack.api.url, { method: 'GET', path: '/readyz' })).status).toBe(200);
  });
});
