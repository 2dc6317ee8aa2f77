import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signWebhook } from './sign.ts';

const secret = `whsec_${randomBytes(24).toString('base64')}`;

describe('signWebhook', () => {
  it('produces signatures the standardwebhooks package verifies', () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: 'job.succeeded', data: { id: 'job_1', prompt: 'a cat, 猫 🐱' } });
    const signature = signWebhook({ secret, id: 'msg_1', timestamp, body });
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('matches Webhook.sign byte for byte, for any id, time and body', () => {
    const webhook = new Webhook(secret);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: 4_102_444_800 }),
        fc.string(),
        (id, timestamp, body) => {
          expect(signWebhook({ secret, id, timestamp, body })).toBe(
            webhook.sign(id, new Date(timestamp * 1000), body),
          );
        },
      ),
    );
  });

  it('fails verification when the body or key differs', () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signWebhook({ secret, id: 'msg_2', timestamp, body: '{"a":1}' });
    const headers = {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    };
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
    const other = `whsec_${randomBytes(24).toString('base64')}`;
    expect(() => new Webhook(other).verify('{"a":1}', headers)).toThrow();
  });
});
