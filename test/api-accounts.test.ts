/**
 * `GET /v1/accounts` and `PATCH /v1/accounts/:provider/:id` over real HTTP on the real Redis: who
 * may call them (the admin's Basic credentials or an `ADMIN_TOKENS` bearer; an API token is 403,
 * nothing is 401), what the list shows (and that no secret is in it), how a change is validated,
 * that a change is what the next grant of a worker's own pool applies, and that the pins a job may
 * name are the accounts the list shows.
 */
import { loadConfig } from '@genqueue/config';
import { type AccountView, limiterKeyPrefix, silentLogger } from '@genqueue/core';
import { AccountPool } from '@genqueue/limiter';
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHandle, startApi } from '../apps/api/src/index.ts';
import { connectRedis, deletePrefix, uniquePrefix } from './support/redis.ts';

const API_TOKEN = 'accounts-api-token-3b9d';
const ADMIN_TOKEN = 'accounts-admin-token-7e21';
const ADMIN = { user: 'ops', password: 'accounts-board-pass-51c' };
const ACCOUNTS = [
  { id: 'main', accessKey: 'ak-main-9f3e', secretKey: 'sk-main-secret-44d1', submitQps: 1, maxInFlight: 5 },
  {
    id: 'team2',
    accessKey: 'ak-team2-0c7a',
    secretKey: 'sk-team2-secret-e802',
    weight: 2,
    tags: ['lora-x'],
  },
];
const REPLICATE_TOKEN = 'r8_replicate-secret-token-6a0f';
const SECRETS = [
  ...ACCOUNTS.flatMap((a) => [a.accessKey, a.secretKey]),
  REPLICATE_TOKEN,
  ADMIN_TOKEN,
  API_TOKEN,
  ADMIN.password,
];

let redis: Redis;
let prefix: string;
let api: ApiHandle;
const apis: ApiHandle[] = [];
const prefixes: string[] = [];

async function start(env: Record<string, string>): Promise<ApiHandle> {
  const p = uniquePrefix('api-accounts');
  prefixes.push(p);
  const handle = await startApi(loadConfig({ QUEUE_PREFIX: p, ...env }), {
    host: '127.0.0.1',
    port: 0,
    redis,
    logger: silentLogger(),
    checkUrl: async () => {},
    objectUrl: async () => 'unused',
    s3Ready: async () => {},
    announceToken: () => {},
  });
  apis.push(handle);
  return handle;
}

/** A pool over the same keys, built the way a worker builds its own. */
function workerPool(): AccountPool {
  const config = loadConfig({ QUEUE_PREFIX: prefix });
  return new AccountPool({
    redis,
    keyPrefix: limiterKeyPrefix(config.queuePrefix, 'liblib'),
    accounts: [
      { id: 'main', submitQps: 1000, maxInFlight: 5 },
      { id: 'team2', submitQps: 1000, maxInFlight: 5, weight: 2, tags: ['lora-x'] },
    ],
  });
}

beforeAll(async () => {
  redis = connectRedis();
  api = await start({
    API_TOKENS: API_TOKEN,
    ADMIN_TOKENS: ADMIN_TOKEN,
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
    LIBLIB_ACCOUNTS: JSON.stringify(ACCOUNTS),
    LIBLIB_SUBMIT_QPS: '0.5',
    REPLICATE_API_TOKEN: REPLICATE_TOKEN,
  });
  prefix = prefixes[0]!;
});

afterAll(async () => {
  for (const a of apis) await a.close();
  if (redis) {
    for (const p of prefixes) await deletePrefix(redis, p);
    await redis.quit();
  }
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`,
});
const asAdmin = bearer(ADMIN_TOKEN);

async function call(
  method: 'GET' | 'PATCH',
  path: string,
  headers: Record<string, string>,
  body?: unknown,
  on: ApiHandle = api,
) {
  const res = await request(`${on.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  // biome-ignore lint/suspicious/noExplicitAny: assertions walk the answers freely
  return { status: res.statusCode, headers: res.headers, text, json: (text ? JSON.parse(text) : {}) as any };
}

/** `POST /v1/jobs` with an API token: a text-to-image job with the extra fields (a pin, tags). */
async function postJob(on: ApiHandle, extra: Record<string, unknown>) {
  const res = await request(`${on.url}/v1/jobs`, {
    method: 'POST',
    headers: { ...bearer(API_TOKEN), 'content-type': 'application/json' },
    body: JSON.stringify({ operation: 'kontext.text2img', input: { prompt: 'p' }, ...extra }),
  });
  const text = await res.body.text();
  // biome-ignore lint/suspicious/noExplicitAny: assertions walk the answers freely
  return { status: res.statusCode, text, json: JSON.parse(text) as any };
}

const list = async () => (await call('GET', '/v1/accounts', asAdmin)).json.accounts as AccountView[];
const account = async (provider: string, id: string) =>
  (await list()).find((a) => a.provider === provider && a.id === id)!;

describe('admin credentials on /v1/accounts', () => {
  const routes: ['GET' | 'PATCH', string, unknown?][] = [
    ['GET', '/v1/accounts'],
    ['PATCH', '/v1/accounts/liblib/main', { paused: true }],
  ];

  it('answers 401 without credentials or with wrong ones, with both challenges', async () => {
    const wrong: Record<string, string>[] = [
      {},
      bearer('not-a-token'),
      bearer(`${ADMIN_TOKEN}x`),
      basic(ADMIN.user, `${ADMIN.password}x`),
      basic('root', ADMIN.password),
      { authorization: ADMIN_TOKEN },
    ];
    for (const [method, path, body] of routes) {
      for (const headers of wrong) {
        const res = await call(method, path, headers, body);
        const what = `${method} ${path} with ${JSON.stringify(headers)}`;
        expect(res.status, what).toBe(401);
        expect(res.json.error.code, what).toBe('unauthorized');
        expect(String(res.headers['www-authenticate']), what).toMatch(/^Bearer realm=.*Basic realm=/);
      }
    }
    // Credentials come first on the whole subtree, before a malformed parameter or an unknown path.
    expect((await call('PATCH', '/v1/accounts/liblib/%', {}, { paused: true })).status).toBe(401);
    expect((await call('PATCH', '/v1/accounts/liblib/%', asAdmin, { paused: true })).status).toBe(400);
    expect((await call('GET', '/v1/accounts/liblib', {})).status).toBe(401);
    const unknown = await call('GET', '/v1/accounts/liblib', asAdmin);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('not_found');
    // None of those paused anything.
    expect((await account('liblib', 'main')).paused).toBe(false);
  });

  it('answers 403 to an API token: a known caller, not an operator', async () => {
    for (const [method, path, body] of routes) {
      const res = await call(method, path, bearer(API_TOKEN), body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.error.code).toBe('forbidden');
    }
    expect((await account('liblib', 'main')).paused).toBe(false);
  });

  it('lets an ADMIN_TOKENS bearer and the board admin through; an admin token is no API token', async () => {
    expect((await call('GET', '/v1/accounts', asAdmin)).status).toBe(200);
    expect((await call('GET', '/v1/accounts', basic(ADMIN.user, ADMIN.password))).status).toBe(200);
    expect((await call('GET', '/v1/operations', asAdmin)).status).toBe(401);
  });

  it('is closed when no admin credential is configured', async () => {
    const bare = await start({ API_TOKENS: API_TOKEN, LIBLIB_ACCOUNTS: JSON.stringify(ACCOUNTS) });
    expect((await call('GET', '/v1/accounts', {}, undefined, bare)).status).toBe(401);
    expect((await call('GET', '/v1/accounts', bearer(API_TOKEN), undefined, bare)).status).toBe(403);
    // No Basic challenge is offered while the board's credentials are unset.
    const res = await call('GET', '/v1/accounts', basic('', ''), undefined, bare);
    expect(res.status).toBe(401);
    expect(String(res.headers['www-authenticate'])).not.toMatch(/Basic/);
  });
});

describe('GET /v1/accounts', () => {
  it("lists every enabled provider's accounts with their limits, load and counters, and no secret", async () => {
    const pool = workerPool();
    const lease = (await pool.tryAcquire('j_listed', { account: 'team2' })) as { granted: true };
    expect(lease.granted).toBe(true);
    await pool.recordSubmitted('team2');
    await pool.recordCost('team2', { points: 12, balance: 4_988 });
    await pool.pause('main', 'account error: no points left (100042)');

    const res = await call('GET', '/v1/accounts', asAdmin);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const accounts = res.json.accounts as AccountView[];
    expect(accounts.map((a) => `${a.provider}/${a.id}`)).toEqual([
      'liblib/main',
      'liblib/team2',
      'replicate/default',
    ]);
    const [main, team2, replicate] = accounts as [AccountView, AccountView, AccountView];
    expect(main).toMatchObject({
      tags: [],
      weight: 1,
      limits: { submitQps: 1, maxInFlight: 5 },
      configuredLimits: { submitQps: 1, maxInFlight: 5 },
      inFlight: 0,
      paused: true,
      pause: { reason: 'account error: no points left (100042)', manual: false },
      balance: null,
      submitted: 0,
      pointsSpent: 0,
    });
    expect(Date.parse(main.pause!.nextProbeAt!)).toBeGreaterThan(Date.parse(main.pause!.since));
    // team2 takes the provider's default QPS (LIBLIB_SUBMIT_QPS) and limit (5).
    expect(team2).toMatchObject({
      tags: ['lora-x'],
      weight: 2,
      limits: { submitQps: 0.5, maxInFlight: 5 },
      inFlight: 1,
      paused: false,
      pause: null,
      submitted: 1,
      pointsSpent: 12,
      balance: { value: 4_988 },
    });
    expect(Number.isNaN(Date.parse(team2.balance!.at))).toBe(false);
    expect(replicate).toMatchObject({ provider: 'replicate', id: 'default', paused: false });
    for (const secret of SECRETS) expect(res.text).not.toContain(secret);
    await pool.resume('main');
  });
});

describe('an API given the accounts without their credentials', () => {
  it('lists them, takes pins to them and refuses pins to others', async () => {
    const bare = await start({
      API_TOKENS: API_TOKEN,
      ADMIN_TOKENS: ADMIN_TOKEN,
      LIBLIB_ACCOUNTS: JSON.stringify([{ id: 'main' }, { id: 'team2', maxInFlight: 2, tags: ['lora-x'] }]),
    });
    const listed = await call('GET', '/v1/accounts', asAdmin, undefined, bare);
    expect(listed.json.accounts.map((a: AccountView) => [a.id, a.limits.maxInFlight, a.tags])).toEqual([
      ['main', 5, []],
      ['team2', 2, ['lora-x']],
    ]);
    const post = (extra: Record<string, unknown>) => postJob(bare, extra);
    expect((await post({ account: 'team2' })).status).toBe(202);
    expect((await post({ accountTags: ['lora-x'] })).status).toBe(202);
    const refused = await post({ account: 'nobody' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('account');
  });
});

describe('an API given PROVIDERS alone', () => {
  it('takes pins to the `default` account it lists, and refuses others naming the field', async () => {
    const bare = await start({ API_TOKENS: API_TOKEN, ADMIN_TOKENS: ADMIN_TOKEN, PROVIDERS: 'liblib' });
    const listed = await call('GET', '/v1/accounts', asAdmin, undefined, bare);
    expect(listed.json.accounts.map((a: AccountView) => `${a.provider}/${a.id}`)).toEqual(['liblib/default']);
    const post = (extra: Record<string, unknown>) => postJob(bare, extra);
    expect((await post({ account: 'default' })).status).toBe(202);
    const cases: [Record<string, unknown>, string][] = [
      [{ account: 'nobody' }, 'account'],
      [{ accountTags: ['lora-x'] }, 'accountTags'],
      [{ account: 'default', accountTags: ['lora-x'] }, 'accountTags'],
    ];
    for (const [extra, field] of cases) {
      const refused = await post(extra);
      expect(refused.status, JSON.stringify(extra)).toBe(400);
      expect(refused.json.error.code).toBe('invalid_request');
      expect(refused.json.error.issues.map((i: { path: string }) => i.path)).toEqual([field]);
    }
  });
});

describe('PATCH /v1/accounts/:provider/:id', () => {
  it("changes the limits a worker's next grant applies, and null goes back to the configured ones", async () => {
    const pool = workerPool();
    const changed = await call('PATCH', '/v1/accounts/liblib/main', asAdmin, {
      maxInFlight: 1,
      submitQps: 2.5,
    });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({
      provider: 'liblib',
      id: 'main',
      limits: { submitQps: 2.5, maxInFlight: 1 },
      configuredLimits: { submitQps: 1, maxInFlight: 5 },
    });
    const first = await pool.tryAcquire('j_a', { account: 'main' });
    expect(first.granted).toBe(true);
    const second = await pool.tryAcquire('j_b', { account: 'main' });
    expect(second).toMatchObject({ granted: false, reason: 'in_flight' });

    const back = await call('PATCH', '/v1/accounts/liblib/main', asAdmin, { maxInFlight: null });
    expect(back.json.limits).toEqual({ submitQps: 2.5, maxInFlight: 5 });
    // Back at 5 in flight: the second submission waits only for its QPS turn now.
    const retried = await pool.tryAcquire('j_b', { account: 'main' });
    expect(retried.granted || retried.reason).not.toBe('in_flight');
    await call('PATCH', '/v1/accounts/liblib/main', asAdmin, { submitQps: null });
    expect((await account('liblib', 'main')).limits).toEqual({ submitQps: 1, maxInFlight: 5 });
    if (first.granted) await pool.release(first.lease);
    if (retried.granted) await pool.release(retried.lease);
  });

  it("pauses an account for the operator (never probed) and resumes it; the pool's grants follow", async () => {
    const pool = workerPool();
    const paused = await call('PATCH', '/v1/accounts/liblib/team2', asAdmin, { paused: true });
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({
      paused: true,
      pause: { manual: true, reason: 'paused by an operator' },
    });
    expect(paused.json.pause.nextProbeAt).toBeUndefined();
    expect(await pool.tryAcquire('j_p', { account: 'team2' })).toMatchObject({
      granted: false,
      reason: 'paused',
    });
    // Unpinned work goes to the other account meanwhile.
    const other = await pool.tryAcquire('j_q');
    expect(other).toMatchObject({ granted: true, lease: { account: 'main' } });

    const resumed = await call('PATCH', '/v1/accounts/liblib/team2', basic(ADMIN.user, ADMIN.password), {
      paused: false,
    });
    expect(resumed.json).toMatchObject({ paused: false, pause: null });
    const granted = await pool.tryAcquire('j_p', { account: 'team2' });
    expect(granted.granted).toBe(true);
    for (const g of [other, granted]) if (g.granted) await pool.release(g.lease);
  });

  it('answers 400 naming the field at fault, and changes nothing', async () => {
    const cases: [unknown, string][] = [
      [{ qps: 2 }, 'qps'],
      [{ maxInFlight: 2, reason: 'x' }, 'reason'],
      [{ maxInFlight: 0 }, 'maxInFlight'],
      [{ maxInFlight: 1.5 }, 'maxInFlight'],
      [{ maxInFlight: '2' }, 'maxInFlight'],
      [{ submitQps: 0 }, 'submitQps'],
      [{ submitQps: -1 }, 'submitQps'],
      [{ paused: 'yes' }, 'paused'],
      [{ paused: null }, 'paused'],
      [{}, 'body'],
      [[{ paused: true }], 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await call('PATCH', '/v1/accounts/liblib/main', asAdmin, body);
      const what = JSON.stringify(body);
      expect(res.status, what).toBe(400);
      expect(res.json.error.code, what).toBe('invalid_request');
      expect(
        res.json.error.issues.map((i: { path: string }) => i.path),
        what,
      ).toContain(field);
    }
    const broken = await call('PATCH', '/v1/accounts/liblib/main', asAdmin, '{"paused": tru');
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe('invalid_json');
    const text = await call(
      'PATCH',
      '/v1/accounts/liblib/main',
      { ...asAdmin, 'content-type': 'text/plain' },
      'x',
    );
    expect(text.status).toBe(415);
    expect(await account('liblib', 'main')).toMatchObject({
      limits: { submitQps: 1, maxInFlight: 5 },
      paused: false,
    });
  });

  it('answers 404 for a provider that is not enabled and an account it does not have', async () => {
    for (const path of [
      '/v1/accounts/liblib/nobody',
      '/v1/accounts/modelverse/default',
      '/v1/accounts/nope/main',
    ]) {
      const res = await call('PATCH', path, asAdmin, { paused: true });
      expect(res.status, path).toBe(404);
      expect(res.json.error.code).toBe('not_found');
    }
  });
});
