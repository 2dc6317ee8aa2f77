/**
 * Fair share between tenants, on two real `npm run worker` child processes against the simulator
 * with short generation times: tenant A posts 2,000 prompts, tenant B then posts 20, and A goes on
 * posting 2,000 more as 50 batches of 40. B's first submission goes within a few seconds and B's
 * 20 finish while nearly all of A's work still waits: A's later batches queue behind A's own work
 * instead of taking B's turns (with batch fairness alone, each of them would take one turn in
 * every round before B's next item).
 */
import type { BatchView, JobView } from '@genqueue/core';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

const KEY = {
  a: 'fair-share-a-key-0123456789',
  b: 'fair-share-b-key-0123456789',
  admin: 'fair-share-admin-0123456789',
};
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function call<T>(key: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await request(`${stack!.api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await res.body.json()) as T;
  if (res.statusCode >= 300)
    throw new Error(`${method} ${path} answered ${res.statusCode}: ${JSON.stringify(parsed)}`);
  return parsed;
}

const prompts = (tenant: string, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `fair share ${tenant} ${from + i}`);

describe('fair share between tenants', () => {
  it("serves B's 20 prompts long before A's 4,000, though A keeps posting batches", async () => {
    stack = await startStack({
      workers: 0,
      sim: {
        submitQps: 20,
        maxInFlight: 10,
        latencyMs: { min: 100, max: 200 },
        imageSize: { width: 16, height: 16 },
      },
      env: {
        API_KEYS: JSON.stringify([
          { tenant: 'a', key: KEY.a, scopes: ['jobs:write', 'jobs:read'] },
          { tenant: 'b', key: KEY.b, scopes: ['jobs:write', 'jobs:read'] },
          { tenant: 'ops', key: KEY.admin, scopes: ['admin'] },
        ]),
        LIBLIB_SUBMIT_QPS: '20',
        LIBLIB_MAX_IN_FLIGHT: '10',
      },
    });
    const s = stack;
    s.spawnWorker();
    s.spawnWorker();
    const batch = (id: string) => call<BatchView>(KEY.admin, 'GET', `/v1/batches/${id}`);
    const post = (key: string, list: string[]) =>
      call<{ id: string }>(key, 'POST', '/v1/batches', { operation: 'kontext.text2img', prompts: list });

    const first = await post(KEY.a, prompts('a', 2_000));
    await s.waitFor(
      async () => (await batch(first.id)).counts.succeeded >= 20,
      60_000,
      "A's batch to get going",
    );

    const postedAt = Date.now();
    const b = await post(KEY.b, prompts('b', 20));
    const later: string[] = [];
    for (let n = 0; n < 50; n++) later.push((await post(KEY.a, prompts('a', 40, 2_000 + n * 40))).id);
    const postedAllAt = Date.now();

    const bDone = await s.waitFor(
      async () => {
        const view = await batch(b.id);
        return view.done ? view : undefined;
      },
      60_000,
      "B's batch to finish",
    );
    const bDoneMs = Date.now() - postedAt;
    const aFirst = await batch(first.id);
    const aLater = await Promise.all(later.map(batch));
    const sum = (views: BatchView[], state: keyof BatchView['counts']) =>
      views.reduce((n, v) => n + v.counts[state], 0);
    const bJobs = await call<{ items: JobView[] }>(KEY.b, 'GET', `/v1/batches/${b.id}/jobs?limit=20`);
    const firstSubmitMs = Math.min(...bJobs.items.map((j) => Date.parse(j.submittedAt!))) - postedAt;
    const aSucceeded = aFirst.counts.succeeded + sum(aLater, 'succeeded');
    const aQueued = aFirst.counts.queued + sum(aLater, 'queued');
    console.info(
      `fair share: B's first submission ${firstSubmitMs} ms after posting, B's 20 done in ${bDoneMs} ms ` +
        `(A's 50 later batches posted within ${postedAllAt - postedAt} ms); A then: ${aSucceeded} of 4000 succeeded, ` +
        `${aQueued} queued (first batch ${aFirst.counts.succeeded} succeeded, later batches ${sum(aLater, 'succeeded')} succeeded)`,
    );

    expect(bDone.counts.succeeded).toBe(20);
    expect(firstSubmitMs).toBeLessThan(5_000);
    // B is served about one turn in two: A gets through a few dozen of its own meanwhile, and
    // nearly all of A's 4,000 are still waiting.
    expect(aQueued).toBeGreaterThan(3_500);
    // A's later batches came after B's work, not before it: with batch fairness alone they would
    // have taken 50 turns per round, about 1,000 submissions before B's last.
    expect(sum(aLater, 'succeeded') + sum(aLater, 'running') + sum(aLater, 'submitting')).toBeLessThan(100);
  }, 180_000);
});
