/**
 * Tenants on the whole stack: two tenants' keys (`API_KEYS`), a read-only key and an admin key.
 * Each tenant sees only its own jobs, batches, results and gallery pages (in Chromium too); every
 * route tried with the other tenant's ids answers 404, as for ids that do not exist; the admin key
 * sees both. Scopes: a read-only key reads but cannot submit, cancel or retry (403). Keys created
 * through `/v1/admin/keys` work at once and stop working when revoked. Quotas: the daily points
 * budget and the queued-jobs cap refuse new work with 429 and a code saying which.
 */
import { existsSync } from 'node:fs';
import type { BatchView, JobView } from '@genqueue/core';
import { type Browser, chromium } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

const CHROMIUM = '/usr/bin/chromium';
const KEY = {
  a: 'tenant-a-key-0123456789abcdef',
  b: 'tenant-b-key-0123456789abcdef',
  aRead: 'tenant-a-read-only-0123456789',
  admin: 'tenant-admin-key-0123456789ab',
};
const API_KEYS = JSON.stringify([
  { tenant: 'a', key: KEY.a, scopes: ['jobs:write', 'jobs:read'] },
  // configured by hash, so the key itself need not sit in the environment
  {
    tenant: 'b',
    sha256: (await import('node:crypto')).createHash('sha256').update(KEY.b).digest('hex'),
    scopes: ['jobs:write', 'jobs:read'],
  },
  { tenant: 'a', key: KEY.aRead, scopes: ['jobs:read'] },
  { tenant: 'ops', key: KEY.admin, scopes: ['admin'] },
]);

let stack: Stack;

interface Owned {
  job: string;
  batch: string;
  item: string;
  fileKey: string;
}
const owned: Record<'a' | 'b', Owned> = {} as never;

async function call<T = unknown>(
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; text: string; headers: Record<string, unknown> }> {
  const res = await request(`${stack.api.url}${path}`, {
    method: method as 'GET',
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode, body: parsed as T, text, headers: res.headers };
}

async function post(key: string, tenant: 'a' | 'b'): Promise<Owned> {
  const job = await call<{ id: string }>(key, 'POST', '/v1/jobs', {
    operation: 'kontext.text2img',
    input: { prompt: `${tenant} single` },
  });
  expect(job.status).toBe(202);
  const batch = await call<{ id: string }>(key, 'POST', '/v1/batches', {
    operation: 'kontext.text2img',
    prompts: [`${tenant} one`, `${tenant} two`],
  });
  expect(batch.status).toBe(202);
  const [item] = await stack.itemIds(batch.body.id);
  return { job: job.body.id, batch: batch.body.id, item: item!, fileKey: '' };
}

beforeAll(async () => {
  stack = await startStack({
    sim: {
      submitQps: 20,
      maxInFlight: 5,
      latencyMs: { min: 50, max: 100 },
      imageSize: { width: 32, height: 32 },
    },
    env: {
      API_KEYS,
      // b may spend 1 point a day: its first jobs are accepted (nothing spent yet), later ones not
      TENANTS: JSON.stringify({ b: { dailyPoints: 1 } }),
      LIBLIB_SUBMIT_QPS: '20',
    },
  });
  owned.a = await post(KEY.a, 'a');
  owned.b = await post(KEY.b, 'b');
  for (const tenant of ['a', 'b'] as const) {
    const o = owned[tenant];
    await stack.waitFor(
      async () =>
        (await call<JobView>(KEY.admin, 'GET', `/v1/jobs/${o.job}`)).body.state === 'succeeded' &&
        (await call<BatchView>(KEY.admin, 'GET', `/v1/batches/${o.batch}`)).body.done,
      30_000,
      `${tenant}'s batch`,
    );
    o.fileKey = (await call<JobView>(KEY.admin, 'GET', `/v1/jobs/${o.item}`)).body.outputs[0]!.key;
  }
}, 90_000);

afterAll(async () => {
  await stack?.close();
});

/** Every route that names a job or a batch, for `o`'s ids. */
function routes(o: Owned): [string, string][] {
  return [
    ['GET', `/v1/jobs/${o.job}`],
    ['GET', `/v1/jobs/${o.item}`],
    ['POST', `/v1/jobs/${o.job}/cancel`],
    ['POST', `/v1/jobs/${o.item}/cancel`],
    ['GET', `/v1/batches/${o.batch}`],
    ['GET', `/v1/batches/${o.batch}/jobs`],
    ['POST', `/v1/batches/${o.batch}/cancel`],
    ['POST', `/v1/batches/${o.batch}/retry`],
    ['GET', `/v1/batches/${o.batch}/results.jsonl`],
    ['GET', `/v1/batches/${o.batch}/results.csv`],
    ['GET', `/ui/batches/${o.batch}`],
    ['GET', `/ui/batches/${o.batch}/progress`],
    ['GET', `/ui/batches/${o.batch}/tiles?indexes=0,1`],
    ['GET', `/ui/batches/${o.batch}/results.jsonl`],
    ['GET', `/ui/batches/${o.batch}/results.csv`],
    ['GET', `/ui/jobs/${o.job}`],
    ['GET', `/ui/jobs/${o.item}`],
    ['GET', `/ui/files/${o.fileKey}`],
    ['POST', `/ui/batches/${o.batch}/cancel`],
    ['POST', `/ui/batches/${o.batch}/retry`],
  ];
}

const gallery = (path: string): Record<string, string> =>
  path.startsWith('/ui') ? { origin: stack.api.url, accept: 'text/html' } : {};

describe('two tenants', () => {
  it("answers 404 on every route for the other tenant's ids, as for ids that do not exist", async () => {
    for (const [mine, theirs] of [
      [KEY.a, owned.b],
      [KEY.b, owned.a],
    ] as const) {
      for (const [method, path] of routes(theirs)) {
        const res = await call(mine, method, path, undefined, gallery(path));
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
        // nothing of the record leaks into the refusal
        expect(res.text).not.toContain('single');
      }
    }
    // the other tenant's work is untouched by those cancels and retries
    expect((await call<JobView>(KEY.admin, 'GET', `/v1/jobs/${owned.b.job}`)).body.state).toBe('succeeded');
  });

  it('shows each tenant its own records on the same routes, and the admin key both', async () => {
    for (const [key, o] of [
      [KEY.a, owned.a],
      [KEY.b, owned.b],
      [KEY.admin, owned.a],
      [KEY.admin, owned.b],
    ] as const) {
      for (const [method, path] of routes(o).filter(([m]) => m === 'GET')) {
        const res = await call(key, method, path, undefined, gallery(path));
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
      }
    }
    const job = await call<JobView>(KEY.a, 'GET', `/v1/jobs/${owned.a.job}`);
    expect(job.body.tenant).toBe('a');
    const batch = await call<BatchView>(KEY.b, 'GET', `/v1/batches/${owned.b.batch}`);
    expect(batch.body.tenant).toBe('b');
  });

  it("lists a tenant's own batches only in the gallery; the admin sees every tenant's", async () => {
    const listing = async (key: string) => (await call(key, 'GET', '/ui', undefined, gallery('/ui'))).text;
    const a = await listing(KEY.a);
    expect(a).toContain(owned.a.batch);
    expect(a).not.toContain(owned.b.batch);
    const b = await listing(KEY.b);
    expect(b).toContain(owned.b.batch);
    expect(b).not.toContain(owned.a.batch);
    const admin = await listing(KEY.admin);
    expect(admin).toContain(owned.a.batch);
    expect(admin).toContain(owned.b.batch);
  });

  it('gives batch items ids that are neither the batch id plus an index nor alike', async () => {
    const ids = await stack.itemIds(owned.a.batch);
    expect(ids).toHaveLength(2);
    for (const [index, id] of ids.entries()) {
      expect(id).not.toBe(`${owned.a.batch}-${index}`);
      expect(id).toMatch(new RegExp(`^${owned.a.batch}-[0-9a-f]{16}$`));
    }
    expect((await call(KEY.a, 'GET', `/v1/jobs/${owned.a.batch}-0`)).status).toBe(404);
  });

  it('keeps Idempotency-Keys apart between tenants', async () => {
    const body = { operation: 'kontext.text2img', input: { prompt: 'same key, two tenants' } };
    const headers = { 'idempotency-key': 'shared-key-1' };
    const a = await call<{ id: string }>(KEY.a, 'POST', '/v1/jobs', body, headers);
    const again = await call<{ id: string }>(KEY.a, 'POST', '/v1/jobs', body, headers);
    const otherTenant = await call<{ id: string }>(KEY.admin, 'POST', '/v1/jobs', body, headers);
    expect([a.status, again.status, otherTenant.status]).toEqual([202, 200, 202]);
    expect(again.body.id).toBe(a.body.id);
    expect(otherTenant.body.id).not.toBe(a.body.id);
  });

  it('signs a browser in with a tenant key and shows it that tenant only (Chromium)', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing`).toBe(true);
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu'],
      });
      const context = await browser.newContext();
      const origin = new URL(stack.api.url).origin;
      await context.route('**/*', (route) =>
        route.request().url().startsWith(origin) ? route.continue() : route.abort(),
      );
      const page = await context.newPage();
      await page.goto(`${stack.api.url}/ui/login`);
      await page.fill('#token', KEY.b);
      await page.click('button[type=submit]');
      await page.waitForURL(`${stack.api.url}/ui`);
      await page.locator(`a[href="/ui/batches/${owned.b.batch}"]`).waitFor();
      expect(await page.locator(`a[href="/ui/batches/${owned.a.batch}"]`).count()).toBe(0);
      const theirs = await page.goto(`${stack.api.url}/ui/batches/${owned.a.batch}`);
      expect(theirs?.status()).toBe(404);
      const theirJob = await page.goto(`${stack.api.url}/ui/jobs/${owned.a.item}`);
      expect(theirJob?.status()).toBe(404);
      const mine = await page.goto(`${stack.api.url}/ui/jobs/${owned.b.item}`);
      expect(mine?.status()).toBe(200);
      await page.locator('pre.input').waitFor();
    } finally {
      await browser?.close();
    }
  });
});

describe('scopes', () => {
  it('lets a read-only key read, but not submit, cancel or retry (403)', async () => {
    expect((await call(KEY.aRead, 'GET', `/v1/jobs/${owned.a.job}`)).status).toBe(200);
    expect((await call(KEY.aRead, 'GET', `/v1/batches/${owned.a.batch}/results.csv`)).status).toBe(200);
    const refused = [
      await call(KEY.aRead, 'POST', '/v1/jobs', { operation: 'kontext.text2img', input: { prompt: 'x' } }),
      await call(KEY.aRead, 'POST', '/v1/batches', { operation: 'kontext.text2img', prompts: ['x'] }),
      await call(KEY.aRead, 'POST', `/v1/jobs/${owned.a.job}/cancel`),
      await call(KEY.aRead, 'POST', `/v1/batches/${owned.a.batch}/cancel`),
      await call(KEY.aRead, 'POST', `/v1/batches/${owned.a.batch}/retry`),
      await call(KEY.aRead, 'POST', `/ui/batches/${owned.a.batch}/retry`, undefined, gallery('/ui')),
      await call(KEY.aRead, 'GET', '/v1/admin/keys'),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect((refused[0]!.body as { error: { code: string } }).error.code).toBe('forbidden');
  });

  it('creates, lists (without secrets) and revokes stored keys through the admin routes', async () => {
    const created = await call<{ key: string; id: string; tenant: string }>(
      KEY.admin,
      'POST',
      '/v1/admin/keys',
      {
        tenant: 'c',
        scopes: ['jobs:read', 'jobs:write'],
        label: 'ci',
      },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenant: 'c', id: expect.stringMatching(/^k_/) });
    const key = created.body.key;
    const job = await call<{ id: string }>(key, 'POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'tenant c' },
    });
    expect(job.status).toBe(202);
    expect((await call<JobView>(key, 'GET', `/v1/jobs/${job.body.id}`)).body.tenant).toBe('c');
    expect((await call(key, 'GET', `/v1/jobs/${owned.a.job}`)).status).toBe(404);

    const listed = await call<{ keys: { id: string }[] }>(KEY.admin, 'GET', '/v1/admin/keys');
    expect(listed.body.keys.map((k) => k.id)).toContain(created.body.id);
    expect(listed.text).not.toContain(key);
    expect((await call(KEY.a, 'POST', '/v1/admin/keys', { tenant: 'a', scopes: ['admin'] })).status).toBe(
      403,
    );
    const bad = await call<{ error: { issues: { path: string }[] } }>(KEY.admin, 'POST', '/v1/admin/keys', {
      tenant: 'has space',
      scopes: ['everything'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i) => i.path).sort()).toEqual(['scopes[0]', 'tenant']);

    expect((await call(KEY.admin, 'DELETE', `/v1/admin/keys/${created.body.id}`)).status).toBe(204);
    expect((await call(key, 'GET', `/v1/jobs/${job.body.id}`)).status).toBe(401);
    expect((await call(KEY.admin, 'DELETE', `/v1/admin/keys/${created.body.id}`)).status).toBe(404);
  });
});

describe('quotas', () => {
  it('refuses new work with 429 tenant_budget_spent once the daily points budget is spent', async () => {
    // b's first job and batch ran and the simulator charged points for them
    const job = await call<{ error: { code: string; message: string } }>(KEY.b, 'POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'over budget' },
    });
    expect(job.status).toBe(429);
    expect(job.body.error.code).toBe('tenant_budget_spent');
    expect(job.body.error.message).toMatch(/daily budget of 1 points/);
    const batch = await call<{ error: { code: string } }>(KEY.b, 'POST', '/v1/batches', {
      operation: 'kontext.text2img',
      prompts: ['over budget'],
    });
    expect([batch.status, batch.body.error.code]).toEqual([429, 'tenant_budget_spent']);
    // another tenant is not held back
    const other = await call(KEY.a, 'POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt: 'a' },
    });
    expect(other.status).toBe(202);
  });
});

describe('the queued-jobs cap', () => {
  let capped: Stack;
  afterAll(async () => {
    await capped?.close();
  });

  it('refuses jobs and batches past maxQueuedJobs with 429 tenant_queue_full', async () => {
    capped = await startStack({
      workers: 0,
      env: { API_KEYS, TENANTS: JSON.stringify({ a: { maxQueuedJobs: 3 } }) },
    });
    const send = async (path: string, body: unknown, key = KEY.a) => {
      const res = await request(`${capped.api.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return {
        status: res.statusCode,
        body: (await res.body.json()) as { error?: { code: string; message: string } },
      };
    };
    const job = { operation: 'kontext.text2img', input: { prompt: 'capped' } };
    expect((await send('/v1/jobs', job)).status).toBe(202);
    expect((await send('/v1/batches', { operation: 'kontext.text2img', prompts: ['x', 'y'] })).status).toBe(
      202,
    );
    const full = await send('/v1/jobs', job);
    expect(full.status).toBe(429);
    expect(full.body.error?.code).toBe('tenant_queue_full');
    expect(full.body.error?.message).toMatch(/3 jobs queued at once; 3 are queued/);
    const batch = await send('/v1/batches', { operation: 'kontext.text2img', prompts: ['z'] });
    expect([batch.status, batch.body.error?.code]).toEqual([429, 'tenant_queue_full']);
    // b has no cap
    expect((await send('/v1/jobs', job, KEY.b)).status).toBe(202);
  });
});
