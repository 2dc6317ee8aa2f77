import { afterEach, describe, expect, it } from 'vitest';
import { bearerRequest, manualClock } from '../internal/test-support.ts';
import { startSimulator } from '../simulator.ts';
import type { Simulator, SimulatorOptions } from '../types.ts';

const MODEL_PATH = '/v1/models/black-forest-labs/flux-kontext-dev/predictions';
const INPUT = { prompt: 'make it red', input_image: 'https://example.com/car.jpg' };

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(options: SimulatorOptions = {}, clock: { now: () => number } | null = manualClock()) {
  sim = await startSimulator({
    mode: 'replicate',
    seed: 5,
    latencyMs: { min: 10_000, max: 10_000 },
    submitQps: 100,
    ...(clock ? { now: clock.now } : {}),
    ...options,
  });
  const base = sim.url;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    bearerRequest(path.startsWith('http') ? path : `${base}${path}`, {
      method,
      token: 'sim-token',
      body,
      headers,
    });
  const create = (input: Record<string, unknown> = INPUT, headers?: Record<string, string>, prefix = '') =>
    call('POST', `${prefix}${MODEL_PATH}`, { input }, headers);
  return { sim, call, create };
}

describe('replicate mode', () => {
  it('refuses a wrong token with a 401 problem detail', async () => {
    const { call, sim } = await setup();
    const res = await call('POST', MODEL_PATH, { input: INPUT }, { authorization: 'Bearer nope' });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ status: 401, title: 'Unauthenticated' });
    expect(sim.stats().authFailures).toBe(1);
  });

  it('creates a prediction, moves it starting → processing → succeeded, and serves its PNG', async () => {
    const clock = manualClock();
    const { create, call, sim } = await setup({}, clock);
    const created = await create();
    expect(created.status).toBe(201);
    const p = created.json;
    expect(p).toMatchObject({
      status: 'starting',
      output: null,
      error: null,
      model: 'black-forest-labs/flux-kontext-dev',
    });
    expect(p.urls.get).toBe(`${sim.url}/v1/predictions/${p.id}`);
    expect(p.urls.cancel).toBe(`${sim.url}/v1/predictions/${p.id}/cancel`);
    clock.advance(5_000);
    expect((await call('GET', p.urls.get)).json.status).toBe('processing');
    clock.advance(5_000);
    const done = (await call('GET', p.urls.get)).json;
    expect(done.status).toBe('succeeded');
    expect(typeof done.output).toBe('string');
    const image = await fetch(done.output);
    const bytes = Buffer.from(await image.arrayBuffer());
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(bytes.equals(sim.imageBytes(done.output)!)).toBe(true);
    expect(sim.stats()).toMatchObject({ accepted: 1, statusQueries: 2 });
    expect(sim.stats().submissionsByPrompt).toEqual({ 'make it red': 1 });
  });

  it("serves the proxy's /replicate prefix, with urls under it", async () => {
    const { create, call, sim } = await setup();
    const created = await create(INPUT, {}, '/replicate');
    expect(created.status).toBe(201);
    expect(created.json.urls.get).toBe(`${sim.url}/replicate/v1/predictions/${created.json.id}`);
    expect((await call('GET', created.json.urls.get)).status).toBe(200);
  });

  it.each([
    ['no input_image', { prompt: 'p' }],
    ['guidance 11', { ...INPUT, guidance: 11 }],
    ['steps 3', { ...INPUT, num_inference_steps: 3 }],
    ['output_format gif', { ...INPUT, output_format: 'gif' }],
    ['aspect ratio 7:5', { ...INPUT, aspect_ratio: '7:5' }],
    ['input_image a path', { ...INPUT, input_image: '/etc/passwd' }],
  ])('answers 422 for %s', async (_name, input) => {
    const { create, sim } = await setup();
    const res = await create(input);
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ status: 422, title: 'Input validation failed' });
    expect(sim.stats().accepted).toBe(0);
  });

  it('accepts base64 data URLs as input_image', async () => {
    const { create } = await setup();
    expect((await create({ ...INPUT, input_image: 'data:image/png;base64,iVBORw0KGgo=' })).status).toBe(201);
  });

  it('cancels a running prediction and frees its in-flight slot', async () => {
    const { create, call, sim } = await setup({ maxInFlight: 1 });
    const p = (await create()).json;
    expect((await create()).status).toBe(429);
    const canceled = await call('POST', p.urls.cancel);
    expect(canceled.status).toBe(200);
    expect(canceled.json.status).toBe('canceled');
    expect(sim.stats().inFlight).toBe(0);
    expect((await call('GET', p.urls.get)).json.status).toBe('canceled');
    expect((await create()).status).toBe(201);
    expect(sim.stats().inFlightBreaches).toBe(1);
  });

  it('answers both limits with 429 and Retry-After, counting each breach', async () => {
    const clock = manualClock();
    const { create, sim } = await setup({ submitQps: 1, maxInFlight: 1 }, clock);
    expect((await create()).status).toBe(201);
    const qps = await create();
    expect(qps.status).toBe(429);
    expect(qps.headers.get('retry-after')).toBe('1');
    clock.advance(1_000);
    expect((await create()).status).toBe(429);
    expect(sim.stats()).toMatchObject({ qpsBreaches: 1, inFlightBreaches: 1, accepted: 1 });
  });

  it.each([
    [{ failureRate: 1 }, 'failed', /simulated failure/],
    [{ reviewBlockRate: 1 }, 'failed', /NSFW/],
    [{ timeoutRate: 1 }, 'aborted', /deadline/],
  ] as const)('ends a prediction with %j as %s', async (options, status, error) => {
    const clock = manualClock();
    const { create, call } = await setup(options, clock);
    const p = (await create()).json;
    clock.advance(10_000);
    const done = (await call('GET', p.urls.get)).json;
    expect(done.status).toBe(status);
    expect(done.error).toMatch(error);
    expect(done.output).toBeNull();
  });

  it('holds the answer with Prefer: wait until the prediction ends', async () => {
    const { create } = await setup({ latencyMs: { min: 50, max: 50 } }, null);
    const res = await create(INPUT, { prefer: 'wait=5' });
    expect(res.status).toBe(201);
    expect(res.json.status).toBe('succeeded');
    expect(res.json.output).toMatch(/\.png$/);
  });

  it('answers Prefer: wait with the current state when the wait runs out', async () => {
    const { create } = await setup({ latencyMs: { min: 60_000, max: 60_000 } }, null);
    const res = await create(INPUT, { prefer: 'wait=1' });
    expect(res.json.status).toMatch(/starting|processing/);
  });

  it("answers spec 003's OpenAI-style example when replicateAnswerStyle is openai", async () => {
    const { create, sim } = await setup(
      { latencyMs: { min: 20, max: 20 }, replicateAnswerStyle: 'openai' },
      null,
    );
    const res = await create();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      created: expect.any(Number),
      data: [{ url: expect.stringMatching(/\.png$/) }],
    });
    expect(sim.imageBytes(res.json.data[0].url)).toBeInstanceOf(Buffer);
  });

  it('holds a synchronous (OpenAI-style) answer past 30 s, until the 45 s generation ends', async () => {
    const clock = manualClock();
    const { create, sim } = await setup(
      { latencyMs: { min: 45_000, max: 45_000 }, replicateAnswerStyle: 'openai' },
      clock,
    );
    let answered = false;
    const pending = create().then((res) => {
      answered = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    clock.advance(31_000);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(answered).toBe(false);
    clock.advance(14_000);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json.data).toHaveLength(1);
    expect(sim.stats()).toMatchObject({ accepted: 1, statusQueries: 0 });
  });

  it("keeps predictions under a proxy's own path: only urls.get / urls.cancel reach them", async () => {
    const { create, call, sim } = await setup({ replicatePredictionPaths: 'proxy' });
    const p = (await create(INPUT, {}, '/replicate')).json;
    expect(p.urls.get).toBe(`${sim.url}/proxy-api/tasks/${p.id}`);
    expect(p.urls.cancel).toBe(`${sim.url}/proxy-api/tasks/${p.id}/cancel`);
    expect((await call('GET', p.urls.get)).json).toMatchObject({ id: p.id, status: 'starting' });
    // Replicate's own paths are not this proxy's.
    expect((await call('GET', `/replicate/v1/predictions/${p.id}`)).status).toBe(404);
    expect((await call('GET', `/v1/predictions/${p.id}`)).status).toBe(404);
    expect((await call('POST', `/v1/predictions/${p.id}/cancel`)).status).toBe(404);
    expect((await call('POST', p.urls.cancel)).json.status).toBe('canceled');
  });

  it('answers 404 for an unknown prediction', async () => {
    const { call } = await setup();
    expect((await call('GET', '/v1/predictions/nope')).status).toBe(404);
    expect((await call('POST', '/v1/predictions/nope/cancel')).status).toBe(404);
  });
});
