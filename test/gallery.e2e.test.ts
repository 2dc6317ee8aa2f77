/**
 * The gallery at `/ui` in headless Chromium against the whole stack: sign in with an API token,
 * watch a batch of a few dozen jobs run (counts moving, thumbnails appearing without a reload),
 * filter the failed ones, retry them, cancel another batch, open a job page, and read a finished
 * job's story in Bull Board. Then the refusals: no credentials on any route or image, and a
 * cross-site POST. Screenshots of every page go to `test/artifacts/gallery/` (git-ignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BatchView, JobView } from '@genqueue/core';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Stack, startStack, TEST_TOKEN } from './support/stack.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(import.meta.dirname, 'artifacts', 'gallery');
const XSS_PROMPT = '<script>window.__xss = 1</script><img src=x onerror="window.__xss=2"> a cat';
const FORBIDDEN = ['something forbidden 1', 'something forbidden 2', 'something forbidden 3'];

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let batchId: string;
let firstItem: string;
/** The job id of the batch's item at `index`. */
const item = async (index: number): Promise<string> => (await stack.itemIds(batchId))[index]!;

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function createBatch(prompts: string[]): Promise<string> {
  const created = await stack.call<{ id: string }>('POST', '/v1/batches', {
    operation: 'kontext.text2img',
    prompts,
  });
  expect(created.status).toBe(202);
  return created.body.id;
}

const batchView = async (id: string) => (await stack.call<BatchView>('GET', `/v1/batches/${id}`)).body;

/** The count the page shows for one progress part. */
const shownCount = (name: string) =>
  page
    .locator(`#progress [data-count="${name}"]`)
    .innerText()
    .then((text) => Number.parseInt(text, 10));

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run apt-get install -y chromium`).toBe(true);
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({
    sim: {
      submitQps: 10,
      maxInFlight: 5,
      latencyMs: { min: 1_500, max: 3_000 },
      imageSize: { width: 96, height: 64 },
    },
    env: { LIBLIB_SUBMIT_QPS: '10', LIBLIB_MAX_IN_FLIGHT: '5' },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Loopback only: anything else the page asks for is refused without touching the network.
  const origin = new URL(stack.api.url).origin;
  await context.route('**/*', (route) =>
    route.request().url().startsWith(origin) ? route.continue() : route.abort(),
  );
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the gallery in Chromium', () => {
  const csp: string[] = [];

  it('sends a visitor without credentials to the login form, and signs in with an API token', async () => {
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) csp.push(message.text());
    });
    await page.goto(`${stack.api.url}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await shot('login');
    await page.fill('#token', 'not-the-token');
    await page.click('button[type=submit]');
    await page.getByText('That API token is not valid here.').waitFor();
    await page.fill('#token', TEST_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(`${stack.api.url}/ui`);
    const cookie = (await context.cookies()).find((c) => c.name === 'gq_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });
    expect(cookie!.value).not.toContain(TEST_TOKEN);
    expect(page.url()).not.toContain(TEST_TOKEN);
  });

  it('shows a running batch whose counts move and whose thumbnails appear without a reload', async () => {
    const prompts = Array.from({ length: 36 }, (_, i) => `a lighthouse in the fog, take ${i}`);
    prompts[4] = XSS_PROMPT;
    prompts.splice(10, 3, ...FORBIDDEN);
    batchId = await createBatch(prompts);
    firstItem = await item(0);

    await page.goto(`${stack.api.url}/ui`);
    await page.locator(`a[href="/ui/batches/${batchId}"]`).waitFor();
    await shot('batches');

    await page.goto(`${stack.api.url}/ui/batches/${batchId}`);
    const pendingAtLoad = await page
      .locator('#grid .tile[data-pending]')
      .evaluateAll((tiles) => tiles.map((t) => t.id));
    expect(pendingAtLoad.length).toBeGreaterThan(10);
    const first = await shownCount('succeeded');
    expect(first).toBeLessThan(36);
    await expect.poll(() => shownCount('succeeded'), { timeout: 60_000 }).toBeGreaterThan(first);
    // A thumbnail appears, and loads, in a tile that was still pending when the page loaded.
    const loadedThumbnails = () =>
      page
        .locator('#grid .tile img')
        .evaluateAll(
          (images, ids) =>
            images.filter(
              (img) =>
                ids.includes(img.closest('.tile')?.id ?? '') &&
                (img as unknown as { naturalWidth: number }).naturalWidth > 0,
            ).length,
          pendingAtLoad,
        );
    await expect.poll(loadedThumbnails, { timeout: 60_000 }).toBeGreaterThan(0);
    await shot('batch-running');
    await stack.waitFor(async () => (await batchView(batchId)).done, 90_000, 'the batch to finish');
    await expect.poll(() => shownCount('succeeded'), { timeout: 10_000 }).toBe(33);
    expect(await shownCount('failed')).toBe(3);
    await page.reload();
    const images = page.locator('#grid img');
    await expect.poll(() => images.count()).toBe(33);
    // Thumbnails, not the full images: WebP from /ui/files, loaded lazily.
    const src = await images.first().getAttribute('src');
    expect(src).toMatch(/^\/ui\/files\/.+\.thumb\.webp$/);
    expect(await images.first().getAttribute('loading')).toBe('lazy');
    await page.evaluate('window.scrollTo(0, 0)');
    await shot('batch-done');
  });

  it('shows a prompt holding <script> as text, and runs none of it', async () => {
    const tile = page.locator('#t-4 .prompt');
    expect(await tile.innerText()).toBe(XSS_PROMPT);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await page.goto(`${stack.api.url}/ui/jobs/${await item(4)}`);
    expect(await page.locator('pre.input').innerText()).toContain(XSS_PROMPT.replace(/"/g, '\\"'));
    expect(await page.evaluate('window.__xss')).toBeUndefined();
  });

  it('filters the failed jobs, with the provider reason, and retries them', async () => {
    await page.goto(`${stack.api.url}/ui/batches/${batchId}`);
    await page.click('nav.filters a:text-is("failed")');
    await page.waitForURL(/state=failed/);
    const tiles = page.locator('#grid .tile');
    expect(await tiles.count()).toBe(3);
    expect(await page.locator('#grid .tile.s-failed').count()).toBe(3);
    expect(await page.locator('#grid .tile .error').first().innerText()).toMatch(/^100052: /);
    await shot('batch-failed');

    const before = await Promise.all([10, 11, 12].map(async (i) => stack.job(await item(i))));
    expect(before.map((j) => j.state)).toEqual(['failed', 'failed', 'failed']);
    await page.click('button:has-text("Retry failed")');
    await page.waitForURL(`${stack.api.url}/ui/batches/${batchId}`);
    // Each forbidden job is submitted again (and fails again: its prompt is still forbidden).
    await stack.waitFor(
      async () => {
        const after = await Promise.all(before.map((j) => stack.job(j.id)));
        return after.every((j, n) => j.state === 'failed' && j.finishedAt! > before[n]!.finishedAt!);
      },
      30_000,
      'the retried jobs to fail again',
    );
  });

  it('cancels a running batch from its page', async () => {
    stack.sim.configure({ latencyMs: { min: 8_000, max: 8_000 } });
    try {
      const id = await createBatch(Array.from({ length: 20 }, (_, i) => `a slow harbour ${i}`));
      await page.goto(`${stack.api.url}/ui/batches/${id}`);
      await page.click('button:has-text("Cancel batch")');
      await page.waitForURL(`${stack.api.url}/ui/batches/${id}`);
      await expect.poll(() => shownCount('canceled'), { timeout: 30_000 }).toBeGreaterThanOrEqual(15);
      await shot('batch-canceled');
      const view = await stack.waitFor(
        async () => {
          const b = await batchView(id);
          return b.done ? b : undefined;
        },
        30_000,
        'the canceled batch to end',
      );
      expect(view.counts.canceled).toBeGreaterThanOrEqual(15);
    } finally {
      stack.sim.configure({ latencyMs: { min: 1_500, max: 3_000 } });
    }
  });

  it("shows a job's input, times, outputs with key and sha256, and its BullMQ story", async () => {
    const job = await stack.job(await item(0));
    await page.goto(`${stack.api.url}/ui/jobs/${job.id}`);
    const text = await page.locator('main').innerText();
    expect(text).toContain(job.providerTaskId!);
    expect(text).toContain(job.outputs[0]!.key);
    expect(text).toContain(job.outputs[0]!.sha256);
    expect(text).toMatch(/granted slot \d\/5/);
    expect(text).toContain(`submitted task ${job.providerTaskId}`);
    expect(text).toMatch(/stored 1 image/);
    const states = await page.locator('table.history tbody tr td:first-child').allInnerTexts();
    expect(states).toEqual(['queued', 'submitting', 'running', 'storing', 'succeeded']);
    const full = page.locator('.output img').first();
    await expect
      .poll(() => full.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBe(96);
    expect(await page.locator('a[href^="/admin/queues/queue/submit-liblib/"]').count()).toBe(1);
    await shot('job');
    expect(csp).toEqual([]);
  });
});

describe('Bull Board in Chromium', () => {
  it("shows a finished job's name, prompt excerpt and log lines", async () => {
    const job: JobView = await stack.job(await item(1));
    const admin = await browser.newContext({
      httpCredentials: { username: ADMIN.user, password: ADMIN.password },
    });
    const origin = new URL(stack.api.url).origin;
    await admin.route('**/*', (route) =>
      route.request().url().startsWith(origin) ? route.continue() : route.abort(),
    );
    const board = await admin.newPage();
    try {
      await board.goto(`${stack.api.url}/admin/queues/queue/submit-liblib/${job.id}`);
      await board
        .getByText('kontext.text2img · a lighthouse in the fog…')
        .first()
        .waitFor({ timeout: 30_000 });
      await board.screenshot({ path: path.join(SHOTS, 'bull-board-job-data.png'), fullPage: true });
      const data = await board.locator('body').innerText();
      expect(data).toContain(batchId);
      expect(data).toMatch(/prompt\W+a lighthouse in the fog…/);
      await board
        .getByRole('tab', { name: 'Logs' })
        .or(board.getByText('Logs', { exact: true }))
        .first()
        .click();
      await board
        .getByText(/granted slot \d\/5/)
        .first()
        .waitFor({ timeout: 15_000 });
      await board.getByText(`submitted task ${job.providerTaskId}`).first().waitFor();
      await board.screenshot({ path: path.join(SHOTS, 'bull-board-job.png'), fullPage: true });
      // The board's menu links to the gallery (its uiConfig, which the page renders as a menu link).
      const config = JSON.parse((await board.locator('#__UI_CONFIG__').textContent()) ?? '{}');
      expect(config.miscLinks).toEqual([{ text: 'Gallery', url: '/ui' }]);
    } finally {
      await admin.close();
    }
  });
});

describe('gallery credentials', () => {
  const routes = () =>
    [
      ['GET', '/ui'],
      ['GET', '/ui?page=2'],
      ['GET', `/ui/batches/${batchId}`],
      ['GET', `/ui/batches/${batchId}?state=failed&cursor=10&fragment=1`],
      ['GET', `/ui/batches/${batchId}/progress`],
      ['GET', `/ui/batches/${batchId}/tiles?indexes=0,1`],
      ['GET', `/ui/batches/${batchId}/results.jsonl`],
      ['GET', `/ui/batches/${batchId}/results.csv`],
      ['GET', `/ui/jobs/${firstItem}`],
      ['GET', '/ui/static/gallery.js'],
      ['GET', '/ui/static/gallery.css'],
      ['GET', '/ui/no-such-page'],
      ['POST', `/ui/batches/${batchId}/cancel`],
      ['POST', `/ui/batches/${batchId}/retry`],
    ] as const;

  async function call(method: string, route: string, headers: Record<string, string> = {}) {
    const res = await request(`${stack.api.url}${route}`, {
      method,
      headers: { accept: 'text/html', origin: stack.api.url, ...headers },
    });
    await res.body.dump();
    return { status: res.statusCode, location: res.headers.location as string | undefined };
  }

  it('answers 401 or the login page on every route and image without valid credentials', async () => {
    const thumbKey = (await stack.job(await item(0))).outputs[0]!.thumbnail!.key;
    const all = [...routes(), ['GET', `/ui/files/${thumbKey}`] as const];
    const wrong: Record<string, string>[] = [
      {},
      { authorization: basic(ADMIN.user, 'wrong') },
      { authorization: 'Bearer wrong-token' },
      { cookie: 'gq_session=forged.9999999999.AAAA' },
    ];
    for (const [method, route] of all) {
      for (const headers of wrong) {
        const res = await call(method, route, headers);
        const what = `${method} ${route} with ${JSON.stringify(headers)}`;
        if (res.status === 303) expect(res.location, what).toMatch(/^\/ui\/login\?next=/);
        else expect(res.status, what).toBe(401);
      }
    }
    // The same routes open with the admin's Basic credentials (and the image is served).
    for (const [method, route] of all) {
      if (method === 'POST') continue;
      const res = await call(method, route, { authorization: basic(ADMIN.user, ADMIN.password) });
      expect([200, 404], `${method} ${route}`).toContain(res.status);
    }
    const image = await request(`${stack.api.url}/ui/files/${thumbKey}`, {
      headers: { authorization: basic(ADMIN.user, ADMIN.password) },
    });
    expect(image.statusCode).toBe(200);
    expect(image.headers['content-type']).toBe('image/webp');
    await image.body.dump();
    // A key of no job the caller can see is not served, even if the object exists.
    const stray = await call('GET', '/ui/files/elsewhere/x.png', {
      authorization: basic(ADMIN.user, ADMIN.password),
    });
    expect(stray.status).toBe(404);
  });

  it('refuses a cross-site POST, whatever the credentials, and changes nothing', async () => {
    const id = await createBatch(['a cross-site target']);
    const crossSite: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { origin: '', referer: 'http://evil.example/page' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site', origin: 'http://sub.127.0.0.1.example' },
    ];
    for (const headers of crossSite) {
      const res = await call('POST', `/ui/batches/${id}/cancel`, {
        authorization: basic(ADMIN.user, ADMIN.password),
        ...headers,
      });
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
    const noOrigin = await request(`${stack.api.url}/ui/batches/${id}/cancel`, {
      method: 'POST',
      headers: { authorization: basic(ADMIN.user, ADMIN.password) },
    });
    expect(noOrigin.statusCode).toBe(403);
    await noOrigin.body.dump();
    expect((await batchView(id)).counts.canceled).toBe(0);
    // The same POST from the gallery's own origin goes through.
    const ok = await call('POST', `/ui/batches/${id}/cancel`, {
      authorization: basic(ADMIN.user, ADMIN.password),
    });
    expect(ok.status).toBe(303);
  });

  it('sets a strict CSP on every page', async () => {
    const res = await request(`${stack.api.url}/ui`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    await res.body.dump();
    const policy = String(res.headers['content-security-policy']);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).toContain("frame-ancestors 'none'");
  });
});
