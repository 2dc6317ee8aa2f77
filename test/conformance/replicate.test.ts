import { createReplicateProvider, descriptorOf, type ReplicateProviderOptions } from '@genqueue/providers';
import { outputBytes, providerError, runToEnd } from '@genqueue/providers/testing';
import type { SimulatorOptions } from '@genqueue/simulator';
import { describe, expect, it } from 'vitest';
import { adapterOn, simulatorFixture } from './fixture.ts';
import { describeProviderConformance, ONE_429_FOR_BOTH_LIMITS } from './suite.ts';

const replicate = descriptorOf('replicate');

const MODEL = 'black-forest-labs/flux-kontext-dev';
const ctx = { jobId: 'job-c' };
const INPUT = { prompt: 'make it red', input_image: 'https://example.com/car.jpg' };
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

describeProviderConformance(replicate, 'replicate', {
  simulator: { seed: 31 },
  examples: {
    [MODEL]: {
      valid: { ...INPUT, input_image: PNG_B64, output_format: 'png' },
      invalid: { ...INPUT, guidance: 50 },
    },
  },
  canceledProviderStatus: 'canceled',
  // A cut answer or a reset may hide a created (paid) prediction: the job fails, never resubmitted.
  submitFaultClass: { 'malformed-json': 'invalid_job', reset: 'invalid_job' },
  // Replicate throttles both limits with one 429.
  retryLater: ONE_429_FOR_BOTH_LIMITS,
});

const fixture = simulatorFixture({ mode: 'replicate', seed: 31, latencyMs: { min: 30, max: 80 } });

async function setup(
  options: SimulatorOptions = {},
  adapter: Partial<ReplicateProviderOptions> & { prefix?: string } = {},
) {
  const sim = await fixture.start(options);
  const { prefix = '', ...rest } = adapter;
  const provider = fixture.own(
    createReplicateProvider({
      baseUrl: `${sim.url}${prefix}`,
      apiToken: 'sim-token',
      timeouts: { requestMs: 3_000 },
      ...rest,
    }),
  );
  return { sim, provider };
}

describe('replicate adapter ↔ simulator: specific', () => {
  it("submits, polls to success and downloads the served bytes behind spec 003's /replicate proxy prefix", async () => {
    const { sim, provider } = await setup({}, { prefix: '/replicate' });
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

  it('sends Prefer: wait from REPLICATE_PREFER_WAIT, and none by default', async () => {
    const sim = await fixture.start();
    const waiting = fixture.own(adapterOn(replicate, sim, { settings: { preferWait: '5' } }));
    expect((await waiting.submit(MODEL, INPUT, ctx)).status?.state).toBe('succeeded');
    const polled = fixture.own(adapterOn(replicate, sim));
    expect((await polled.submit(MODEL, INPUT, ctx)).status).toBeUndefined();
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

  it('classifies an invalid input the schema would refuse (schema bypassed) as invalid_job', async () => {
    const { provider } = await setup();
    const error = await providerError(provider.submit(MODEL, { ...INPUT, guidance: 50 }, ctx));
    expect(error.errorClass).toBe('invalid_job');
  });

  it('classifies an unknown prediction as invalid_job', async () => {
    const { provider } = await setup();
    expect((await providerError(provider.status(MODEL, 'nope', ctx))).errorClass).toBe('invalid_job');
  });
});
