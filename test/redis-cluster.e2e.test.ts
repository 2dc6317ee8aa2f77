/**
 * genqueue on a real Redis Cluster: three `redis-server --cluster-enabled yes` masters made into a
 * cluster by `redis-cli --cluster create`, with `REDIS_URL` pointing at a port nobody answers on, so
 * any process that ignored `REDIS_CLUSTER_NODES` would fail. The API runs here, the two workers as
 * child processes, all with the nodes' password; a batch runs to the end within the provider's limits, and the deployment's keys
 * sit in the slots the layout names, spread over the masters, and are all deleted by one call.
 */
import { once } from 'node:events';
import { deleteKeysWithPrefix, limiterKeyPrefix, masters, redisKeyLayout } from '@genqueue/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectBatchStored,
  expectWorkersAlive,
  postBatch,
  startBatchStack,
} from './support/cluster-batch.ts';
import { uniquePrefix } from './support/redis.ts';
import { type RedisClusterHandle, startRedisCluster } from './support/redis-servers.ts';
import { type Stack, TEST_TOKEN } from './support/stack.ts';

/** Every node requires it: the credentials reach every node, and BullMQ's duplicated connections. */
const CLUSTER_PASSWORD = 'cluster-secret-0123';
let cluster: RedisClusterHandle | undefined;
let stack: Stack | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, password: CLUSTER_PASSWORD });
  stack = await startBatchStack(
    { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_PASSWORD: CLUSTER_PASSWORD },
    { prefix: await prefixSpreadOver(cluster) },
  );
}, 90_000);

afterAll(async () => {
  await stack?.close();
  await cluster?.stop();
});

/**
 * A unique prefix whose queues and limiter hash tags live on two different masters. A random one
 * puts both on the same master one time in three, and then nothing shows that the deployment
 * works across masters.
 */
async function prefixSpreadOver(c: RedisClusterHandle): Promise<string> {
  for (;;) {
    const prefix = uniquePrefix('e2e');
    const [queues, limits] = await Promise.all([
      c.masterOf(`${redisKeyLayout(prefix).queues}:x`),
      c.masterOf(`${limiterKeyPrefix(prefix, 'liblib')}:x`),
    ]);
    if (queues !== limits) return prefix;
  }
}

/** The deployment's keys on each master, by SCAN on that node. */
async function keysPerMaster(s: Stack): Promise<string[][]> {
  const name = redisKeyLayout(s.prefix).name;
  return Promise.all(
    masters(s.redis).map(async (node) => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `{${name}[}:]*`, 'COUNT', 1000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
      return found;
    }),
  );
}

describe('on a Redis Cluster of three masters', () => {
  it('runs a batch through two worker processes: every image stored, no limit broken', async () => {
    const s = stack!;
    const { id, prompts } = await postBatch(s, 80, 'cluster');
    const { stats } = await expectBatchStored(s, id, prompts, 60_000);
    expect(stats).toMatchObject({ qpsBreaches: 0, inFlightBreaches: 0, duplicatePrompts: 0 });
    expect(stats.maxInFlightObserved).toBeGreaterThan(1);

    // Both worker processes are still up: neither fell back to REDIS_URL (nobody there) and died.
    expectWorkersAlive(s);

    // The workers' metrics, flushed to their own slot, read back by the API's collector.
    const metrics = await fetch(`${s.api.url}/metrics`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^genqueue_\w+\{[^}]*provider="liblib"[^}]*\} [1-9]/m);
  });

  it('keeps the queues and records, the limiter and the metrics in their own slots, on more than one master', async () => {
    const s = stack!;
    const layout = redisKeyLayout(s.prefix);
    const perMaster = await keysPerMaster(s);
    const all = perMaster.flat();
    const tags = new Set(all.map((key) => /^\{[^}]*\}/.exec(key)?.[0]));
    expect(tags).toEqual(new Set([layout.queues, layout.metrics, limiterKeyPrefix(s.prefix, 'liblib')]));
    expect(all.some((key) => key.startsWith(`${layout.queues}:job:`))).toBe(true);
    expect(all.some((key) => key.startsWith(`${layout.queues}:submit`))).toBe(true);
    expect(all.some((key) => key.startsWith(`${limiterKeyPrefix(s.prefix, 'liblib')}:`))).toBe(true);
    // Three tags in three slots, on at least two masters (the prefix was chosen so).
    const slots = new Set(
      await Promise.all([...tags].map((tag) => s.redis.cluster('KEYSLOT', `${tag}:x`) as Promise<number>)),
    );
    expect(slots.size).toBe(3);
    expect(perMaster.filter((keys) => keys.length > 0).length).toBeGreaterThanOrEqual(2);
  });

  it('deletes every key of the deployment on every master, and nothing else', async () => {
    const s = stack!;
    // Deleting a deployment's keys is for a stopped deployment: running workers re-create BullMQ's
    // keys (queue meta, stalled checks) at once. Stop both worker processes and the API first.
    for (const child of s.processes) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await s.api.close();
    await s.redis.set('{gqtest-bystander}:kept', '1');
    try {
      await deleteKeysWithPrefix(s.redis, s.prefix);
      expect((await keysPerMaster(s)).flat()).toEqual([]);
      expect(await s.redis.get('{gqtest-bystander}:kept')).toBe('1');
    } finally {
      await s.redis.del('{gqtest-bystander}:kept');
    }
  });
});
