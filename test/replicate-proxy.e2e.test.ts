/**
 * Spec 003's Replicate proxy, end to end through the API and a worker against the simulator:
 * - a synchronous proxy (the OpenAI-style answer of 003's response example) that answers only when
 *   the generation ends, 45 s later: one job, one prediction, no resubmission;
 * - a submission whose synchronous answer outlasts the configured deadline fails the job with a
 *   reason instead of creating a second paid prediction;
 * - a proxy that keeps predictions under a path of its own, named only by `urls.get` / `urls.cancel`.
 */
import { renderPng, type SimulatorOptions } from '@genqueue/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

const MODEL = 'black-forest-labs/flux-kontext-dev';
const inputImage = `data:image/png;base64,${renderPng('proxy-input', 16, 16).toString('base64')}`;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function start(sim: SimulatorOptions, env: Record<string, string> = {}) {
  return startStack({
    sim: { mode: 'replicate', submitQps: 5, maxInFlight: 5, ...sim },
    env: (started) => ({
      REPLICATE_BASE_URL: `${started.url}/replicate`,
      REPLICATE_API_TOKEN: started.options.token,
      REPLICATE_SUBMIT_QPS: '5',
      REPLICATE_MAX_IN_FLIGHT: '5',
      ...env,
    }),
  });
}

async function submit(s: Stack, prompt: string): Promise<string> {
  const posted = await s.call<{ id: string }>('POST', '/v1/jobs', {
    provider: 'replicate',
    operation: MODEL,
    input: { prompt, input_image: inputImage, output_format: 'png' },
  });
  expect(posted.status).toBe(202);
  return posted.body.id;
}

describe('replicate behind spec 003 proxy', () => {
  it('waits 45 s for a synchronous answer and creates exactly one prediction', async () => {
    // The one test that spends real time: the adapter's deadline is wall-clock, and 45 s is what
    // a slow generation behind the proxy takes. Before, a fixed 30 s deadline resubmitted it.
    stack = await start({ replicateAnswerStyle: 'openai', latencyMs: { min: 45_000, max: 45_000 } });
    const id = await submit(stack, 'sync 45 s');
    const job = await stack.ended(id, 80_000);
    expect(job.error).toBeUndefined();
    expect(job.state).toBe('succeeded');
    expect(job.outputs).toHaveLength(1);
    const stats = stack.sim.stats();
    expect(stats.accepted).toBe(1);
    expect(stats.submissionsByPrompt['sync 45 s']).toBe(1);
    expect(stats.duplicatePrompts).toBe(0);
  }, 100_000);

  it('fails a synchronous submission that outlasts REPLICATE_SUBMIT_TIMEOUT_MS instead of resubmitting it', async () => {
    stack = await start(
      { replicateAnswerStyle: 'openai', latencyMs: { min: 4_000, max: 4_000 } },
      { REPLICATE_SUBMIT_TIMEOUT_MS: '1000', SUBMIT_ATTEMPTS: '5' },
    );
    const id = await submit(stack, 'sync too slow');
    const job = await stack.ended(id, 20_000);
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('submission_unconfirmed');
    expect(job.error?.message).toMatch(/not submitted again/);
    // Give a (wrong) retry time to happen: the backoff in tests is 200 ms.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(stack.sim.stats().submissionsByPrompt['sync too slow']).toBe(1);
  }, 40_000);

  it("polls and cancels a proxy's predictions at their own urls.get and urls.cancel", async () => {
    stack = await start({ replicatePredictionPaths: 'proxy', latencyMs: { min: 300, max: 500 } });
    const done = await stack.ended(await submit(stack, 'proxy paths'), 20_000);
    expect(done.error).toBeUndefined();
    expect(done.state).toBe('succeeded');
    expect(done.outputs).toHaveLength(1);

    stack.sim.configure({ latencyMs: { min: 20_000, max: 20_000 } });
    const id = await submit(stack, 'proxy cancel');
    await stack.waitFor(async () => (await stack!.job(id)).state === 'running', 10_000, 'running');
    expect((await stack.call('POST', `/v1/jobs/${id}/cancel`)).status).toBe(202);
    expect((await stack.ended(id, 15_000)).state).toBe('canceled');
    expect(stack.sim.tasks().find((t) => t.prompt === 'proxy cancel')?.state).toBe('canceled');
  }, 60_000);
});
