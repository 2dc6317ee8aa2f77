/**
 * Where a deployment keeps its keys, and how they are deleted. The layout is the same on one Redis,
 * on Sentinel and on Redis Cluster, so a deployment can move between them without renaming keys.
 *
 * A deployment is named by `QUEUE_PREFIX` (braces, if given, are ignored: `genq` and `{genq}` name
 * the same deployment). Redis Cluster hashes only the `{tag}` of a key, so keys that a Lua script
 * or a MULTI touches together share one tag, and unrelated load goes to other tags (other slots,
 * and so other masters):
 * - `{genq}:…`: every BullMQ queue (BullMQ's own scripts move a job between its queue's lists, and
 *   need its keys in one slot) and the job store's records (a transition updates a job and its
 *   batch in one script).
 * - `{genq:limits:<provider>}:…`: one provider's limiter keys, for all of its accounts, so a grant
 *   that chooses among a provider's accounts is one script; each provider on its own slot.
 * - `{genq:metrics}:…`: the workers' metric hashes, flushed together in one pipeline.
 */
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './redis-connection.ts';

/** The hash-tagged key prefixes of one deployment. */
export interface RedisKeyLayout {
  /** The deployment's name: `QUEUE_PREFIX` without braces. */
  readonly name: string;
  /** BullMQ's `prefix` for every queue, and the job store's prefix: `{name}`. */
  readonly queues: string;
  /** Prefix of the workers' metric hashes: `{name:metrics}`. */
  readonly metrics: string;
}

/** The layout for a `QUEUE_PREFIX`. */
export function redisKeyLayout(queuePrefix: string): RedisKeyLayout {
  const name = deploymentName(queuePrefix);
  return { name, queues: `{${name}}`, metrics: `{${name}:metrics}` };
}

/** The key prefix of one provider's limiter keys: `{name:limits:<provider>}`. */
export function limiterKeyPrefix(queuePrefix: string, provider: string): string {
  return `{${deploymentName(queuePrefix)}:limits:${provider}}`;
}

function deploymentName(queuePrefix: string): string {
  return queuePrefix.replace(/[{}]/g, '');
}

/**
 * Deletes every key of the deployment named `prefix` (its hash-tagged keys, and any `prefix:…` key
 * from before the layout), and nothing else: SCAN + UNLINK a thousand at a time, on every master
 * of a Cluster (SCAN sees only the node it runs on). What the demo, the benchmark and the tests use
 * to leave a shared Redis as they found it.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<void> {
  const name = deploymentName(prefix);
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
