/**
 * genqueue through Sentinel: a master, one replica and three Sentinels, with `REDIS_URL` pointing
 * at a port nobody answers on. The master is SIGKILLed mid-batch; the Sentinels promote the
 * replica, every process follows it (ioredis asks the Sentinels for the new master, and hears
 * `+switch-master`), and every job of the batch still ends succeeded, its image stored, each prompt
 * submitted once and the provider's limits kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchView,
  expectBatchStored,
  expectWorkersAlive,
  postBatch,
  startBatchStack,
} from './support/cluster-batch.ts';
import { type SentinelHandle, startSentinel } from './support/redis-servers.ts';
import type { Stack } from './support/stack.ts';

let sentinel: SentinelHandle | undefined;
let stack: Stack | undefined;

beforeAll(async () => {
  sentinel = await startSentinel({ downAfterMs: 1_000 });
  stack = await startBatchStack({
    REDIS_SENTINELS: sentinel.sentinels,
    REDIS_SENTINEL_NAME: sentinel.name,
  });
}, 90_000);

afterAll(async () => {
  await stack?.close();
  await sentinel?.stop();
});

describe('through Sentinel, with the master failed over mid-batch', () => {
  it('follows the promoted replica, and the batch ends with every job succeeded and stored', async () => {
    const s = stack!;
    const sent = sentinel!;
    expect(await sent.currentMaster()).toBe(sent.master.address);
    const { id, prompts } = await postBatch(s, 80, 'sentinel');
    await s.waitFor(async () => (await batchView(s, id)).counts.succeeded >= 20, 60_000, '20 jobs done');

    await sent.master.kill();
    expect(
      (await batchView(s, id).catch(() => ({ counts: { succeeded: 0 } }))).counts.succeeded,
    ).toBeLessThan(60);
    await s.waitFor(
      async () => (await sent.currentMaster()) === sent.replica.address,
      30_000,
      'the Sentinels to promote the replica',
    );

    const { stats } = await expectBatchStored(s, id, prompts, 90_000);
    expect(stats).toMatchObject({ qpsBreaches: 0, inFlightBreaches: 0, duplicatePrompts: 0 });
    expectWorkersAlive(s);
  });
});
