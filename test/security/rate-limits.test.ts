/**
 * The API's own limits, on real Redis: each key's token bucket (a key past its burst answers 429
 * with Retry-After, another key is not held back) and the failed authentications per source
 * address (past the limit every attempt from that address answers 429, the right key included,
 * on `/v1` and on the gallery's login form).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, TEST_TOKEN } from '../support/stack.ts';

const OTHER = 'rate-limit-other-key-0123456789';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    workers: 0,
    env: {
      API_KEYS: JSON.stringify([{ tenant: 'other', key: OTHER, scopes: ['jobs:read'] }]),
      API_RATE_PER_SECOND: '0.5',
      API_RATE_BURST: '3',
      AUTH_FAILURES_MAX: '3',
      AUTH_FAILURE_WINDOW_MS: '60000',
    },
  });
});

afterAll(async () => {
  await stack?.close();
});

async function get(path: string, key?: string) {
  const res = await request(`${stack.api.url}${path}`, {
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  const body = (await res.body.json().catch(() => undefined)) as { error?: { code: string } } | undefined;
  return { status: res.statusCode, retryAfter: res.headers['retry-after'], code: body?.error?.code };
}

describe('API rate limits', () => {
  it("answers 429 with Retry-After once a key's bucket is empty, and only for that key", async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await get('/v1/operations', TEST_TOKEN));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers[3]!.code).toBe('rate_limited');
    // half a token per second: the next one is about 2 s away
    expect(Number(answers[3]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(answers[3]!.retryAfter)).toBeLessThanOrEqual(2);
    expect((await get('/v1/operations', OTHER)).status).toBe(200);
  });

  it('counts failed authentications per address and refuses that address past the limit', async () => {
    const wrong = [];
    for (let i = 0; i < 3; i++) wrong.push((await get('/v1/operations', `wrong-key-${i}`)).status);
    expect(wrong).toEqual([401, 401, 401]);
    const blocked = await get('/v1/operations', OTHER);
    expect(blocked.status).toBe(429);
    expect(blocked.code).toBe('rate_limited');
    expect(Number(blocked.retryAfter)).toBeGreaterThan(50);
    const login = await request(`${stack.api.url}/ui/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.api.url },
      body: `token=${encodeURIComponent(OTHER)}`,
    });
    await login.body.dump();
    expect(login.statusCode).toBe(429);
  });
});
