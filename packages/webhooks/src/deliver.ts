import { parseRetryAfter } from '@genqueue/model';
import { type Dispatcher, request } from 'undici';
import { signWebhook } from './sign.ts';
import { parseWebhookUrl, UnsafeUrlError } from './url-guard.ts';

/** Default time limit of one delivery attempt, in milliseconds. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 15_000;

/** The `user-agent` of every delivery. */
export const WEBHOOK_USER_AGENT = 'genqueue-webhooks';

/** One delivery attempt. */
export interface DeliverWebhookOptions {
  url: string;
  /** `whsec_…` signing secret. */
  secret: string;
  /** Delivery id (`webhook-id`): the same on every attempt, so receivers can deduplicate. */
  id: string;
  /** Event type, e.g. `job.succeeded`. */
  type: string;
  /** When the event happened (the body's `timestamp`). Default: now. */
  timestamp?: Date | string;
  /** The event data (the body's `data`). */
  payload: unknown;
  /** Time limit for the whole attempt (connect, headers, body), in milliseconds. Default 15 000. */
  timeoutMs?: number;
  /** Use the guarded dispatcher (`createGuardedDispatcher`); this function follows no redirects. */
  dispatcher: Dispatcher;
  /** Milliseconds since the epoch; sets `webhook-timestamp` and measures `durationMs`. Default `Date.now`. */
  now?: () => number;
  /** Aborts the attempt (shutdown). */
  signal?: AbortSignal;
}

/** The outcome of one attempt. {@link deliverWebhook} reports failures here and never throws. */
export interface DeliveryResult {
  /** The receiver answered 2xx. */
  ok: boolean;
  /** HTTP status, when the receiver answered. */
  status?: number;
  /** The receiver's `Retry-After`, in milliseconds. */
  retryAfterMs?: number;
  /** The receiver answered 410 Gone: stop delivering to this endpoint. */
  gone: boolean;
  /** What went wrong, for the delivery log. Never contains the secret. */
  error?: string;
  /** Time the attempt took, in milliseconds. */
  durationMs: number;
}

/**
 * Sends one signed Standard Webhooks request: a JSON body `{ type, timestamp, data }` with
 * `webhook-id`, `webhook-timestamp` (seconds, the attempt's time, as receivers check freshness)
 * and `webhook-signature` headers.
 *
 * 2xx is success. Redirects are not followed (a 3xx is a failure): following them would let a
 * receiver point the request anywhere, and Standard Webhooks senders do not follow them either.
 */
export async function deliverWebhook(options: DeliverWebhookOptions): Promise<DeliveryResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const result = (
    fields: Omit<DeliveryResult, 'durationMs' | 'gone'> & { gone?: boolean },
  ): DeliveryResult => ({
    gone: false,
    ...fields,
    durationMs: Math.max(0, now() - started),
  });

  try {
    parseWebhookUrl(options.url);
  } catch (error) {
    return result({ ok: false, error: `refused: ${(error as UnsafeUrlError).message}` });
  }

  const eventTime = options.timestamp === undefined ? new Date(started) : new Date(options.timestamp);
  const body = JSON.stringify({
    type: options.type,
    timestamp: eventTime.toISOString(),
    data: options.payload,
  });
  const timestamp = Math.floor(started / 1000);
  const headers = {
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
    'webhook-id': options.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook({ secret: options.secret, id: options.id, timestamp, body }),
  };

  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const response = await request(options.url, {
      method: 'POST',
      headers,
      body,
      dispatcher: options.dispatcher,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    // Drain a little of the answer so the connection can be reused; the content is not used.
    await response.body.dump({ limit: 64 * 1024, signal }).catch(() => undefined);
    const status = response.statusCode;
    const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']), now());
    const ok = status >= 200 && status <= 299;
    return result({
      ok,
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      gone: status === 410,
      ...(ok
        ? {}
        : {
            error:
              status >= 300 && status <= 399 ? `redirect (HTTP ${status}) not followed` : `HTTP ${status}`,
          }),
    });
  } catch (error) {
    return result({ ok: false, error: describeFailure(error, timeout.aborted, timeoutMs) });
  }
}

function describeFailure(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  const unsafe = findUnsafe(error);
  if (unsafe) return `refused: ${unsafe.message}`;
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return `timed out after ${timeoutMs} ms (${code})`;
  }
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}

/** The guard's refusal, which socket layers may wrap in their own errors. */
function findUnsafe(error: unknown): UnsafeUrlError | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof UnsafeUrlError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
