/**
 * One queue of work spread over a pool of provider accounts: real `npm run worker` child processes,
 * real Redis, the simulator with three LiblibAI accounts over HTTP, each at 1 submission/s and 5 in
 * flight (002 §2.3: the limits are per account).
 */
import { JobStore, limiterKeyPrefix } from '@genqueue/core';
import { AccountPool } from '@genqueue/limiter';
import { OSS_BUCKET_PATH, renderPng, type SimulatorOptions } from '@genqueue/simulator';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, type StackOptions, startStack, TEST_TOKEN } from './support/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const ACCOUNTS = ['main', 'team2', 'team3'].map((id) => ({
  id,
  accessKey: `ak-${id}`,
  secretKey: `sk-${id}-secret`,
  submitQps: 1,
  maxInFlight: 5,
}));

type GenqueueAccount = (typeof ACCOUNTS)[number] & { tags?: string[] };

/**
 * A stack whose simulator serves `ACCOUNTS` and whose API and workers are configured with
 * `accounts` (default: the same), through `LIBLIB_ACCOUNTS`; no worker is started.
 */
function startPoolStack(options: {
  sim: Omit<SimulatorOptions, 'accounts'>;
  accounts?: GenqueueAccount[];
  env?: Record<string, string>;
}): Promise<Stack> {
  const accounts = options.accounts ?? ACCOUNTS;
  const stackOptions: StackOptions = {
    sim: { accounts: ACCOUNTS, ...options.sim },
    workers: 0,
    env: (sim) => ({
      // The stack's single-account variables, unset: both forms at once are a config error.
      LIBLIB_ACCESS_KEY: '',
      LIBLIB_SECRET_KEY: '',
      LIBLIB_ACCOUNTS: JSON.stringify(accounts.map((a) => ({ ...a, baseUrl: sim.url }))),
      ...options.env,
    }),
  };
  return startStack(stackOptions);
}

/** The workers' pool of the stack's LiblibAI accounts, on the same keys (to read what it keeps). */
function poolOf(stack: Stack): AccountPool {
  return new AccountPool({
    redis: stack.redis,
    keyPrefix: limiterKeyPrefix(stack.prefix, 'liblib'),
    accounts: ACCOUNTS.map(({ id, submitQps, maxInFlight }) => ({ id, submitQps, maxInFlight })),
  });
}

/** One account's pause, as `/v1/accounts` reads it. */
async function pauseOf(stack: Stack, account: string) {
  return (await poolOf(stack).accountStates()).find((state) => state.id === account)!.pause;
}

/** Posts jobs and waits until every one has ended; answers their views in posting order. */
async function runJobs(
  stack: Stack,
  prompts: string[],
  timeoutMs: number,
  extra: Record<string, unknown> = {},
) {
  const ids: string[] = [];
  for (const prompt of prompts) {
    const { status, body } = await stack.call<{ id: string }>('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt },
      ...extra,
    });
    expect(status).toBe(202);
    ids.push(body.id);
  }
  return stack.waitFor(
    async () => {
      const views = await Promise.all(ids.map((id) => stack.job(id)));
      return views.every((j) => ['succeeded', 'failed', 'canceled'].includes(j.state)) ? views : undefined;
    },
    timeoutMs,
    'every job to end',
  );
}

/** One scrape of `/metrics`: the value of the series with exactly these labels (undefined if absent). */
async function metric(
  stack: Stack,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const response = await request(`${stack.api.url}/metrics`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  const text = await response.body.text();
  const wanted = `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}} `;
  const line = text.split('\n').find((l) => l.startsWith(wanted));
  return line === undefined ? undefined : Number(line.slice(wanted.length));
}

describe('account pools', () => {
  it('spreads 45 prompts over three accounts from two workers, within every account limit', async () => {
    stack = await startPoolStack({ sim: { latencyMs: { min: 1_500, max: 3_000 } } });
    const children = [stack.spawnWorker(), stack.spawnWorker()];
    const prompts = Array.from({ length: 45 }, (_, i) => `pool ${i}`);
    const jobs = await runJobs(stack, prompts, 120_000);
    for (const child of children) expect(child.exitCode).toBeNull();
    expect(jobs.map((j) => j.state)).toEqual(prompts.map(() => 'succeeded'));

    const stats = stack.sim.stats();
    expect(stats.accepted).toBe(45);
    expect(stats.duplicatePrompts).toBe(0);
    for (const { id } of ACCOUNTS) {
      const own = stats.accounts[id]!;
      expect({ id, qps: own.qpsBreaches, inFlight: own.inFlightBreaches }).toEqual({
        id,
        qps: 0,
        inFlight: 0,
      });
      expect(own.maxInFlightObserved).toBeLessThanOrEqual(5);
      // Each account carries at least a quarter of the work.
      expect(own.accepted).toBeGreaterThanOrEqual(Math.ceil(45 / 4));
    }
    // The job view names the account that submitted its task, and it is the task's owner at the simulator.
    const owners = new Map(stack.sim.tasks().map((t) => [t.id, t.account]));
    for (const job of jobs) expect(job.account).toBe(owners.get(job.providerTaskId!));

    // Each account keeps what it submitted, the points it spent and its last balance.
    const states = await poolOf(stack).accountStates();
    for (const state of states) {
      const mine = jobs.filter((j) => j.account === state.id);
      expect({ id: state.id, submitted: state.submitted, points: state.pointsSpent }).toEqual({
        id: state.id,
        submitted: stats.accounts[state.id]!.accepted,
        points: mine.reduce((sum, j) => sum + (j.pointsCost ?? 0), 0),
      });
      expect(state.pointsSpent).toBeGreaterThan(0);
      // The simulator's balances fall with each task: the last one seen is the account's lowest.
      expect(state.balance?.value).toBe(Math.min(...mine.map((j) => j.accountBalance!)));
    }
  });

  it('sends a pinned job only to its account and a tags-restricted one only to accounts with the tags', async () => {
    stack = await startPoolStack({
      sim: { latencyMs: { min: 300, max: 600 } },
      accounts: ACCOUNTS.map((a) => (a.id === 'team3' ? { ...a, tags: ['lora-x'] } : a)),
    });
    stack.spawnWorker();
    const post = (i: number, extra: Record<string, unknown>) =>
      stack!.call<{ id: string; error?: { message: string } }>('POST', '/v1/jobs', {
        operation: 'kontext.text2img',
        input: { prompt: `pinned ${i}` },
        ...extra,
      });
    const unknownPin = await post(-1, { account: 'nobody' });
    expect(unknownPin.status).toBe(400);
    expect(JSON.stringify(unknownPin.body)).toContain('account');
    expect((await post(-2, { accountTags: ['missing-tag'] })).status).toBe(400);
    expect((await post(-3, { account: 'main', accountTags: ['lora-x'] })).status).toBe(400);

    const want = new Map<string, string | undefined>();
    for (let i = 0; i < 9; i++) {
      const extra = i % 3 === 0 ? { account: 'team2' } : i % 3 === 1 ? { accountTags: ['lora-x'] } : {};
      const { status, body } = await post(i, extra);
      expect(status).toBe(202);
      want.set(body.id, i % 3 === 0 ? 'team2' : i % 3 === 1 ? 'team3' : undefined);
    }
    for (const [id, account] of want) {
      const job = await stack.ended(id, 60_000);
      expect(job.state).toBe('succeeded');
      if (account) expect({ id, account: job.account }).toEqual({ id, account });
    }
    expect(stack.sim.stats().accounts.main!.accepted).toBeLessThanOrEqual(3);
    expect(stack.sim.stats().duplicatePrompts).toBe(0);
  });

  it('pauses an account without points after its first refusal, probes it only at the interval, and resumes it once it has points', async () => {
    const PROBE_MS = 1_500;
    stack = await startPoolStack({
      sim: { latencyMs: { min: 300, max: 600 } },
      env: { ACCOUNT_PROBE_INTERVAL_MS: String(PROBE_MS) },
    });
    // team2 answers every submission with LiblibAI's "not enough points" (100021, 002 §13).
    stack.sim.configureAccount('team2', { accountError: true });
    stack.spawnWorker();
    const started = Date.now();
    const first = await runJobs(
      stack,
      Array.from({ length: 20 }, (_, i) => `empty ${i}`),
      90_000,
    );
    const duration = Date.now() - started;
    expect(first.map((j) => j.state)).toEqual(first.map(() => 'succeeded'));
    expect(first.filter((j) => j.account === 'team2')).toEqual([]);

    const log = stack.sim.stats().accounts.team2!.log;
    expect(log.length).toBeGreaterThanOrEqual(2);
    expect(log.every((s) => s.outcome === 'account-error')).toBe(true);
    // Paused after the first refusal: every later submission to it is one probe per interval,
    // counted from the previous probe's answer, so a full interval apart as the provider sees them.
    const gaps = log.slice(1).map((s, i) => s.at - log[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(PROBE_MS);
    expect(log.length).toBeLessThanOrEqual(Math.floor(duration / PROBE_MS) + 1);
    // The other two carried everything, within their limits.
    for (const id of ['main', 'team3']) {
      const own = stack.sim.stats().accounts[id]!;
      expect({ id, qps: own.qpsBreaches, inFlight: own.inFlightBreaches }).toEqual({
        id,
        qps: 0,
        inFlight: 0,
      });
    }
    const team2 = { provider: 'liblib', account: 'team2' };
    expect(await metric(stack, 'genqueue_provider_account_paused', { ...team2, kind: 'account_error' })).toBe(
      1,
    );
    expect(
      await metric(stack, 'genqueue_provider_account_paused', {
        provider: 'liblib',
        account: 'main',
        kind: 'account_error',
      }),
    ).toBe(0);
    expect(await metric(stack, 'genqueue_provider_all_accounts_paused', { provider: 'liblib' })).toBe(0);
    const pause = await pauseOf(stack, 'team2');
    expect(pause).toMatchObject({ paused: true, manual: false, reason: expect.stringContaining('100021') });

    // Points bought: the next probe succeeds and team2 takes its share again, by itself.
    stack.sim.configureAccount('team2', { accountError: false });
    const second = await runJobs(
      stack,
      Array.from({ length: 15 }, (_, i) => `refilled ${i}`),
      90_000,
    );
    expect(second.map((j) => j.state)).toEqual(second.map(() => 'succeeded'));
    expect(second.filter((j) => j.account === 'team2').length).toBeGreaterThanOrEqual(3);
    expect(await pauseOf(stack, 'team2')).toEqual({ paused: false });
    expect(await metric(stack, 'genqueue_provider_account_paused', { ...team2, kind: 'account_error' })).toBe(
      0,
    );
    const own = stack.sim.stats().accounts.team2!;
    expect({ qps: own.qpsBreaches, inFlight: own.inFlightBreaches }).toEqual({ qps: 0, inFlight: 0 });
    expect(stack.sim.stats().duplicatePrompts).toBe(0);
  });

  it('never lets jobs pinned to a busy account hold back jobs another account can take now', async () => {
    // main takes one task at a time, and each takes about 4 s: its pinned jobs queue behind each other.
    stack = await startPoolStack({
      sim: { latencyMs: { min: 4_000, max: 4_500 } },
      accounts: ACCOUNTS.filter((a) => a.id !== 'team3').map((a) =>
        a.id === 'main' ? { ...a, maxInFlight: 1 } : a,
      ),
    });
    stack.spawnWorker();
    const post = async (prompt: string, extra: Record<string, unknown> = {}) => {
      const { status, body } = await stack!.call<{ id: string }>('POST', '/v1/jobs', {
        operation: 'kontext.text2img',
        input: { prompt },
        ...extra,
      });
      expect(status).toBe(202);
      return body.id;
    };
    const pinned: string[] = [];
    for (let i = 0; i < 4; i++) pinned.push(await post(`pinned ${i}`, { account: 'main' }));
    const free: string[] = [];
    for (let i = 0; i < 5; i++) free.push(await post(`free ${i}`));

    const views = await stack.waitFor(
      async () => {
        const all = await Promise.all([...pinned, ...free].map((id) => stack!.job(id)));
        return all.every((j) => j.state === 'succeeded') ? all : undefined;
      },
      60_000,
      'every job to succeed',
    );
    const submitted = (i: number) => Date.parse(views[i]!.submittedAt!);
    const pinnedAt = pinned.map((_, i) => submitted(i)).sort((a, b) => a - b);
    const freeAt = free.map((_, i) => submitted(pinned.length + i));
    // Pinned jobs ran one after the other on main (each waited for the previous one's ~4 s).
    expect(views.slice(0, pinned.length).every((j) => j.account === 'main')).toBe(true);
    expect(pinnedAt[3]! - pinnedAt[0]!).toBeGreaterThanOrEqual(3 * 4_000);
    // The free jobs did not wait for them: from the worker's first submission, team2 takes five at
    // once, one a second, so all are submitted within about 4 s, long before main is done with its
    // pinned queue. (Counted from the first submission: the worker process starts after the posts.)
    const firstSubmission = Math.min(...pinnedAt, ...freeAt);
    for (const at of freeAt) expect(at - firstSubmission).toBeLessThan(6_500);
    expect(Math.max(...freeAt)).toBeLessThan(pinnedAt[3]!);
    const stats = stack.sim.stats();
    expect(stats.accounts.main!.maxInFlightObserved).toBe(1);
    for (const id of ['main', 'team2']) {
      const own = stats.accounts[id]!;
      expect({ id, qps: own.qpsBreaches, inFlight: own.inFlightBreaches }).toEqual({
        id,
        qps: 0,
        inFlight: 0,
      });
    }
  });

  it('uploads a job’s input files with an account it may use and that is live, never a broken first account', async () => {
    stack = await startPoolStack({ sim: { latencyMs: { min: 200, max: 400 } } });
    // main's secret was rotated at the provider: every call genqueue signs for main is refused
    // (401, an account error), the upload-signature call as well as a submission.
    stack.sim.configureAccount('main', { secretKey: 'rotated-secret' });
    stack.spawnWorker();
    const image = (key: string) => `data:image/png;base64,${renderPng(key, 8, 8).toString('base64')}`;
    const post = async (prompt: string, extra: Record<string, unknown> = {}) => {
      const { status, body } = await stack!.call<{ id: string }>('POST', '/v1/jobs', {
        operation: 'kontext.img2img',
        input: { prompt, image_list: [image(prompt)] },
        ...extra,
      });
      expect(status).toBe(202);
      return body.id;
    };
    // A job pinned to team3 uploads with team3, the account that submits it.
    const pinned = await post('pinned upload', { account: 'team3' });
    const free = [await post('free upload 1'), await post('free upload 2'), await post('free upload 3')];
    const views = await Promise.all([pinned, ...free].map((id) => stack!.ended(id, 60_000)));
    expect(views.map((v) => [v.state, v.error])).toEqual(views.map(() => ['succeeded', undefined]));
    expect(views[0]!.account).toBe('team3');
    for (const view of views) expect(view.account).not.toBe('main');
    const accounts = stack.sim.stats().accounts;
    expect(accounts.main!.uploads).toBe(0);
    expect(accounts.team3!.uploads).toBeGreaterThanOrEqual(1);
    expect(accounts.team2!.uploads + accounts.team3!.uploads).toBe(4);
    // The broken account was paused by its refusal, not retried for every job.
    expect(await pauseOf(stack, 'main')).toMatchObject({ paused: true, manual: false });
    // Each input was uploaded whole, to the provider's public OSS URL that any account's
    // submission may name.
    const store = new JobStore({ redis: stack.redis, prefix: stack.prefix, retentionSeconds: 60 });
    for (const [i, id] of [pinned, ...free].entries()) {
      const list = (await store.getJob(id))?.preparedInput?.image_list as string[] | undefined;
      const url = list?.[0] ?? '';
      expect(url.startsWith(`${stack.sim.url}${OSS_BUCKET_PATH}/`)).toBe(true);
      const prompt = i === 0 ? 'pinned upload' : `free upload ${i}`;
      expect(stack.sim.imageBytes(url)?.equals(renderPng(prompt, 8, 8))).toBe(true);
    }
  });
});
