/**
 * Every provider in the specs, end to end through the API against its simulator mode: images land
 * in S3 byte-identical, the limits hold with two worker processes, and Replicate jobs cancel at
 * the provider.
 */
import { renderPng, type SimulatorMode } from '@genqueue/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { readObject, type Stack, startStack } from './support/stack.ts';

const inputImage = `data:image/png;base64,${renderPng('e2e-input', 16, 16).toString('base64')}`;

interface Case {
  provider: Exclude<SimulatorMode, 'liblib'>;
  operation: string;
  input: (prompt: string) => Record<string, unknown>;
  env: (url: string, token: string) => Record<string, string>;
}

const CASES: Case[] = [
  {
    provider: 'liblib-v1',
    operation: 'text2img',
    input: (prompt) => ({ prompt, model_id: 'kontext-custom-1', width: 512, height: 512 }),
    env: (url, token) => ({ LIBLIB_V1_BASE_URL: url, LIBLIB_V1_API_KEY: token }),
  },
  {
    provider: 'replicate',
    operation: 'black-forest-labs/flux-kontext-dev',
    input: (prompt) => ({ prompt, input_image: inputImage, output_format: 'png', num_inference_steps: 28 }),
    env: (url, token) => ({ REPLICATE_BASE_URL: url, REPLICATE_API_TOKEN: token }),
  },
  {
    provider: 'modelverse',
    operation: 'black-forest-labs/flux.1-dev',
    input: (prompt) => ({ prompt, response_format: 'b64_json', size: '512x512' }),
    env: (url, token) => ({ MODELVERSE_BASE_URL: url, MODELVERSE_API_KEY: token }),
  },
];

const PREFIX: Record<Case['provider'], string> = {
  'liblib-v1': 'LIBLIB_V1',
  replicate: 'REPLICATE',
  modelverse: 'MODELVERSE',
};

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A stack whose simulator speaks this provider (the LiblibAI settings it also writes go unused). */
function start(
  c: Case,
  sim: { submitQps: number; maxInFlight: number; latencyMs: { min: number; max: number } },
  workers: number,
) {
  return startStack({
    sim: { mode: c.provider, ...sim },
    workers,
    env: (started) => ({
      ...c.env(started.url, started.options.token),
      [`${PREFIX[c.provider]}_SUBMIT_QPS`]: String(sim.submitQps),
      [`${PREFIX[c.provider]}_MAX_IN_FLIGHT`]: String(sim.maxInFlight),
    }),
  });
}

describe.each(CASES)('$provider', (c) => {
  it('stores the results in S3, byte-identical to what the provider served', async () => {
    stack = await start(c, { submitQps: 5, maxInFlight: 5, latencyMs: { min: 100, max: 300 } }, 1);

    const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
      provider: c.provider,
      operation: c.operation,
      input: c.input(`${c.provider} e2e`),
    });
    expect(posted.status).toBe(202);
    const job = await stack.ended(posted.body.id, 45_000);
    expect(job.error).toBeUndefined();
    expect(job.state).toBe('succeeded');
    expect(job.provider).toBe(c.provider);
    expect(job.outputs.length).toBeGreaterThan(0);
    const task = stack.sim.tasks().find((t) => t.prompt === `${c.provider} e2e`);
    expect(task).toBeDefined();
    for (const [n, output] of job.outputs.entries()) {
      const original = stack.sim.imageBytes(task!.images[n]!.url)!;
      expect(original).toBeDefined();
      expect((await readObject(stack, output.key)).equals(original)).toBe(true);
      expect(output.contentType).toBe('image/png');
    }
  });

  it('keeps its limits with two worker processes', async () => {
    stack = await start(c, { submitQps: 2, maxInFlight: 2, latencyMs: { min: 400, max: 800 } }, 0);
    stack.spawnWorker();
    stack.spawnWorker();

    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
        provider: c.provider,
        operation: c.operation,
        input: c.input(`${c.provider} limits ${i}`),
      });
      expect(posted.status).toBe(202);
      ids.push(posted.body.id);
    }
    for (const id of ids) expect((await stack.ended(id, 45_000)).state).toBe('succeeded');
    const stats = stack.sim.stats();
    expect(stats.qpsBreaches).toBe(0);
    expect(stats.inFlightBreaches).toBe(0);
    expect(stats.maxInFlightObserved).toBeLessThanOrEqual(2);
    expect(stats.duplicatePrompts).toBe(0);
  });
});

describe('replicate cancel', () => {
  it('cancels a running prediction at the provider', async () => {
    const c = CASES.find((x) => x.provider === 'replicate')!;
    stack = await start(c, { submitQps: 5, maxInFlight: 5, latencyMs: { min: 20_000, max: 20_000 } }, 1);

    const posted = await stack.call<{ id: string }>('POST', '/v1/jobs', {
      provider: 'replicate',
      operation: c.operation,
      input: c.input('replicate cancel'),
    });
    await stack.waitFor(
      async () => (await stack!.job(posted.body.id)).state === 'running',
      20_000,
      'running',
    );
    const canceled = await stack.call<{ state: string }>('POST', `/v1/jobs/${posted.body.id}/cancel`);
    expect(canceled.status).toBe(202);
    const job = await stack.ended(posted.body.id, 15_000);
    expect(job.state).toBe('canceled');
    const task = stack.sim.tasks().find((t) => t.prompt === 'replicate cancel');
    expect(task?.state).toBe('canceled');
    expect(stack.sim.stats().inFlight).toBe(0);
  });
});
