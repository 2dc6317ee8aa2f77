import { descriptorOf } from '@genqueue/providers';
import { providerError, runToEnd } from '@genqueue/providers/testing';
import type { SimulatorOptions } from '@genqueue/simulator';
import { describe, expect, it } from 'vitest';
import { adapterOn, simulatorFixture } from './fixture.ts';
import { describeProviderConformance } from './suite.ts';

const liblibV1 = descriptorOf('liblib-v1');

const ctx = { jobId: 'job-c' };
const T2I = { prompt: 'a red fox', model_id: 'kontext-1' };

describeProviderConformance(liblibV1, 'liblib-v1', {
  simulator: { seed: 21 },
  examples: {
    text2img: { valid: { ...T2I, n_iter: 2 }, invalid: { prompt: 'p' }, outputs: 2 },
    img2img: {
      valid: { ...T2I, image: 'https://example.com/in.png', strength: 0.6 },
      invalid: { ...T2I, image: 'https://example.com/in.png', strength: 2 },
    },
  },
  retryLater: [
    { cause: { kind: 'rate-limit' }, expect: { status: 429, limit: 'qps', retryAfterMs: 1_000 } },
    { cause: { kind: 'concurrency-limit' }, expect: { status: 200, code: '100054', limit: 'in_flight' } },
    { cause: 'outrun-qps', expect: { status: 429, limit: 'qps', retryAfterMs: 1_000 } },
    { cause: 'outrun-in-flight', expect: { status: 200, code: '100054', limit: 'in_flight' } },
  ],
});

const fixture = simulatorFixture({ mode: 'liblib-v1', seed: 21, latencyMs: { min: 30, max: 80 } });

async function setup(options: SimulatorOptions = {}) {
  const sim = await fixture.start(options);
  const provider = fixture.own(adapterOn(liblibV1, sim));
  return { sim, provider };
}

describe('liblib-v1 adapter ↔ simulator: specific', () => {
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

  it.each([
    ['a missing model_id (schema bypassed)', { prompt: 'p' }],
    ['a moderated prompt', { ...T2I, prompt: 'forbidden fruit' }],
  ] as const)('classifies %s as invalid_job', async (_name, input) => {
    const { provider } = await setup();
    expect((await providerError(provider.submit('text2img', input, ctx))).errorClass).toBe('invalid_job');
  });
});
