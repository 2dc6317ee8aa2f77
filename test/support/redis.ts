import { randomBytes } from 'node:crypto';
import { deleteKeysWithPrefix } from '@genqueue/core';
import { Redis } from 'ioredis';

/** The Redis the tests use: REDIS_URL, or the machine's default one. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique key prefix per test, hash-tagged like a production Cluster prefix. */
export function uniquePrefix(label = 't'): string {
  return `{gqtest-${label}-${randomBytes(4).toString('hex')}}`;
}

/** A connection BullMQ can use (it needs `maxRetriesPerRequest: null`). */
export function connectRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Deletes every key under a prefix this test created, and nothing else. */
export const deletePrefix = deleteKeysWithPrefix;
