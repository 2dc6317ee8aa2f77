import { createHmac } from 'node:crypto';

/** What {@link signWebhook} signs. */
export interface SignWebhookInput {
  /** `whsec_` followed by the base64 key (the prefix is optional). */
  secret: string;
  /** The `webhook-id` header: the delivery id, the same on every attempt. */
  id: string;
  /** The `webhook-timestamp` header, in seconds since the epoch. */
  timestamp: number;
  /** The exact request body. */
  body: string;
}

/**
 * The `webhook-signature` header value per Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of
 * `${id}.${timestamp}.${body}`, keyed by the base64-decoded secret. Byte-compatible with the
 * `standardwebhooks` package, so receivers can verify with any Standard Webhooks library.
 */
export function signWebhook({ secret, id, timestamp, body }: SignWebhookInput): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}
