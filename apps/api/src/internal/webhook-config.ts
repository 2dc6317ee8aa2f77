/**
 * Whether this server may accept a `webhookUrl`. Every delivery is signed (Standard Webhooks), and
 * sending unsigned deliveries would let anyone who learns a receiver's URL forge completion events,
 * so a webhook URL is refused up front when no `WEBHOOK_SECRET` is configured, instead of being
 * accepted and never delivered. Shared by the single-job and batch routes.
 */
import type { Config } from '@genqueue/config';
import { ApiError } from '../http-error.ts';

/** The message of `400 webhooks_not_configured`; says what to set, never the secret itself. */
export const WEBHOOKS_NOT_CONFIGURED_MESSAGE =
  'webhooks are not configured on this server: set WEBHOOK_SECRET (whsec_…) to accept a webhookUrl, ' +
  'since every delivery is signed';

/**
 * Throws `400 webhooks_not_configured` (issue path `path`, default `webhookUrl`) when no webhook
 * signing secret is configured. Call it only when the request carries a webhook URL.
 *
 * @throws {ApiError}
 */
export function requireWebhookSecret(config: Pick<Config, 'webhooks'>, path = 'webhookUrl'): void {
  if (config.webhooks.secret) return;
  throw new ApiError(400, 'webhooks_not_configured', WEBHOOKS_NOT_CONFIGURED_MESSAGE, [
    { path, message: WEBHOOKS_NOT_CONFIGURED_MESSAGE },
  ]);
}
