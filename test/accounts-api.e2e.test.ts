/**
 * Account limits and pauses changed through the API while a batch runs, with no worker restart:
 * two real `npm run worker` child processes, real Redis, the simulator with two LiblibAI accounts
 * over HTTP. The simulator's own record of each task (account, accepted at, ended at) is what shows
 * that a change held.
 */
import type { AccountView, JobView } from '@genqueue/core';
import type { SimTask } from '@genqueue/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Stack, startStack } from './support/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const ACCOUNTS = ['a1', 'a2'].map((id) => ({
  id,
  accessKey: `ak-${id}`,
  secretKey: `sk-${id}-secret`,
  submitQps: 4,
  maxInFlight: 3,
}));
const JOBS = 48;
/**
 * A submission granted just before a change may reach the simulator just after the API answered;
 * tasks accepted within this long after a change are left out of what the change must govern.
 */
const SETTLE_MS = 500;

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Tasks of `account` in flight at the simulator at `t` (accepted, not yet ended). */
function inFlightAt(tasks: readonly SimTask[], account: string, t: number): number {
  return tasks.filter((x) => x.account === account && x.createdAt <= t && (x.endedAt ?? x.endsAt) > t).length;
}

describe('account changes through the API', () => {
  it('hold from the next grant in running workers: a lower in-flight limit, a pause, then a resume', async () => {
    stack = await startStack({
      sim: { accounts: ACCOUNTS, latencyMs: { min: 1_000, max: 1_500 } },
      workers: 0,
      env: (sim) => ({
        LIBLIB_ACCESS_KEY: '',
        LIBLIB_SECRET_KEY: '',
        LIBLIB_ACCOUNTS: JSON.stringify(ACCOUNTS.map((a) => ({ ...a, baseUrl: sim.url }))),
      }),
    });
    const s = stack;
    const children = [s.spawnWorker(), s.spawnWorker()];
    const patch = async (body: Record<string, unknown>) => {
      const sent = Date.now();
      const res = await s.call<AccountView>('PATCH', '/v1/accounts/liblib/a2', body, admin);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      // `sent`: the change cannot hold before; `at`: it holds for every grant from here.
      return { view: res.body, sent, at: Date.now() };
    };
    const a2Tasks = (after: number) => s.sim.tasks().filter((t) => t.account === 'a2' && t.createdAt > after);

    // The API's one call to the provider, a model lookup, works with accounts configured as a list.
    const uuid = '21df5d84cca74f7a885ba672b5a80d19';
    const lookup = await s.call<{ model: { versionUuid: string } }>(
      'GET',
      `/v1/providers/liblib/models/${uuid}`,
    );
    expect(lookup.status, JSON.stringify(lookup.body)).toBe(200);
    expect(lookup.body.model.versionUuid).toBe(uuid);

    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) ids.push(await s.postJob('kontext.text2img', { prompt: `change ${i}` }));
    await s.waitFor(async () => a2Tasks(0).length >= 3, 30_000, 'a2 to take work');

    // 1. At most one task in flight on a2, from its next grant on.
    const limited = await patch({ maxInFlight: 1 });
    expect(limited.view).toMatchObject({ limits: { maxInFlight: 1 }, configuredLimits: { maxInFlight: 3 } });
    await s.waitFor(
      async () => a2Tasks(limited.at + SETTLE_MS).length >= 3,
      30_000,
      'a2 to take three tasks at its new limit',
    );

    // 2. Paused: a2 takes nothing more, a1 keeps going.
    const paused = await patch({ paused: true });
    expect(paused.view).toMatchObject({ paused: true, pause: { manual: true } });
    const a1Before = s.sim.stats().accounts.a1!.accepted;
    await s.waitFor(
      async () => s.sim.stats().accounts.a1!.accepted >= a1Before + 4,
      30_000,
      'a1 to take four more tasks while a2 is paused',
    );
    const resumed = await patch({ paused: false, maxInFlight: null });
    expect(resumed.view).toMatchObject({ paused: false, limits: { maxInFlight: 3 } });

    // 3. Resumed: a2 takes work again.
    await s.waitFor(async () => a2Tasks(resumed.at).length >= 1, 30_000, 'a2 to take work again');

    const jobs = await s.waitFor(
      async () => {
        const views = await Promise.all(ids.map((id) => s.job(id)));
        return views.every((j) => ['succeeded', 'failed', 'canceled'].includes(j.state)) ? views : undefined;
      },
      120_000,
      'every job to end',
    );
    // The same two processes did it all: nothing was restarted.
    for (const child of children) expect(child.exitCode).toBeNull();
    expect(jobs.map((j: JobView) => j.state)).toEqual(ids.map(() => 'succeeded'));

    const tasks = s.sim.tasks();
    const limitedPhase = tasks.filter(
      (t) => t.account === 'a2' && t.createdAt > limited.at + SETTLE_MS && t.createdAt <= paused.sent,
    );
    expect(limitedPhase.length).toBeGreaterThanOrEqual(3);
    // Each of them was a2's only task in flight when the simulator accepted it.
    for (const t of limitedPhase)
      expect({ id: t.id, n: inFlightAt(tasks, 'a2', t.createdAt) }).toEqual({ id: t.id, n: 1 });
    const duringPause = tasks.filter(
      (t) => t.account === 'a2' && t.createdAt > paused.at + SETTLE_MS && t.createdAt <= resumed.sent,
    );
    expect(
      duringPause.map((t) => ({ id: t.id, createdAt: t.createdAt })),
      JSON.stringify({ paused: paused.at, resumeSent: resumed.sent }),
    ).toEqual([]);
    expect(
      tasks.filter((t) => t.account === 'a1' && t.createdAt > paused.at && t.createdAt <= resumed.sent)
        .length,
    ).toBeGreaterThanOrEqual(4);

    const stats = s.sim.stats();
    expect(stats.accepted).toBe(JOBS);
    expect(stats.duplicatePrompts).toBe(0);
    for (const { id } of ACCOUNTS) {
      const own = stats.accounts[id]!;
      expect({ id, qps: own.qpsBreaches, inFlight: own.inFlightBreaches }).toEqual({
        id,
        qps: 0,
        inFlight: 0,
      });
    }
    // The list counts what each account submitted, as the simulator saw it.
    const listed = await s.call<{ accounts: AccountView[] }>('GET', '/v1/accounts', undefined, admin);
    expect(listed.status).toBe(200);
    expect(listed.body.accounts.map((a) => [a.id, a.submitted, a.inFlight, a.paused])).toEqual([
      ['a1', stats.accounts.a1!.accepted, 0, false],
      ['a2', stats.accounts.a2!.accepted, 0, false],
    ]);
  });
});
