import { credentialVariable } from '@genqueue/core';
import { PROVIDER_CATALOG } from '@genqueue/providers';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.redis).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379', tls: false });
    expect(config.queuePrefix).toBe('{genq}');
    expect(config.port).toBe(3000);
    expect(config.providers.liblib).toEqual({
      baseUrl: 'https://openapi.liblibai.cloud',
      credentials: undefined,
      limits: { submitQps: 1, maxInFlight: 5 },
      timeoutMs: 30_000,
      options: {},
    });
    expect(config.providers.modelverse.timeoutMs).toBe(300_000);
    expect(config.enabledProviders).toEqual([]);
    expect(config.webhooks.allowPrivate).toBe(false);
    expect(Object.isFrozen(config.providers.liblib)).toBe(true);
  });

  it('parses booleans, lists and numbers explicitly', () => {
    const config = loadConfig({
      API_TOKENS: 'a, b,,c',
      ADMIN_TOKENS: ' ops-1 ,ops-2,',
      WEBHOOK_ALLOW_PRIVATE: '1',
      S3_FORCE_PATH_STYLE: 'true',
      LIBLIB_SUBMIT_QPS: '0.5',
      QUEUE_PREFIX: '{genq}',
      WEBHOOK_RETRY_SCHEDULE_MS: '0,10,20',
    });
    expect(config.apiTokens).toEqual(['a', 'b', 'c']);
    expect(config.admin.tokens).toEqual(['ops-1', 'ops-2']);
    expect(config.webhooks.allowPrivate).toBe(true);
    expect(config.s3.forcePathStyle).toBe(true);
    expect(config.providers.liblib.limits.submitQps).toBe(0.5);
    expect(config.queuePrefix).toBe('{genq}');
    expect(config.webhooks.retryScheduleMs).toEqual([0, 10, 20]);
  });

  it('parses SINK_ALLOWED_HOSTS into host names and networks, and names a bad entry', () => {
    expect(loadConfig({}).s3.allowedHosts).toEqual({ hostnames: [], networks: [] });
    const config = loadConfig({
      SINK_ALLOWED_HOSTS: 'Results.Proxy.Lan., 127.0.0.1, 10.0.0.0/8, ::1, [fd00::]/8, minio',
    });
    expect(config.s3.allowedHosts).toEqual({
      hostnames: ['results.proxy.lan', 'minio'],
      networks: [
        { address: '127.0.0.1', prefix: 32 },
        { address: '10.0.0.0', prefix: 8 },
        { address: '::1', prefix: 128 },
        { address: 'fd00::', prefix: 8 },
      ],
    });
    for (const bad of ['10.0.0.0/33', 'http://x.example', 'a b', '10.0.0.1/8/1', 'host/8']) {
      expect(() => loadConfig({ SINK_ALLOWED_HOSTS: bad }), bad).toThrow(
        /SINK_ALLOWED_HOSTS.*not a host name/,
      );
    }
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

  it("derives every provider's variables from its descriptor", () => {
    for (const descriptor of PROVIDER_CATALOG) {
      const p = descriptor.envPrefix;
      const credentials = Object.fromEntries(
        Object.keys(descriptor.credentials.shape).map((field) => [field, `${field}-value`]),
      );
      const config = loadConfig({
        [`${p}_BASE_URL`]: 'http://127.0.0.1:9/base/',
        [`${p}_SUBMIT_QPS`]: '3.5',
        [`${p}_MAX_IN_FLIGHT`]: '7',
        [`${p}_TIMEOUT_MS`]: '1234',
        ...Object.fromEntries(
          Object.entries(credentials).map(([field, value]) => [credentialVariable(p, field), value]),
        ),
      });
      expect(config.providers[descriptor.name]).toEqual({
        baseUrl: 'http://127.0.0.1:9/base',
        credentials,
        limits: { submitQps: 3.5, maxInFlight: 7 },
        timeoutMs: 1234,
        options: descriptor.options.parse({}),
      });
      expect(config.enabledProviders).toEqual([descriptor.name]);
    }
  });

  it('keeps the single-account variable names', () => {
    const config = loadConfig({
      LIBLIB_ACCESS_KEY: 'ak',
      LIBLIB_SECRET_KEY: 'sk',
      LIBLIB_TIMEOUT_MS: '500',
      LIBLIB_V1_API_KEY: 'v1',
      REPLICATE_API_TOKEN: 'r8',
      MODELVERSE_API_KEY: 'mv',
    });
    expect(config.providers.liblib.credentials).toEqual({ accessKey: 'ak', secretKey: 'sk' });
    expect(config.providers.liblib.timeoutMs).toBe(500);
    expect(config.providers['liblib-v1'].credentials).toEqual({ apiKey: 'v1' });
    expect(config.providers.replicate.credentials).toEqual({ apiToken: 'r8' });
    expect(config.providers.modelverse.credentials).toEqual({ apiKey: 'mv' });
    expect(config.enabledProviders).toEqual(['liblib', 'liblib-v1', 'modelverse', 'replicate']);
  });

  it('enables the PROVIDERS list without any credential, and refuses unknown names', () => {
    const config = loadConfig({ PROVIDERS: 'replicate, liblib', LIBLIB_V1_API_KEY: 'v1' });
    expect(config.enabledProviders).toEqual(['liblib', 'replicate']);
    expect(config.providers.replicate.credentials).toBeUndefined();
    expect(() => loadConfig({ PROVIDERS: 'liblib,midjourney' })).toThrow(
      /PROVIDERS: unknown provider "midjourney"; known providers: liblib, liblib-v1, modelverse, replicate/,
    );
  });

  it('refuses half a key pair instead of silently disabling the provider', () => {
    let error: unknown;
    try {
      loadConfig({ LIBLIB_ACCESS_KEY: 'ak', PORT: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      { variable: 'PORT', message: 'must be an integer between 0 and 65535' },
      { variable: 'LIBLIB_SECRET_KEY', message: 'required when LIBLIB_ACCESS_KEY is set' },
    ]);
  });

  it("reads a provider's own options by its prefix, with the descriptor's defaults and bounds", () => {
    expect(loadConfig({}).providers.replicate.options).toEqual({ submitTimeoutMs: 300_000, preferWait: 0 });
    expect(
      loadConfig({ REPLICATE_SUBMIT_TIMEOUT_MS: '1000', REPLICATE_PREFER_WAIT: '5' }).providers.replicate
        .options,
    ).toEqual({ submitTimeoutMs: 1_000, preferWait: 5 });
    expect(() => loadConfig({ REPLICATE_PREFER_WAIT: '61' })).toThrow(
      /REPLICATE_PREFER_WAIT: must be from 0 to 60/,
    );
    expect(() => loadConfig({ REPLICATE_SUBMIT_TIMEOUT_MS: '10' })).toThrow(
      /REPLICATE_SUBMIT_TIMEOUT_MS: must be at least 1000/,
    );
  });

  it('bounds every provider timeout', () => {
    expect(() => loadConfig({ REPLICATE_TIMEOUT_MS: '10' })).toThrow(
      /REPLICATE_TIMEOUT_MS: must be an integer between 100 and 600000/,
    );
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
