import { afterEach, describe, expect, it } from 'vitest';
import { liblibCaller, manualClock } from './internal/test-support.ts';
import { startSimulator } from './simulator.ts';
import type { Simulator } from './types.ts';

const KONTEXT = '/api/generate/kontext/text2img';
const KONTEXT_TEMPLATE = 'fe9928fde1b4491c9b360dd24aa2b115';
const STATUS = '/api/generate/status';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup() {
  const clock = manualClock();
  sim = await startSimulator({
    seed: 11,
    latencyMs: { min: 10_000, max: 10_000 },
    now: clock.now,
    accounts: [
      { id: 'main', accessKey: 'ak-main', secretKey: 'sk-main', submitQps: 1, maxInFlight: 2 },
      { id: 'team2', accessKey: 'ak-team2', secretKey: 'sk-team2', submitQps: 2, maxInFlight: 1 },
    ],
  });
  const caller = (accessKey: string, secretKey: string) => {
    const api = liblibCaller(sim!.url, { accessKey, secretKey }, clock.now);
    return {
      submit: (prompt: string) =>
        api.post(KONTEXT, { templateUuid: KONTEXT_TEMPLATE, generateParams: { prompt } }),
      status: (id: string) => api.post(STATUS, { generateUuid: id }),
    };
  };
  return {
    sim,
    clock,
    main: caller('ak-main', 'sk-main'),
    team2: caller('ak-team2', 'sk-team2'),
    forged: caller('ak-main', 'sk-team2'),
  };
}

describe('simulator accounts', () => {
  it('enforces and counts each account’s own limits, and sums them in the totals', async () => {
    const { sim, clock, main, team2 } = await setup();
    expect((await main.submit('m1')).json?.code).toBe(0);
    // main allows 1/s: a second submission in the same second is main's breach only.
    expect((await main.submit('m2')).json?.code).toBe(429);
    expect((await team2.submit('t1')).json?.code).toBe(0);
    // team2 allows 2/s but 1 in flight.
    expect((await team2.submit('t2')).json?.code).toBe(100054);
    clock.advance(1_000);
    expect((await main.submit('m2')).json?.code).toBe(0);
    const stats = sim.stats();
    expect(stats.accounts.main).toMatchObject({
      submissions: 3,
      accepted: 2,
      qpsBreaches: 1,
      inFlightBreaches: 0,
      inFlight: 2,
      maxInFlightObserved: 2,
    });
    expect(stats.accounts.team2).toMatchObject({
      submissions: 2,
      accepted: 1,
      qpsBreaches: 0,
      inFlightBreaches: 1,
      inFlight: 1,
      maxInFlightObserved: 1,
    });
    expect(stats).toMatchObject({
      submissions: 5,
      accepted: 3,
      qpsBreaches: 1,
      inFlightBreaches: 1,
      inFlight: 3,
    });
    sim.resetStats();
    expect(sim.stats().accounts.main).toMatchObject({ submissions: 0, maxInFlightObserved: 2 });
  });

  it('shows a task only to the account that created it', async () => {
    const { main, team2, forged } = await setup();
    const id = (await main.submit('mine')).json?.data?.generateUuid as string;
    expect((await main.status(id)).json?.code).toBe(0);
    // Another account's valid key: "task does not exist" (100051), as for any unknown id.
    expect((await team2.status(id)).json?.code).toBe(100051);
    // One account's access key with another's secret is a bad signature.
    expect((await forged.status(id)).status).toBe(401);
  });

  it('answers every submission of an account switched to fail with "not enough points", and back', async () => {
    const { sim, clock, main, team2 } = await setup();
    sim.configureAccount('team2', { accountError: true });
    for (const prompt of ['a', 'b']) {
      const refused = await team2.submit(prompt);
      expect(refused.json?.code).toBe(100021);
      clock.advance(1_000);
    }
    expect((await main.submit('c')).json?.code).toBe(0);
    expect(sim.stats().accounts.team2).toMatchObject({
      submissions: 2,
      accepted: 0,
      accountErrors: 2,
      inFlight: 0,
    });
    sim.configureAccount('team2', { accountError: false });
    expect((await team2.submit('d')).json?.code).toBe(0);
    // Each account's submission log, in arrival order, by the simulator's clock.
    const start = sim.stats().accounts.team2!.log[0]!.at;
    expect(sim.stats().accounts.team2!.log).toEqual([
      { at: start, outcome: 'account-error' },
      { at: start + 1_000, outcome: 'account-error' },
      { at: start + 2_000, outcome: 'accepted' },
    ]);
    expect(sim.stats().accounts.main!.log.map((s) => s.outcome)).toEqual(['accepted']);
    expect(() => sim.configureAccount('nobody', { accountError: true })).toThrow(/no simulator account/);
    expect(() => sim.configureAccount('team2', { maxInFlight: -1 })).toThrow();
  });

  it('keeps the single-account form: the top-level keys and limits are account default', async () => {
    sim = await startSimulator({ seed: 3, latencyMs: { min: 10_000, max: 10_000 } });
    const api = liblibCaller(sim.url, { accessKey: 'sim-access-key', secretKey: 'sim-secret-key' });
    const r = await api.post(KONTEXT, { templateUuid: KONTEXT_TEMPLATE, generateParams: { prompt: 'x' } });
    expect(r.json?.code).toBe(0);
    expect(Object.keys(sim.stats().accounts)).toEqual(['default']);
    expect(sim.stats().accounts.default).toMatchObject({ accepted: 1 });
  });
});
