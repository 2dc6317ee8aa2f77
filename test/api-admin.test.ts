/**
 * Bull Board at `/admin/queues`: with the admin credentials it lists every queue of the deployment
 * through its API, and the page itself renders them in a real headless Chromium.
 */
import { existsSync } from 'node:fs';
import { loadConfig } from '@genqueue/config';
import { type ProviderOperations, silentLogger } from '@genqueue/core';
import type { Redis } from 'ioredis';
import { type Browser, chromium } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ApiHandle, startApi } from '../apps/api/src/index.ts';
import { connectRedis, deletePrefix, uniquePrefix } from './support/redis.ts';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = { username: 'ops', password: 'board-pass-7c1d' };
const EXPECTED_QUEUES = ['submit-liblib', 'submit-replicate', 'poll', 'sink', 'webhook'];

const fakeProvider = (name: string): ProviderOperations => ({
  name,
  description: `a fake ${name}`,
  operations: {
    generate: {
      schema: z.object({ prompt: z.string() }).passthrough(),
      output: 'image',
      description: 'generate',
    },
  },
});

let redis: Redis;
let prefix: string;
let api: ApiHandle;
let browser: Browser | undefined;

beforeAll(async () => {
  redis = connectRedis();
  prefix = uniquePrefix('api-admin');
  api = await startApi(
    loadConfig({
      QUEUE_PREFIX: prefix,
      API_TOKENS: 'admin-test-token-123456',
      ADMIN_USER: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
    }),
    {
      host: '127.0.0.1',
      port: 0,
      redis,
      logger: silentLogger(),
      providers: new Map([
        ['liblib', fakeProvider('liblib')],
        ['replicate', fakeProvider('replicate')],
      ]),
      checkUrl: async () => {},
      objectUrl: async () => 'unused',
      s3Ready: async () => {},
    },
  );
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  if (redis) {
    await deletePrefix(redis, prefix);
    await redis.quit();
  }
});

describe('Bull Board', () => {
  it('lists every queue through its API', async () => {
    const res = await request(`${api.url}/admin/queues/api/queues`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`,
      },
    });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual([...EXPECTED_QUEUES].sort());
  });

  it('renders the queue names in headless Chromium', async () => {
    // CI installs Chromium (`apt-get install -y chromium`); a missing browser is a failure, not a skip.
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run apt-get install -y chromium`).toBe(true);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const context = await browser.newContext({ httpCredentials: ADMIN });
    // Loopback only: anything else the page asks for is refused without touching the network.
    const origin = new URL(api.url).origin;
    await context.route('**/*', (route) =>
      route.request().url().startsWith(origin) ? route.continue() : route.abort(),
    );
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(`${api.url}/admin/queues`);
    for (const name of EXPECTED_QUEUES) {
      await page.getByText(name, { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 });
    }
    expect(failed).toEqual([]);
  });
});
