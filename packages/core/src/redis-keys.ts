/** How a deployment's keys are deleted; where they are is `redisKeyLayout` in @genqueue/model. */
import { redisKeyLayout } from '@genqueue/model';
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './redis-connection.ts';

/**
 * Deletes every key of the deployment named `prefix` (its hash-tagged keys, and any `prefix:…` key
 * from before the layout), and nothing else: SCAN + UNLINK a thousand at a time, on every master
 * of a Cluster (SCAN sees only the node it runs on). What the demo, the benchmark and the tests use
 * to leave a shared Redis as they found it.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<void> {
  const { name } = redisKeyLayout(prefix);
  // Redis glob: `{` and `}` are literal; the class matches `{name}:…` and `{name:…}…` only.
  const patterns = [`{${name}[}:]*`, `${name}:*`];
  for (const node of masters(redis)) {
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        // One UNLINK per key: in a Cluster, keys of one call must share a slot.
        if (keys.length) await Promise.all(keys.map((key) => redis.unlink(key)));
      } while (cursor !== '0');
    }
  }
}

/** Every node a SCAN must run on to see all keys: the masters of a Cluster, else the one server. */
export function masters(redis: RedisClient): Redis[] {
  return redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
}
