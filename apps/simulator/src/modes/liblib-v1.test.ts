import { afterEach, describe, expect, it } from 'vitest';
import { bearerRequest, manualClock } from '../internal/test-support.ts';
import { startSimulator } from '../simulator.ts';
import type { Simulator, SimulatorOptions } from '../types.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(options: SimulatorOptions = {}) {
  const clock = manualClock();
  sim = await startSimulator({
    mode: 'liblib-v1',
    seed: 11,
    latencyMs: { min: 10_000, max: 10_000 },
    submitQps: 100,
    now: clock.now,
    ...options,
  });
  const base = sim.url;
  const call = (method: string, path: string, body?: unknown, token = 'sim-token') =>
    bearerRequest(`${base}${path}`, { method, token, body });
  const run = (
    body: Record<string, unknown> = { prompt: 'a red fox', model_id: 'kontext-1' },
    token?: string,
  ) => call('POST', '/v1/workflows/run', body, token);
  const task = (id: string) => call('GET', `/v1/tasks/${id}`);
  return { sim, clock, call, run, task };
}

describe('liblib-v1 mode', () => {
  it('refuses a missing or wrong Bearer token with 401 and counts it', async () => {
    const { run, task, sim } = await setup();
    expect((await run(undefined, 'wrong')).status).toBe(401);
    expect((await task('x')).status).toBe(404);
    const noAuth = await fetch(`${sim.url}/v1/tasks/x`);
    expect(noAuth.status).toBe(401);
    expect(sim.stats().authFailures).toBe(2);
    expect(sim.stats().accepted).toBe(0);
  });

  it('runs a task from pending to success and serves its PNG outputs', async () => {
    const { run, task, clock, sim } = await setup();
    const submitted = await run({ prompt: 'a red fox', model_id: 'kontext-1', n_iter: 2 });
    expect(submitted.status).toBe(200);
    expect(submitted.json).toMatchObject({ code: 0, data: { task_id: expect.any(String) } });
    const id = submitted.json.data.task_id as string;

    const early = await task(id);
    expect(early.json.data).toMatchObject({ task_id: id, status: 'pending', output: null });
    clock.advance(5_000);
    expect((await task(id)).json.data.status).toBe('running');
    clock.advance(5_000);
    const done = await task(id);
    expect(done.json.data.status).toBe('success');
    const images = done.json.data.output.images as { url: string; seed: number }[];
    expect(images).toHaveLength(2);
    for (const image of images) {
      const res = await fetch(image.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(bytes.equals(sim.imageBytes(image.url)!)).toBe(true);
    }
    expect(sim.stats()).toMatchObject({ accepted: 1, statusQueries: 3, inFlight: 0 });
    expect(sim.tasks()[0]).toMatchObject({ operation: 'text2img', prompt: 'a red fox', state: 'succeeded' });
  });

  it('treats a body with image as img2img', async () => {
    const { run, sim } = await setup();
    await run({ prompt: 'p', model_id: 'm', image: 'https://example.com/a.png', strength: 0.5 });
    expect(sim.tasks()[0]?.operation).toBe('img2img');
  });

  it.each([
    [
      'failed',
      { failureRate: 1 },
      (data: Record<string, unknown>) => expect(data.error_message).toMatch(/simulated failure/),
    ],
    [
      'failed',
      { timeoutRate: 1 },
      (data: Record<string, unknown>) => expect(data.error_message).toMatch(/timeout/),
    ],
    // 002 pitfall carried over: success with every image blocked by review.
    [
      'success',
      { reviewBlockRate: 1 },
      (data: Record<string, unknown>) => expect(data.output).toEqual({ images: [] }),
    ],
  ] as const)('ends %s with %j', async (status, options, check) => {
    const { run, task, clock } = await setup(options);
    const id = (await run()).json.data.task_id;
    clock.advance(10_000);
    const data = (await task(id)).json.data;
    expect(data.status).toBe(status);
    check(data);
  });

  it.each([
    ['no model_id', { prompt: 'p' }, 400],
    ['no prompt', { model_id: 'm' }, 400],
    ['n_iter 0', { prompt: 'p', model_id: 'm', n_iter: 0 }, 400],
    ['strength 2', { prompt: 'p', model_id: 'm', image: 'x', strength: 2 }, 400],
    ['forbidden word', { prompt: 'a forbidden thing', model_id: 'm' }, 100052],
  ])('answers 400 for %s', async (_name, body, code) => {
    const { run, sim } = await setup();
    const res = await run(body);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe(code);
    expect(sim.stats().accepted).toBe(0);
  });

  it('takes what 000 / 001 do not bound: n_iter 5, a 2001-character prompt, steps 61', async () => {
    const { run, task, clock } = await setup();
    const id = (await run({ prompt: 'p'.repeat(2001), model_id: 'm', n_iter: 5, steps: 61 })).json.data
      .task_id;
    clock.advance(10_000);
    expect((await task(id)).json.data.output.images).toHaveLength(5);
  });

  it('enforces QPS with HTTP 429 and in flight with 100054, counting each breach', async () => {
    const { run, clock, sim } = await setup({ submitQps: 1, maxInFlight: 1 });
    expect((await run()).json.code).toBe(0);
    const qps = await run();
    expect(qps.status).toBe(429);
    expect(qps.headers.get('retry-after')).toBe('1');
    clock.advance(1_000);
    const inFlight = await run();
    expect(inFlight.status).toBe(200);
    expect(inFlight.json.code).toBe(100054);
    expect(sim.stats()).toMatchObject({ qpsBreaches: 1, inFlightBreaches: 1, accepted: 1 });
    clock.advance(10_000);
    expect((await run()).json.code).toBe(0);
  });

  it('answers the limits in the configured form', async () => {
    const { run, sim } = await setup({ maxInFlight: 0, limitErrorForm: 'http' });
    const res = await run();
    expect(res.status).toBe(429);
    expect(res.json.code).toBe(100054);
    expect(sim.stats().inFlightBreaches).toBe(1);
  });

  it('injects faults on submission and status', async () => {
    const { run, task, clock, sim } = await setup();
    sim.inject({ kind: '5xx', endpoint: 'submit' });
    expect((await run()).status).toBeGreaterThanOrEqual(500);
    sim.inject({ kind: 'rate-limit' });
    expect((await run()).status).toBe(429);
    const id = (await run()).json.data.task_id;
    clock.advance(10_000);
    sim.inject({ kind: 'status-backwards' });
    expect((await task(id)).json.data.status).toBe('running');
    expect((await task(id)).json.data.status).toBe('success');
    sim.inject({ kind: 'malformed-json', endpoint: 'status' });
    const malformed = await task(id);
    expect(typeof malformed.json).toBe('string');
    expect(sim.stats().faultsInjected).toMatchObject({
      '5xx': 1,
      'rate-limit': 1,
      'status-backwards': 1,
      'malformed-json': 1,
    });
    // Injected limit answers are not breaches by the client.
    expect(sim.stats().qpsBreaches).toBe(0);
  });
});
