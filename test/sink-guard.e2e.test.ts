/**
 * The worker's sink downloads provider result URLs through the SSRF guard: with
 * `WEBHOOK_ALLOW_PRIVATE=false` and no `SINK_ALLOWED_HOSTS`, a provider serving results from a
 * private address (here the simulator on 127.0.0.1) gets nothing fetched, and the job fails at
 * once (no retries) with a reason that says why and what to set. Every other test stack lists the
 * simulator's host in `SINK_ALLOWED_HOSTS`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ env: { WEBHOOK_ALLOW_PRIVATE: 'false', SINK_ALLOWED_HOSTS: '' } });
});

afterAll(async () => {
  await stack?.close();
});

describe('sink SSRF guard in the worker', () => {
  it('fails a job whose result URL is on a private host, with the reason, without retrying', async () => {
    const id = await stack.postJob('kontext.text2img', { prompt: 'a lighthouse at dusk' });
    const job = await stack.ended(id, 30_000);
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('storage_failed');
    expect(job.error?.message).toMatch(
      /refused: result host 127\.0\.0\.1 is a loopback .* SINK_ALLOWED_HOSTS/,
    );
    expect(job.outputs).toEqual([]);
    expect(stack.sim.stats().accepted).toBe(1);
  });
});
