import { loadConfig } from '@genqueue/config';
import { limiterKeyPrefix, redisKeyLayout } from '@genqueue/model';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedis } from './redis-connection.ts';

describe('createRedis', () => {
  it('connects to one server with the URL, and the separate credentials win over the URL', () => {
    const redis = createRedis(
      loadConfig({ REDIS_URL: 'rediss://u:p@cache:6380/2', REDIS_PASSWORD: 'other' }).redis,
      { lazyConnect: true },
    ) as Redis;
    expect(redis).toBeInstanceOf(Redis);
    expect(redis.options).toMatchObject({
      host: 'cache',
      port: 6380,
      db: 2,
      username: 'u',
      password: 'other',
    });
    expect(redis.options.tls).toBeDefined();
    expect(redis.options.maxRetriesPerRequest).toBeNull();
    redis.disconnect();
  });

  it('makes a Cluster client whose every node gets the credentials and TLS', () => {
    const cluster = createRedis(
      loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001', REDIS_PASSWORD: 'pw', REDIS_TLS: 'true' }).redis,
      { lazyConnect: true },
    ) as Cluster;
    expect(cluster).toBeInstanceOf(Cluster);
    expect(cluster.isCluster).toBe(true);
    expect(cluster.options.redisOptions).toMatchObject({
      password: 'pw',
      tls: {},
      maxRetriesPerRequest: null,
    });
    cluster.disconnect();
  });

  it('asks the Sentinels for the master, with TLS to both and the failover detector on', () => {
    const redis = createRedis(
      loadConfig({
        REDIS_SENTINELS: 's1:26379',
        REDIS_SENTINEL_NAME: 'main',
        REDIS_PASSWORD: 'pw',
        REDIS_SENTINEL_PASSWORD: 'spw',
        REDIS_TLS: '1',
      }).redis,
      { lazyConnect: true },
    ) as Redis;
    expect(redis.options).toMatchObject({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'main',
      password: 'pw',
      sentinelPassword: 'spw',
      tls: {},
      enableTLSForSentinelMode: true,
      failoverDetector: true,
    });
    redis.disconnect();
  });
});

describe('redisKeyLayout', () => {
  it('gives the queues and records, each provider limiter and the metrics their own hash tag', () => {
    expect(redisKeyLayout('genq')).toEqual({ name: 'genq', queues: '{genq}', metrics: '{genq:metrics}' });
    expect(redisKeyLayout('{genq}')).toEqual(redisKeyLayout('genq'));
    expect(limiterKeyPrefix('{genq}', 'liblib')).toBe('{genq:limits:liblib}');
  });
});
