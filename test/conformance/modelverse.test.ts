import { descriptorOf } from '@genqueue/providers';
import { outputBytes, providerError, runToEnd, until } from '@genqueue/providers/testing';
import type { SimulatorOptions } from '@genqueue/simulator';
import { describe, expect, it } from 'vitest';
import { adapterOn, simulatorFixture } from './fixture.ts';
import { describeProviderConformance, ONE_429_FOR_BOTH_LIMITS } from './suite.ts';

const modelverse = descriptorOf('modelverse');

const DEV = 'black-forest-labs/flux.1-dev';
const PRO = 'black-forest-labs/flux-kontext-pro';
const ctx = { jobId: 'job-c' };
const IMAGE = 'https://example.com/in.png';
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

describeProviderConformance(modelverse, 'modelverse', {
  simulator: { seed: 41 },
  examples: {
    [DEV]: { valid: { prompt: 'a red fox', n: 2, size: '512x512' }, outputs: 2 },
    [PRO]: { valid: { prompt: 'edit', image: IMAGE } },
    [`${PRO}/multi`]: { valid: { prompt: 'merge', images: [IMAGE, IMAGE] } },
    [`${PRO}/text-to-image`]: { valid: { prompt: 'a poster', aspect_ratio: '16:9' } },
    'black-forest-labs/flux-kontext-max': { valid: { prompt: 'edit', image: IMAGE } },
    'black-forest-labs/flux-kontext-max/multi': { valid: { prompt: 'merge', images: [IMAGE] } },
    'black-forest-labs/flux-kontext-max/text-to-image': { valid: { prompt: 'a poster' } },
    'stepfun-ai/step1x-edit': { valid: { prompt: 'edit', image: IMAGE, negative_prompt: 'blur' } },
  },
  // 004 names one 429 for both limits.
  retryLater: ONE_429_FOR_BOTH_LIMITS,
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

const fixture = simulatorFixture({ mode: 'modelverse', seed: 41 });

async function setup(options: SimulatorOptions = {}) {
  const sim = await fixture.start(options);
  const provider = fixture.own(adapterOn(modelverse, sim, { timeoutMs: 5_000 }));
  return { sim, provider };
}

describe('modelverse adapter ↔ simulator: specific', () => {
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

  it.each([
    ['a moderated prompt', {}, DEV, { prompt: 'forbidden' }, 'invalid_job'],
    ['an invalid parameter (schema bypassed)', {}, PRO, { prompt: 'p' }, 'invalid_job'],
    ['a review-blocked result', { reviewBlockRate: 1 }, DEV, { prompt: 'p' }, 'invalid_job'],
    ['a failed generation', { failureRate: 1 }, DEV, { prompt: 'p' }, 'transient'],
    ['a generation timeout', { timeoutRate: 1 }, DEV, { prompt: 'p' }, 'transient'],
  ] as const)('classifies %s', async (_name, options, model, input, errorClass) => {
    const { provider } = await setup(options);
    expect((await providerError(provider.submit(model, input, ctx))).errorClass).toBe(errorClass);
  });
});
