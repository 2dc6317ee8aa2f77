/**
 * A Redis Cluster master dies mid-batch: three masters with one replica each, and the master that
 * holds the queues and job records (the `{name}` slot, the busiest) is SIGKILLed while the batch
 * runs. Its replica takes over after `cluster-node-timeout`; the API and the two worker processes
 * ride out the gap (ioredis retries the slot's commands through CLUSTERDOWN and follows the new
 * slot map) and every job of the batch still ends succeeded, its image stored, each prompt
 * submitted once.
 */
import { redisKeyLayout } from '@genqueue/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchView,
  expectBatchStored,
  expectWorkersAlive,
  postBatch,
  startBatchStack,
} from './support/cluster-batch.ts';
import { type RedisClusterHandle, startRedisCluster } from './support/redis-servers.ts';
import type { Stack } from './support/stack.ts';

let cluster: RedisClusterHandle | undefined;
let stack: Stack | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1_000 });
  stack = await startBatchStack({ REDIS_CLUSTER_NODES: cluster.seeds });
}, 90_000);

afterAll(async () => {
  await stack?.close();
  await cluster?.stop();
});

describe('a Redis Cluster master killed mid-batch', () => {
  it('fails over to its replica, and the batch still ends with every job succeeded and stored', async () => {
    const s = stack!;
    const c = cluster!;
    const { id, prompts } = await postBatch(s, 80, 'failover');
    await s.waitFor(async () => (await batchView(s, id)).counts.succeeded >= 20, 60_000, '20 jobs done');

    const victim = await c.masterOf(`${redisKeyLayout(s.prefix).queues}:x`);
    await victim.kill();
    // Killed mid-batch: most of the batch is still to do.
    expect(
      (await batchView(s, id).catch(() => ({ counts: { succeeded: 0 } }))).counts.succeeded,
    ).toBeLessThan(60);
    // The replica is promoted and the cluster serves every slot again.
    const promoted = await s.waitFor(
      () => c.masterOf(`${redisKeyLayout(s.prefix).queues}:x`).catch(() => undefined),
      30_000,
      'a replica to take over the slot',
    );
    expect(promoted.port).not.toBe(victim.port);
    await c.healthy(30_000);

    const { done, stats } = await expectBatchStored(s, id, prompts, 90_000);
    expect(done.counts.succeeded).toBe(80);
    expect(stats.duplicatePrompts).toBe(0);
    expectWorkersAlive(s);
  });
});
