import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.queuePrefix).toBe('genq');
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
