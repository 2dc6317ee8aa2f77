import { afterEach, describe, expect, it } from 'vitest';
import { decodePng, liblibCaller, manualClock } from './internal/test-support.ts';
import { startSimulator } from './simulator.ts';
import type { Simulator, SimulatorMode, SimulatorOptions } from './types.ts';

const KONTEXT = '/api/generate/kontext/text2img';
const STATUS = '/api/generate/status';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close().catch(() => undefined);
  sim = undefined;
});

async function setup(options: SimulatorOptions = {}) {
  const clock = manualClock();
  sim = await startSimulator({ seed: 3, latencyMs: { min: 1000, max: 1000 }, now: clock.now, ...options });
  const api = liblibCaller(sim.url, { accessKey: 'sim-access-key', secretKey: 'sim-secret-key' }, clock.now);
  const submit = () =>
    api.post(KONTEXT, {
      templateUuid: 'fe9928fde1b4491c9b360dd24aa2b115',
      generateParams: { prompt: 'fox' },
    });
  const status = (id: string) => api.post(STATUS, { generateUuid: id });
  /** Submits one task and lets it finish; returns its first image URL. */
  const finishedTask = async () => {
    const id = (await submit()).json!.data!.generateUuid!;
    clock.advance(1000);
    const data = (await status(id)).json!.data!;
    return { id, imageUrl: data.images![0]!.imageUrl };
  };
  return { sim, clock, api, submit, status, finishedTask };
}

describe('faults', () => {
  it('5xx answers HTML 5xx once, before any task exists', async () => {
    const { sim, submit } = await setup();
    sim.inject({ kind: '5xx', endpoint: 'submit' });
    const failed = await submit();
    expect([500, 502, 503]).toContain(failed.status);
    expect(failed.json).toBeUndefined();
    expect(sim.tasks()).toHaveLength(0);
    expect((await submit()).json?.code).toBe(0);
    expect(sim.stats().faultsInjected).toEqual({ '5xx': 1 });
  });

  it('targets only its endpoint: an upload fault leaves submissions alone', async () => {
    const { sim, api, submit } = await setup();
    sim.inject({ kind: '5xx', endpoint: 'upload' });
    expect((await submit()).json?.code).toBe(0);
    const upload = await api.post('/api/generate/upload/signature', { name: 'a', extension: 'png' });
    expect(upload.status).toBeGreaterThanOrEqual(500);
    expect(sim.stats().faultsInjected).toEqual({ '5xx': 1 });
  });

  it('malformed-json answers 200 with a truncated body', async () => {
    const { sim, submit, status } = await setup();
    const id = (await submit()).json!.data!.generateUuid!;
    sim.inject({ kind: 'malformed-json', endpoint: 'status' });
    const res = await status(id);
    expect(res.status).toBe(200);
    expect(() => JSON.parse(res.text)).toThrow();
    expect((await status(id)).json?.code).toBe(0);
  });

  it('reset destroys the socket before a task is created', async () => {
    const { sim, submit } = await setup();
    sim.inject({ kind: 'reset', endpoint: 'submit' });
    await expect(submit()).rejects.toThrow();
    expect(sim.stats()).toMatchObject({ accepted: 0, faultsInjected: { reset: 1 } });
    expect(sim.tasks()).toHaveLength(0);
  });

  it('hang never answers; the client gives up and close() still returns', async () => {
    const { sim, api } = await setup();
    sim.inject({ kind: 'hang' });
    const hung = fetch(api.sign(STATUS), {
      method: 'POST',
      body: JSON.stringify({ generateUuid: 'x' }),
      signal: AbortSignal.timeout(300),
    });
    await expect(hung).rejects.toThrow();
    expect(sim.stats().faultsInjected).toEqual({ hang: 1 });

    // A client without a timeout stays hung until the simulator closes.
    sim.inject({ kind: 'hang' });
    const forever = fetch(api.sign(STATUS), { method: 'POST', body: JSON.stringify({ generateUuid: 'x' }) });
    await expect.poll(() => sim.stats().faultsInjected.hang).toBe(2);
    await sim.close();
    await expect(forever).rejects.toThrow();
  });

  it('rate-limit and concurrency-limit storms answer in either form without counting as breaches', async () => {
    const { sim, clock, submit } = await setup();
    sim.inject({ kind: 'rate-limit', count: 2, form: 'body' });
    sim.inject({ kind: 'concurrency-limit', form: 'http' });
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const r = await submit();
      answers.push([r.status, r.json?.code]);
    }
    expect(answers).toEqual([
      [200, 429],
      [200, 429],
      [429, 100054],
    ]);
    clock.advance(1000);
    expect((await submit()).json?.code).toBe(0);
    expect(sim.stats()).toMatchObject({
      qpsBreaches: 0,
      inFlightBreaches: 0,
      faultsInjected: { 'rate-limit': 2, 'concurrency-limit': 1 },
    });
  });

  it('status-backwards answers an earlier status once', async () => {
    const { sim, clock, submit, status } = await setup({ reviewPhaseRate: 0 });
    const id = (await submit()).json!.data!.generateUuid!;
    clock.advance(1000);
    expect((await status(id)).json?.data?.generateStatus).toBe(5);
    sim.inject({ kind: 'status-backwards' });
    expect((await status(id)).json?.data?.generateStatus).toBe(2);
    expect((await status(id)).json?.data?.generateStatus).toBe(5);
  });

  it('image-404 answers 404 once, then the image', async () => {
    const { sim, finishedTask } = await setup();
    const { imageUrl } = await finishedTask();
    sim.inject({ kind: 'image-404' });
    expect((await fetch(imageUrl)).status).toBe(404);
    const ok = await fetch(imageUrl);
    expect(ok.status).toBe(200);
    expect(decodePng(Buffer.from(await ok.arrayBuffer())).width).toBe(64);
  });

  it('slow-image streams the exact bytes over delayMs', async () => {
    const { sim, finishedTask } = await setup({ outputPadBytes: 200_000 });
    const { imageUrl } = await finishedTask();
    sim.inject({ kind: 'slow-image', delayMs: 400 });
    const started = performance.now();
    const bytes = Buffer.from(await (await fetch(imageUrl)).arrayBuffer());
    // A lower bound only: the stream cannot finish before its slices were sent.
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(bytes.equals(sim.imageBytes(imageUrl)!)).toBe(true);
    expect(decodePng(bytes).chunks).toContain('paDd');
  });

  it('random fault rates apply to matching requests and are counted', async () => {
    const { sim, submit } = await setup({ faultRates: { '5xx': 1 } });
    expect((await submit()).status).toBeGreaterThanOrEqual(500);
    sim.configure({ faultRates: {} });
    expect((await submit()).json?.code).toBe(0);
    expect(sim.stats().faultsInjected).toEqual({ '5xx': 1 });
  });

  it('refuses faults that cannot apply to the endpoint', async () => {
    const { sim } = await setup();
    expect(() => sim.inject({ kind: 'image-404', endpoint: 'submit' })).toThrow();
    expect(() => sim.inject({ kind: 'status-backwards', endpoint: 'submit' })).toThrow();
  });
});

describe('outputs', () => {
  it('serves nothing before the task succeeded and 403 once the URL expired after 7 days', async () => {
    const { sim, clock, submit } = await setup();
    const id = (await submit()).json!.data!.generateUuid!;
    const url = `${sim.url}/images/${id}/0.png`;
    expect((await fetch(url)).status).toBe(404);
    clock.advance(1000);
    expect((await fetch(url)).status).toBe(200);
    clock.advance(7 * 24 * 3600 * 1000 + 1);
    expect((await fetch(url)).status).toBe(403);
  });
});

describe('control API', () => {
  it('exposes stats, tasks, config, faults and reset over HTTP', async () => {
    const { sim, submit } = await setup();
    const control = (path: string, init?: RequestInit) => fetch(`${sim.url}/__sim/${path}`, init);
    const post = (path: string, body: unknown) =>
      control(path, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });

    await submit();
    expect(await (await control('stats')).json()).toMatchObject({ accepted: 1, submissions: 1, inFlight: 1 });
    const tasks = (await (await control('tasks')).json()) as { prompt: string; state: string }[];
    expect(tasks).toMatchObject([{ prompt: 'fox', state: 'queued' }]);

    const config = await post('config', { maxInFlight: 1, submitQps: 5 });
    expect(config.status).toBe(200);
    expect(await config.json()).toMatchObject({ maxInFlight: 1, submitQps: 5 });
    expect(sim.options.maxInFlight).toBe(1);
    expect((await post('config', { port: 1 })).status).toBe(400);
    expect((await post('config', { failureRate: 2 })).status).toBe(400);

    expect((await post('faults', { kind: '5xx', endpoint: 'submit', count: 2 })).status).toBe(204);
    expect((await post('faults', { kind: 'nope' })).status).toBe(400);
    expect(await (await control('faults')).json()).toEqual([{ kind: '5xx', endpoint: 'submit', count: 2 }]);
    expect((await control('faults', { method: 'DELETE' })).status).toBe(204);
    expect(await (await control('faults')).json()).toEqual([]);

    // The in-flight limit from the config applies at once.
    expect((await submit()).json?.code).toBe(100054);
    // One account switched to answer with its account error, and back (the single account: default).
    expect((await post('accounts/default', { accountError: true })).status).toBe(204);
    expect((await post('accounts/nobody', { accountError: true })).status).toBe(400);
    expect((await post('accounts/default', { accountError: 'yes' })).status).toBe(400);
    expect((await post('accounts/default', { accountError: false })).status).toBe(204);
    expect((await post('reset', {})).status).toBe(204);
    expect(await (await control('stats')).json()).toMatchObject({
      accepted: 0,
      submissions: 0,
      inFlightBreaches: 0,
      inFlight: 1,
      maxInFlightObserved: 1,
    });
  });

  it('refuses an unimplemented mode and immutable options', async () => {
    await expect(startSimulator({ mode: 'nope' as SimulatorMode })).rejects.toThrow(/not implemented/);
    const { sim } = await setup();
    expect(() => sim.configure({ port: 1 })).toThrow(TypeError);
  });
});

describe('stats', () => {
  it('peakStatusQps is the most status queries within any 1 s window', async () => {
    const { sim, clock, submit, status } = await setup();
    const id = (await submit()).json!.data!.generateUuid!;
    for (let i = 0; i < 3; i++) await status(id); // 3 at the same instant
    clock.advance(1000); // the first three are out of the window now
    await status(id);
    clock.advance(400);
    await status(id);
    expect(sim.stats()).toMatchObject({ statusQueries: 5, peakStatusQps: 3 });
    clock.advance(300);
    for (let i = 0; i < 3; i++) await status(id); // 1 + 1 + 3 within 700 ms
    expect(sim.stats().peakStatusQps).toBe(5);
    sim.resetStats();
    await status(id);
    expect(sim.stats()).toMatchObject({ statusQueries: 1, peakStatusQps: 1 });
  });
});
