import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerRequest, manualClock } from '../internal/test-support.ts';
import { startSimulator } from '../simulator.ts';
import type { Simulator, SimulatorOptions } from '../types.ts';

const DEV = 'black-forest-labs/flux.1-dev';
const PRO = 'black-forest-labs/flux-kontext-pro';
const IMG = 'https://example.com/a.png';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function setup(options: SimulatorOptions = {}) {
  sim = await startSimulator({
    mode: 'modelverse',
    seed: 3,
    latencyMs: { min: 0, max: 0 },
    submitQps: 100,
    ...options,
  });
  const base = sim.url;
  const generate = (body: Record<string, unknown>, token = 'sim-token') =>
    bearerRequest(`${base}/v1/images/generations`, { method: 'POST', token, body });
  return { sim, generate };
}

describe('modelverse mode', () => {
  it('refuses a wrong key with an OpenAI-style 401', async () => {
    const { generate, sim } = await setup();
    const res = await generate({ model: DEV, prompt: 'p' }, 'wrong');
    expect(res.status).toBe(401);
    expect(res.json.error).toMatchObject({ code: 'invalid_api_key', param: expect.any(String) });
    expect(sim.stats().authFailures).toBe(1);
  });

  it('answers image URLs at once, serving real PNGs', async () => {
    const { generate, sim } = await setup();
    const res = await generate({ model: DEV, prompt: 'a red fox', n: 2 });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      created: expect.any(Number),
      data: [{ url: expect.any(String) }, { url: expect.any(String) }],
    });
    for (const { url } of res.json.data) {
      const image = await fetch(url);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await image.arrayBuffer()).equals(sim.imageBytes(url)!)).toBe(true);
    }
    expect(sim.stats()).toMatchObject({ accepted: 1, inFlight: 0 });
  });

  it('answers b64_json as a data URL of the same bytes the URL serves', async () => {
    const { generate, sim } = await setup();
    const res = await generate({ model: DEV, prompt: 'p', response_format: 'b64_json' });
    const [item] = res.json.data;
    expect(item.b64_json).toMatch(/^data:image\/png;base64,/);
    const decoded = Buffer.from(item.b64_json.split(',')[1], 'base64');
    expect(decoded.equals(sim.imageBytes(item.url)!)).toBe(true);
  });

  it.each([
    ['unknown model', { model: 'acme/unknown', prompt: 'p' }, 404, 'model_not_found'],
    ['kontext-pro without image', { model: PRO, prompt: 'p' }, 400, 'invalid_parameter'],
    ['n on kontext-pro', { model: PRO, prompt: 'p', image: IMG, n: 2 }, 400, 'invalid_parameter'],
    [
      'negative_prompt on flux.1-dev',
      { model: DEV, prompt: 'p', negative_prompt: 'x' },
      400,
      'invalid_parameter',
    ],
    ['size 2048x2048', { model: DEV, prompt: 'p', size: '2048x2048' }, 400, 'invalid_parameter'],
    ['n 5', { model: DEV, prompt: 'p', n: 5 }, 400, 'invalid_parameter'],
    ['guidance_scale 11', { model: DEV, prompt: 'p', guidance_scale: 11 }, 400, 'invalid_parameter'],
    ['multi without images', { model: `${PRO}/multi`, prompt: 'p' }, 400, 'invalid_parameter'],
    ['moderated prompt', { model: DEV, prompt: 'something forbidden' }, 400, 'content_moderation'],
  ])('answers %s with %i %s', async (_name, body, status, code) => {
    const { generate, sim } = await setup();
    const res = await generate(body);
    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
    expect(sim.stats().accepted).toBe(0);
  });

  it('accepts every model of 004 with its own parameters', async () => {
    const { generate } = await setup({ maxInFlight: 100 });
    const bodies = [
      { model: DEV, prompt: 'p', size: '512x768', strength: 0.5, steps: 20, seed: -1 },
      { model: PRO, prompt: 'p', image: 'data:image/png;base64,iVBORw0KGgo=' },
      { model: `${PRO}/multi`, prompt: 'p', images: [IMG, IMG] },
      { model: `${PRO}/text-to-image`, prompt: 'p', aspect_ratio: '9:16', n: 2 },
      { model: 'black-forest-labs/flux-kontext-max', prompt: 'p', image: IMG },
      { model: 'black-forest-labs/flux-kontext-max/multi', prompt: 'p', images: [IMG] },
      { model: 'black-forest-labs/flux-kontext-max/text-to-image', prompt: 'p' },
      { model: 'stepfun-ai/step1x-edit', prompt: 'p', image: IMG, negative_prompt: 'blur', steps: 30 },
    ];
    for (const body of bodies) expect((await generate(body)).status, body.model).toBe(200);
  });

  it('counts a synchronous request in flight for the whole generation', async () => {
    const clock = manualClock();
    const { generate, sim } = await setup({
      maxInFlight: 1,
      latencyMs: { min: 5_000, max: 5_000 },
      now: clock.now,
    });
    const first = generate({ model: DEV, prompt: 'first' });
    await until(() => sim.stats().inFlight === 1);
    const second = await generate({ model: DEV, prompt: 'second' });
    expect(second.status).toBe(429);
    expect(second.json.error.code).toBe('rate_limit_exceeded');
    expect(second.headers.get('retry-after')).toBe('1');
    clock.advance(5_000);
    expect((await first).status).toBe(200);
    expect(sim.stats()).toMatchObject({ inFlight: 0, inFlightBreaches: 1, accepted: 1 });
  });

  it('counts a submission in the QPS window from its arrival, not from when its body was read', async () => {
    const clock = manualClock();
    const { generate, sim } = await setup({ submitQps: 1, now: clock.now });
    // The first request's headers arrive at t = 0; its body only 300 ms later.
    const body = JSON.stringify({ model: DEV, prompt: 'slow body' });
    const slow = request(`${sim.url}/v1/images/generations`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer sim-token',
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    });
    const answered = new Promise<number>((resolve, reject) => {
      slow.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      slow.on('error', reject);
    });
    slow.flushHeaders();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server has parsed the headers
    clock.advance(300);
    slow.end(body);
    expect(await answered).toBe(200);
    // 1010 ms after the first one arrived: a gateway counting arrivals lets it through.
    clock.advance(710);
    expect((await generate({ model: DEV, prompt: 'next' })).status).toBe(200);
    expect(sim.stats().qpsBreaches).toBe(0);
  });

  it('counts QPS breaches', async () => {
    const { generate, sim } = await setup({ submitQps: 1 });
    expect((await generate({ model: DEV, prompt: 'a' })).status).toBe(200);
    expect((await generate({ model: DEV, prompt: 'b' })).status).toBe(429);
    expect(sim.stats().qpsBreaches).toBe(1);
  });

  it.each([
    [{ failureRate: 1 }, 500, 'internal_error'],
    [{ timeoutRate: 1 }, 504, 'timeout'],
    [{ reviewBlockRate: 1 }, 400, 'content_moderation'],
  ] as const)('ends a generation with %j as %i %s', async (options, status, code) => {
    const { generate } = await setup(options);
    const res = await generate({ model: DEV, prompt: 'p' });
    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
  });

  it('injects transport and limit faults', async () => {
    const { generate, sim } = await setup();
    sim.inject({ kind: '5xx' });
    expect((await generate({ model: DEV, prompt: 'p' })).status).toBeGreaterThanOrEqual(500);
    sim.inject({ kind: 'concurrency-limit' });
    expect((await generate({ model: DEV, prompt: 'p' })).status).toBe(429);
    expect(sim.stats().inFlightBreaches).toBe(0);
  });
});
