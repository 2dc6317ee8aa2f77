/**
 * Conformance: the modelverse adapter against the simulator's modelverse mode over real HTTP.
 */
import type { Provider } from '@genqueue/core';
import { type Simulator, type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { outputBytes, providerError, runToEnd, until } from './internal/conformance.ts';
import { createModelverseProvider } from './modelverse.ts';

const DEV = 'black-forest-labs/flux.1-dev';
const PRO = 'black-forest-labs/flux-kontext-pro';
const ctx = { jobId: 'job-c' };
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let sim: Simulator | undefined;
let provider: Provider | undefined;
afterEach(async () => {
  await provider?.close?.();
  await sim?.close();
  sim = undefined;
  provider = undefined;
});

function manualClock(start = Date.UTC(2025, 0, 1)) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

async function setup(options: SimulatorOptions = {}, apiKey = 'sim-token') {
  sim = await startSimulator({
    mode: 'modelverse',
    seed: 41,
    latencyMs: { min: 20, max: 60 },
    submitQps: 100,
    maxInFlight: 10,
    ...options,
  });
  provider = createModelverseProvider({ baseUrl: sim.url, apiKey, timeouts: { requestMs: 5_000 } });
  return { sim, provider };
}

describe('modelverse adapter ↔ simulator', () => {
  it('answers the ended task at submission; URL outputs download to the served bytes', async () => {
    const { sim, provider } = await setup();
    const input = provider.operations[DEV]!.schema.parse({ prompt: 'a red fox', n: 2, size: '512x512' });
    const { status, polls } = await runToEnd(provider, DEV, input);
    expect(polls).toBe(0);
    expect(status.state).toBe('succeeded');
    if (status.state !== 'succeeded') return;
    expect(status.outputs).toHaveLength(2);
    for (const output of status.outputs) {
      expect(output.url).toMatch(/^http:/);
      expect((await outputBytes(output.url)).equals(sim.imageBytes(output.url)!)).toBe(true);
    }
    expect(sim.stats()).toMatchObject({ accepted: 1, qpsBreaches: 0, inFlightBreaches: 0, authFailures: 0 });
  });

  it('turns b64_json answers into data URLs holding the same bytes', async () => {
    const { sim, provider } = await setup();
    const { status } = await runToEnd(provider, DEV, { prompt: 'p', response_format: 'b64_json' });
    expect(status.state).toBe('succeeded');
    if (status.state !== 'succeeded') return;
    const [output] = status.outputs;
    expect(output!.url).toMatch(/^data:image\/png;base64,/);
    const served = sim.tasks()[0]!.images[0]!.url;
    expect((await outputBytes(output!.url)).equals(sim.imageBytes(served)!)).toBe(true);
  });

  it('sends raw base64 input images as data URLs (the simulator refuses anything else)', async () => {
    const { provider } = await setup();
    const { status } = await runToEnd(provider, PRO, { prompt: 'edit', image: PNG_B64 });
    expect(status.state).toBe('succeeded');
  });

  it('holds the slot for the whole synchronous request: a second one meets the in-flight limit', async () => {
    const clock = manualClock();
    const { sim, provider } = await setup({
      maxInFlight: 1,
      latencyMs: { min: 5_000, max: 5_000 },
      now: clock.now,
    });
    const first = provider.submit(DEV, { prompt: 'first' }, ctx);
    await until(() => sim.stats().inFlight === 1);
    const error = await providerError(provider.submit(DEV, { prompt: 'second' }, ctx));
    expect(error).toMatchObject({ errorClass: 'retry_later', status: 429, retryAfterMs: 1_000 });
    clock.advance(5_000);
    await expect(first).resolves.toMatchObject({ status: { state: 'succeeded' } });
    expect(sim.stats()).toMatchObject({ inFlightBreaches: 1, accepted: 1, inFlight: 0 });
  });

  it('surfaces the QPS limit as retry_later, counted once', async () => {
    const { sim, provider } = await setup({ submitQps: 1 });
    await provider.submit(DEV, { prompt: 'a' }, ctx);
    const error = await providerError(provider.submit(DEV, { prompt: 'b' }, ctx));
    expect(error.errorClass).toBe('retry_later');
    expect(sim.stats().qpsBreaches).toBe(1);
  });

  it.each([
    ['a wrong key', {}, 'wrong-key', DEV, { prompt: 'p' }, undefined, 'account'],
    ['a moderated prompt', {}, 'sim-token', DEV, { prompt: 'forbidden' }, undefined, 'invalid_job'],
    [
      'an invalid parameter (schema bypassed)',
      {},
      'sim-token',
      PRO,
      { prompt: 'p' },
      undefined,
      'invalid_job',
    ],
    [
      'a review-blocked result',
      { reviewBlockRate: 1 },
      'sim-token',
      DEV,
      { prompt: 'p' },
      undefined,
      'invalid_job',
    ],
    ['a failed generation', { failureRate: 1 }, 'sim-token', DEV, { prompt: 'p' }, undefined, 'transient'],
    ['a generation timeout', { timeoutRate: 1 }, 'sim-token', DEV, { prompt: 'p' }, undefined, 'transient'],
    ['an injected 5xx', {}, 'sim-token', DEV, { prompt: 'p' }, '5xx', 'transient'],
    ['injected malformed JSON', {}, 'sim-token', DEV, { prompt: 'p' }, 'malformed-json', 'transient'],
    ['an injected reset', {}, 'sim-token', DEV, { prompt: 'p' }, 'reset', 'transient'],
  ] as const)('classifies %s', async (_name, options, key, model, input, fault, errorClass) => {
    const { sim, provider } = await setup(options, key);
    if (fault) sim.inject({ kind: fault, endpoint: 'submit' });
    const error = await providerError(provider.submit(model, input, ctx));
    expect(error.errorClass).toBe(errorClass);
    expect(error.message).not.toContain(key);
  });
});
