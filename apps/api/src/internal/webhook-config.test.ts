import { loadConfig } from '@genqueue/config';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../http-error.ts';
import { requireWebhookSecret } from './webhook-config.ts';

describe('requireWebhookSecret', () => {
  it('accepts a webhook URL when a signing secret is configured', () => {
    const config = loadConfig({ WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    expect(() => requireWebhookSecret(config)).not.toThrow();
  });

  it('answers 400 webhooks_not_configured, naming the field, when no secret is configured', () => {
    let thrown: unknown;
    try {
      requireWebhookSecret(loadConfig({}), 'webhook.url');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    const error = thrown as ApiError;
    expect(error.status).toBe(400);
    expect(error.code).toBe('webhooks_not_configured');
    expect(error.message).toContain('WEBHOOK_SECRET');
    expect(error.issues).toEqual([{ path: 'webhook.url', message: error.message }]);
  });
});
