/**
 * Conformance: the liblib-v1 adapter against the simulator's liblib-v1 mode over real HTTP.
 */
import type { Provider } from '@genqueue/core';
import { type Simulator, type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { outputBytes, providerError, runToEnd } from './internal/conformance.ts';
import { createLiblibV1Provider } from './liblib-v1.ts';

const ctx = { jobId: 'job-c' };
const T2I = { prompt: 'a red fox', model_id: 'kontext-1' };

let sim: Simulator | undefined;
let provider: Provider | undefined;
afterEach(async () => {
  await provider?.close?.();
  await sim?.close();
  sim = undefined;
  provider = undefined;
});

async function setup(options: SimulatorOptions = {}, token = 'sim-token') {
  sim = await startSimulator({
    mode: 'liblib-v1',
    seed: 21,
    latencyMs: { min: 30, max: 80 },
    submitQps: 100,
    maxInFlight: 10,
    ...options,
  });
  provider = createLiblibV1Provider({ baseUrl: sim.url, apiKey: token, timeouts: { requestMs: 3_000 } });
  return { sim, provider };
}

describe('liblib-v1 adapter ↔ simulator', () => {
  it.each([
    ['text2img', { ...T2I, n_iter: 2 }, 2],
    ['img2img', { ...T2I, image: 'https://example.com/in.png', strength: 0.6 }, 1],
  ])(
    '%s: submit, poll to success, download outputs equal to the served bytes',
    async (operation, input, count) => {
      const { sim, provider } = await setup();
      const parsed = provider.operations[operation]!.schema.parse(input);
      const { status, polls } = await runToEnd(provider, operation, parsed);
      expect(status.state).toBe('succeeded');
      if (status.state !== 'succeeded') return;
      expect(polls).toBeGreaterThan(0);
      expect(status.outputs).toHaveLength(count);
      for (const output of status.outputs) {
        expect(output.kind).toBe('image');
        expect((await outputBytes(output.url)).equals(sim.imageBytes(output.url)!)).toBe(true);
      }
      expect(sim.stats()).toMatchObject({
        accepted: 1,
        qpsBreaches: 0,
        inFlightBreaches: 0,
        authFailures: 0,
      });
    },
  );

  it.each([
    [{ failureRate: 1 }, 'failed', /simulated failure/],
    [{ timeoutRate: 1 }, 'failed', /timeout/],
    [{ reviewBlockRate: 1 }, 'no_outputs', /without any image/],
  ] as const)('ends a task with %j failed (%s)', async (options, code, message) => {
    const { provider } = await setup(options);
    const { status } = await runToEnd(provider, 'text2img', T2I);
    expect(status.state).toBe('failed');
    if (status.state === 'failed') {
      expect(status.error.code).toBe(code);
      expect(status.error.message).toMatch(message);
    }
  });

  it('surfaces the QPS limit as retry_later with Retry-After, counted once by the simulator', async () => {
    const { sim, provider } = await setup({ submitQps: 1 });
    await provider.submit('text2img', T2I, ctx);
    const error = await providerError(provider.submit('text2img', T2I, ctx));
    expect(error).toMatchObject({ errorClass: 'retry_later', status: 429, retryAfterMs: 1_000 });
    expect(sim.stats().qpsBreaches).toBe(1);
  });

  it('surfaces the in-flight limit (100054 in the body) as retry_later, counted once', async () => {
    const { sim, provider } = await setup({ maxInFlight: 1, latencyMs: { min: 60_000, max: 60_000 } });
    await provider.submit('text2img', T2I, ctx);
    const error = await providerError(provider.submit('text2img', T2I, ctx));
    expect(error).toMatchObject({ errorClass: 'retry_later', code: '100054' });
    expect(sim.stats().inFlightBreaches).toBe(1);
  });

  it.each([
    ['a wrong key', {}, 'wrong-key', undefined, 'account'],
    ['a missing model_id', {}, 'sim-token', { prompt: 'p' }, 'invalid_job'],
    ['a moderated prompt', {}, 'sim-token', { ...T2I, prompt: 'forbidden fruit' }, 'invalid_job'],
    ['an injected 5xx', { fault: '5xx' }, 'sim-token', undefined, 'transient'],
    ['injected malformed JSON', { fault: 'malformed-json' }, 'sim-token', undefined, 'transient'],
    ['an injected reset', { fault: 'reset' }, 'sim-token', undefined, 'transient'],
    ['an injected 429', { fault: 'rate-limit' }, 'sim-token', undefined, 'retry_later'],
  ] as const)('classifies %s', async (_name, extra, token, input, errorClass) => {
    const { sim, provider } = await setup({}, token);
    if ('fault' in extra) sim.inject({ kind: extra.fault, endpoint: 'submit' });
    const error = await providerError(provider.submit('text2img', input ?? T2I, ctx));
    expect(error.errorClass).toBe(errorClass);
    expect(error.message).not.toContain(token);
  });

  it('classifies status-side faults as transient and recovers on the next poll', async () => {
    const { sim, provider } = await setup();
    const { taskId } = await provider.submit('text2img', T2I, ctx);
    sim.inject({ kind: '5xx', endpoint: 'status' });
    expect((await providerError(provider.status('text2img', taskId, ctx))).errorClass).toBe('transient');
    await expect(provider.status('text2img', taskId, ctx)).resolves.toMatchObject({
      providerStatus: expect.any(String),
    });
  });
});
