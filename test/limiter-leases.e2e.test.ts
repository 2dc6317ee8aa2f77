/**
 * The slot lease of a provider task, end to end against the simulator: the poller keeps it for as
 * long as the task lives, however short `LEASE_TTL_MS`; a poll job that fails for good gives it back
 * only when the provider says the task ended; a provider's `Retry-After` is capped.
 */
import { PassThrough } from 'node:stream';
import { createLogger, limiterKeyPrefix } from '@genqueue/core';
import { AccountPool } from '@genqueue/limiter';
import { recordFinalFailure, startWorker } from '@genqueue/worker';
import { type Job, UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function post(s: Stack, prompt: string): Promise<string> {
  const { status, body } = await s.call<{ id: string }>('POST', '/v1/jobs', {
    operation: 'kontext.text2img',
    input: { prompt },
  });
  expect(status).toBe(202);
  return body.id;
}

function poolOf(s: Stack): AccountPool {
  return new AccountPool({
    redis: s.redis,
    keyPrefix: limiterKeyPrefix(s.prefix, 'liblib'),
    accounts: [{ id: 'default', submitQps: 5, maxInFlight: 1 }],
  });
}

describe('the poller keeps a live task’s slot', () => {
  it('never lets a task outlive its lease: 1 in flight, tasks 3x longer than LEASE_TTL_MS', async () => {
    stack = await startStack({
      sim: { submitQps: 5, maxInFlight: 1, latencyMs: { min: 2_500, max: 3_000 } },
      env: { LIBLIB_SUBMIT_QPS: '5', LIBLIB_MAX_IN_FLIGHT: '1', LEASE_TTL_MS: '1000' },
    });
    const s = stack;
    const ids = [await post(s, 'lease a'), await post(s, 'lease b'), await post(s, 'lease c')];
    for (const id of ids) expect((await s.ended(id, 45_000)).state).toBe('succeeded');
    // With an unrefreshed lease the gate hands the slot of a running task to the next submission
    // after 1 s, and the provider refuses it (100054).
    expect(s.sim.stats()).toMatchObject({ inFlightBreaches: 0, maxInFlightObserved: 1, accepted: 3 });
  });
});

describe('a poll job that fails for good', () => {
  function failedPollJob(jobId: string) {
    return { data: { jobId }, attemptsMade: 50, opts: { attempts: 50 } } as unknown as Job;
  }

  it('keeps the slot of a task the provider still runs, until the task’s timeout', async () => {
    stack = await startStack({
      sim: { submitQps: 5, maxInFlight: 1, latencyMs: { min: 20_000, max: 20_000 } },
      env: { LIBLIB_SUBMIT_QPS: '5', LIBLIB_MAX_IN_FLIGHT: '1', LEASE_TTL_MS: '2000' },
    });
    const s = stack;
    const ctx = s.workers[0]!.context;
    const id = await post(s, 'still running');
    await s.waitFor(async () => (await s.job(id)).state === 'running', 15_000, 'the job to run');
    await ctx.queues.poll.pause(); // nothing else polls it from here

    await recordFinalFailure(ctx, 'poll', failedPollJob(id), new UnrecoverableError('redis trouble'));
    const job = await s.job(id);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'internal_error' });
    // The provider still runs the task: its slot stays taken (past the 2 s lease TTL), so a new
    // submission waits instead of being refused by the provider.
    const pool = poolOf(s);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await pool.inFlight()).toBe(1);
    const next = await pool.tryAcquire('next');
    expect(next).toMatchObject({ granted: false, reason: 'in_flight' });
    const lease = await s.redis.zrange(
      `${limiterKeyPrefix(s.prefix, 'liblib')}:default:leases`,
      0,
      -1,
      'WITHSCORES',
    );
    const [seconds] = await s.redis.time();
    // held until about 35 min after the submission (LiblibAI's 30-minute task timeout plus margin)
    expect(Number(lease[1]) - Number(seconds) * 1000).toBeGreaterThan(30 * 60_000);
  });

  it('ends the job by the provider’s answer when the task has ended, and frees the slot', async () => {
    stack = await startStack({
      sim: { submitQps: 5, maxInFlight: 1, latencyMs: { min: 1_500, max: 1_500 } },
      env: { LIBLIB_SUBMIT_QPS: '5', LIBLIB_MAX_IN_FLIGHT: '1' },
    });
    const s = stack;
    const ctx = s.workers[0]!.context;
    await ctx.queues.poll.pause();
    const id = await post(s, 'ended unseen');
    await s.waitFor(async () => (await s.job(id)).state === 'running', 15_000, 'the job to run');
    await s.waitFor(async () => s.sim.stats().inFlight === 0, 15_000, 'the task to end at the provider');

    await recordFinalFailure(ctx, 'poll', failedPollJob(id), new UnrecoverableError('redis trouble'));
    expect(await poolOf(s).inFlight()).toBe(0);
    expect((await s.ended(id)).state).toBe('succeeded');
    await ctx.queues.poll.resume();
  });
});

describe('a provider’s Retry-After', () => {
  it('is capped at RETRY_AFTER_MAX_MS, and the cap is logged', async () => {
    stack = await startStack({
      sim: { submitQps: 5, latencyMs: { min: 100, max: 200 } },
      env: { LIBLIB_SUBMIT_QPS: '5', RETRY_AFTER_MAX_MS: '500' },
      workers: 0,
    });
    const s = stack;
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    s.workers.push(await startWorker(s.config, { logger: createLogger({ level: 'warn', destination }) }));
    // A day: obeyed, it would hold the whole submit queue for a day.
    s.sim.inject({ kind: 'rate-limit', form: 'http', retryAfter: '86400' });
    const started = Date.now();
    const id = await post(s, 'hostile retry-after');
    expect((await s.ended(id, 15_000)).state).toBe('succeeded');
    expect(Date.now() - started).toBeLessThan(10_000);
    const capped = lines.map((l) => JSON.parse(l)).find((l) => /Retry-After/.test(l.msg));
    expect(capped).toMatchObject({ retryAfterMs: 86_400_000, cappedMs: 500 });
  });
});
