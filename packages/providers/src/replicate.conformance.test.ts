/**
 * Conformance: the replicate adapter against the simulator's replicate mode over real HTTP.
 */
import type { Provider } from '@genqueue/core';
import { type Simulator, type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { outputBytes, providerError, runToEnd } from './internal/conformance.ts';
import { createReplicateProvider, type ReplicateProviderOptions } from './replicate.ts';

const MODEL = 'black-forest-labs/flux-kontext-dev';
const ctx = { jobId: 'job-c' };
const INPUT = { prompt: 'make it red', input_image: 'https://example.com/car.jpg' };
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

async function setup(
  options: SimulatorOptions = {},
  adapter: Partial<ReplicateProviderOptions> & { prefix?: string } = {},
) {
  sim = await startSimulator({
    mode: 'replicate',
    seed: 31,
    latencyMs: { min: 30, max: 80 },
    submitQps: 100,
    maxInFlight: 10,
    ...options,
  });
  const { prefix = '', ...rest } = adapter;
  provider = createReplicateProvider({
    baseUrl: `${sim.url}${prefix}`,
    apiToken: 'sim-token',
    timeouts: { requestMs: 3_000 },
    ...rest,
  });
  return { sim, provider };
}

describe('replicate adapter ↔ simulator', () => {
  it.each([
    ['at the API root', ''],
    ["behind spec 003's /replicate proxy prefix", '/replicate'],
  ])('submits, polls to success and downloads the served bytes %s', async (_name, prefix) => {
    const { sim, provider } = await setup({}, { prefix });
    const input = provider.operations[MODEL]!.schema.parse({
      ...INPUT,
      input_image: PNG_B64,
      output_format: 'png',
    });
    const { status, polls } = await runToEnd(provider, MODEL, input);
    expect(polls).toBeGreaterThan(0);
    expect(status.state).toBe('succeeded');
    if (status.state !== 'succeeded') return;
    expect(status.outputs).toHaveLength(1);
    expect((await outputBytes(status.outputs[0]!.url)).equals(sim.imageBytes(status.outputs[0]!.url)!)).toBe(
      true,
    );
    expect(sim.stats()).toMatchObject({ accepted: 1, qpsBreaches: 0, inFlightBreaches: 0, authFailures: 0 });
    // The simulator answers 422 to raw base64: success proves the adapter sent a data URL.
  });

  it('answers at submission with Prefer: wait when the prediction ends within it', async () => {
    const { sim, provider } = await setup({}, { preferWait: 5 });
    const result = await provider.submit(MODEL, INPUT, ctx);
    expect(result.status?.state).toBe('succeeded');
    expect(sim.stats().statusQueries).toBe(0);
  });

  it("takes spec 003's OpenAI-style answer as an immediate success", async () => {
    const { sim, provider } = await setup({
      latencyMs: { min: 20, max: 20 },
      replicateAnswerStyle: 'openai',
    });
    const { status, polls } = await runToEnd(provider, MODEL, INPUT);
    expect(polls).toBe(0);
    expect(status.state).toBe('succeeded');
    if (status.state === 'succeeded') {
      expect(
        (await outputBytes(status.outputs[0]!.url)).equals(sim.imageBytes(status.outputs[0]!.url)!),
      ).toBe(true);
    }
  });

  it('cancels a running prediction, which frees its in-flight slot', async () => {
    const { sim, provider } = await setup({ maxInFlight: 1, latencyMs: { min: 60_000, max: 60_000 } });
    const { taskId } = await provider.submit(MODEL, INPUT, ctx);
    expect(sim.stats().inFlight).toBe(1);
    await provider.cancel!(MODEL, taskId, ctx);
    await expect(provider.status(MODEL, taskId, ctx)).resolves.toEqual({
      state: 'canceled',
      providerStatus: 'canceled',
    });
    expect(sim.stats().inFlight).toBe(0);
    await expect(provider.submit(MODEL, INPUT, ctx)).resolves.toMatchObject({ taskId: expect.any(String) });
  });

  it.each([
    [{ failureRate: 1 }, 'failed', /simulated failure/],
    [{ reviewBlockRate: 1 }, 'failed', /NSFW/],
    [{ timeoutRate: 1 }, 'aborted', /deadline/],
  ] as const)('ends a prediction with %j failed (%s)', async (options, code, message) => {
    const { provider } = await setup(options);
    const { status } = await runToEnd(provider, MODEL, INPUT);
    expect(status.state).toBe('failed');
    if (status.state === 'failed') {
      expect(status.error.code).toBe(code);
      expect(status.error.message).toMatch(message);
    }
  });

  it('surfaces both limits as retry_later with Retry-After, each counted by the simulator', async () => {
    const { sim, provider } = await setup({
      submitQps: 1,
      maxInFlight: 1,
      latencyMs: { min: 60_000, max: 60_000 },
    });
    await provider.submit(MODEL, INPUT, ctx);
    const qps = await providerError(provider.submit(MODEL, INPUT, ctx));
    expect(qps).toMatchObject({ errorClass: 'retry_later', status: 429, retryAfterMs: 1_000 });
    expect(sim.stats().qpsBreaches).toBe(1);
    sim.configure({ submitQps: 100 });
    const inFlight = await providerError(provider.submit(MODEL, INPUT, ctx));
    expect(inFlight).toMatchObject({ errorClass: 'retry_later', status: 429 });
    expect(sim.stats().inFlightBreaches).toBe(1);
  });

  it.each([
    ['a wrong token', 'wrong-token', undefined, undefined, 'account'],
    ['an invalid input (schema bypassed)', 'sim-token', { ...INPUT, guidance: 50 }, undefined, 'invalid_job'],
    ['an injected 5xx', 'sim-token', undefined, '5xx', 'transient'],
    // A cut answer or a reset may hide a created (paid) prediction: the job fails, never resubmitted.
    ['injected malformed JSON', 'sim-token', undefined, 'malformed-json', 'invalid_job'],
    ['an injected reset', 'sim-token', undefined, 'reset', 'invalid_job'],
  ] as const)('classifies %s', async (_name, token, input, fault, errorClass) => {
    const { sim, provider } = await setup({}, { apiToken: token });
    if (fault) sim.inject({ kind: fault, endpoint: 'submit' });
    const error = await providerError(provider.submit(MODEL, input ?? INPUT, ctx));
    expect(error.errorClass).toBe(errorClass);
    expect(error.message).not.toContain(token);
  });

  it('classifies an unknown prediction as invalid_job', async () => {
    const { provider } = await setup();
    expect((await providerError(provider.status(MODEL, 'nope', ctx))).errorClass).toBe('invalid_job');
  });
});
