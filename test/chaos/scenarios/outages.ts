/**
 * Infrastructure outages: Redis restarted mid-batch (a private `redis-server --appendonly yes`,
 * never the machine's shared one), and S3 down for a minute (30 s in quick mode).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from '../../support/private-redis.ts';
import { type ChaosStack, startChaos } from '../support/chaos-stack.ts';
import { QUICK, recordOutage } from '../support/tally.ts';

export function outageScenarios(): void {
  describe('Redis restarted mid-batch (appendonly yes)', () => {
    let redis: PrivateRedis;
    let stack: ChaosStack;
    beforeAll(async () => {
      redis = await startPrivateRedis();
      stack = await startChaos({
        name: 'redis restart',
        redisUrl: redis.url,
        sim: { submitQps: 5, maxInFlight: 5, latencyMs: { min: 1_000, max: 2_000 } },
      });
    });
    afterAll(async () => {
      await stack?.close();
      await redis?.destroy();
    });

    it('workers and API reconnect by themselves and every job still ends', async () => {
      stack.phase('redis restart');
      await Promise.all([stack.spawnWorker().ready, stack.spawnWorker().ready]);
      const ids = await stack.post(20, 'job');
      // Mid-batch: some done or in flight, most still queued.
      await stack.waitFor(() => stack.sim.stats().accepted >= 4, 30_000, 'four submissions');
      await redis.stop();
      recordOutage('redis');
      // Meanwhile the API answers 503 at once, never waiting on the connection.
      const started = Date.now();
      const refused = await stack.call('GET', `/v1/jobs/${ids[0]}`);
      expect(refused.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(2_000);
      await new Promise((r) => setTimeout(r, QUICK ? 3_000 : 10_000));
      await redis.start();
      // The API answers again on its own connection.
      await stack.waitFor(
        async () => (await stack.call('GET', `/v1/jobs/${ids[0]}`)).status === 200,
        30_000,
        'the API back',
      );
      await stack.check(ids, { timeoutMs: 120_000 });
      expect(stack.live()).toHaveLength(2);
    });
  });

  describe('S3 unavailable, then back within the sink retry budget', () => {
    const downMs = QUICK ? 30_000 : 60_000;
    let stack: ChaosStack;
    beforeAll(async () => {
      stack = await startChaos({ name: 's3 outage' });
    });
    afterAll(async () => {
      await stack?.close();
    });

    it(`S3 down for ${downMs / 1000} s: no job fails, all stored once it is back`, async () => {
      stack.phase(`s3 down ${downMs / 1000} s`);
      await stack.spawnWorker().ready;
      await stack.s3.stop();
      recordOutage('s3');
      const ids = await stack.post(10, 'job');
      // Tasks end while S3 is away: the sink keeps failing and retrying with backoff.
      await stack.waitFor(
        async () => (await stack.jobs(ids)).every((v) => v.state === 'storing'),
        60_000,
        'every job waiting on S3',
      );
      await new Promise((r) => setTimeout(r, downMs - 5_000));
      expect((await stack.jobs(ids)).filter((v) => v.state === 'failed')).toEqual([]);
      await stack.s3.start();
      await stack.check(ids, { timeoutMs: 180_000 });
    });
  });
}
