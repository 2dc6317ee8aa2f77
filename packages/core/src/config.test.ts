import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.redis).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379', tls: false });
    expect(config.queuePrefix).toBe('{genq}');
    expect(config.port).toBe(3000);
    expect(config.providers.liblib).toMatchObject({
      baseUrl: 'https://openapi.liblibai.cloud',
      submitQps: 1,
      maxInFlight: 5,
    });
    expect(config.webhooks.allowPrivate).toBe(false);
    expect(Object.isFrozen(config.providers.liblib)).toBe(true);
  });

  it('parses booleans, lists and numbers explicitly', () => {
    const config = loadConfig({
      API_TOKENS: 'a, b,,c',
      WEBHOOK_ALLOW_PRIVATE: '1',
      S3_FORCE_PATH_STYLE: 'true',
      LIBLIB_SUBMIT_QPS: '0.5',
      QUEUE_PREFIX: '{genq}',
      WEBHOOK_RETRY_SCHEDULE_MS: '0,10,20',
    });
    expect(config.apiTokens).toEqual(['a', 'b', 'c']);
    expect(config.webhooks.allowPrivate).toBe(true);
    expect(config.s3.forcePathStyle).toBe(true);
    expect(config.providers.liblib.submitQps).toBe(0.5);
    expect(config.queuePrefix).toBe('{genq}');
    expect(config.webhooks.retryScheduleMs).toEqual([0, 10, 20]);
  });

  it('lists every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        LIBLIB_MAX_IN_FLIGHT: '0',
        WEBHOOK_ALLOW_PRIVATE: 'yes',
        WEBHOOK_SECRET: 'nope',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).problems.map((p) => p.variable).sort();
    expect(variables).toEqual(['LIBLIB_MAX_IN_FLIGHT', 'PORT', 'WEBHOOK_ALLOW_PRIVATE', 'WEBHOOK_SECRET']);
    expect((error as Error).message).toContain('PORT');
  });
});

describe('loadConfig: Redis', () => {
  it('uses Redis Cluster when REDIS_CLUSTER_NODES is set, with credentials and TLS', () => {
    const config = loadConfig({
      REDIS_URL: 'redis://ignored:6379',
      REDIS_CLUSTER_NODES: 'redis-a:7000, 10.0.0.2:7001,[::1]:7002',
      REDIS_USERNAME: 'genqueue',
      REDIS_PASSWORD: 'secret',
      REDIS_TLS: 'true',
    });
    expect(config.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'redis-a', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'genqueue',
      password: 'secret',
      tls: true,
    });
  });

  it('uses Sentinel when REDIS_SENTINELS is set, and needs the master name', () => {
    expect(
      loadConfig({
        REDIS_SENTINELS: 's1:26379,s2:26379',
        REDIS_SENTINEL_NAME: 'main',
        REDIS_SENTINEL_PASSWORD: 'sp',
      }).redis,
    ).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'main',
      sentinelPassword: 'sp',
      tls: false,
    });
    expect(() => loadConfig({ REDIS_SENTINELS: 's1:26379' })).toThrow(/REDIS_SENTINEL_NAME: required/);
  });

  it('takes TLS from rediss:// in single mode, and refuses bad node lists or both modes at once', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://u:p@cache:6380' }).redis).toMatchObject({
      mode: 'single',
      tls: true,
    });
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b' })).toThrow(
      /REDIS_CLUSTER_NODES: "b" is not host:port/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:70000' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() =>
      loadConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm' }),
    ).toThrow(/REDIS_SENTINELS: set either/);
  });

  it('names the deployment by QUEUE_PREFIX with or without braces, and hash-tags it', () => {
    expect(loadConfig({ QUEUE_PREFIX: 'prod' }).queuePrefix).toBe('{prod}');
    expect(loadConfig({ QUEUE_PREFIX: '{prod}' }).queuePrefix).toBe('{prod}');
    expect(() => loadConfig({ QUEUE_PREFIX: 'a{b}' })).toThrow(/QUEUE_PREFIX/);
  });
});
