/**
 * Where a deployment keeps its keys (`deleteKeysWithPrefix` in @genqueue/core deletes them). The
 * layout is the same on one Redis, on Sentinel and on Redis Cluster, so a deployment can move
 * between them without renaming keys.
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
