import type { Redis } from 'ioredis';

/**
 * Deletes every key under `prefix:` (SCAN + UNLINK, a thousand at a time), and nothing else: what
 * the demo, the benchmark and the tests use to leave a shared Redis as they found it.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}
