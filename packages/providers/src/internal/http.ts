/**
 * The HTTP client shared by the Bearer-token adapters (liblib-v1, replicate, modelverse).
 *
 * One job: send a JSON request through an injectable undici dispatcher and turn everything that can
 * go wrong below the provider's own error format (sockets, timeouts, aborts, malformed JSON) into a
 * classified `ProviderError` (conventions §5). Each adapter maps its own non-2xx answers through the
 * `errorFor` callback, so no wire format leaks in here.
 */
import {
  type ErrorClass,
  type Logger,
  ProviderError,
  type ProviderErrorOptions,
  silentLogger,
} from '@genqueue/core';
import { Agent, type Dispatcher, request } from 'undici';

/** Timeouts of one adapter's HTTP calls. */
export interface ProviderTimeouts {
  /** Time to open a TCP/TLS connection, in ms. Default 10 000. Only used when no dispatcher is injected. */
  connectMs?: number;
  /** Deadline of one whole request (headers and body), in ms. Default depends on the adapter. */
  requestMs?: number;
}

/** The injectable outside world every Bearer-token adapter takes (conventions §6). */
export interface AdapterIoOptions {
  /** undici dispatcher for every call (tests, proxies). Default: an agent owned by the provider. */
  dispatcher?: Dispatcher;
  /** Connect and request timeouts; the request default depends on the adapter. */
  timeouts?: ProviderTimeouts;
  /** Clock for `Retry-After` dates, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Logger for debug lines (method, path, status, duration; never headers). Default: silent. */
  logger?: Logger;
}

/** What the shared client needs to know about its adapter. */
export interface HttpClientOptions {
  /** Provider name for errors and logs. */
  provider: string;
  /** Base URL; a trailing slash is ignored, a path prefix (a proxy's `/replicate`) is kept. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`. Never logged, never in an error message. */
  token: string;
  dispatcher?: Dispatcher;
  timeouts?: ProviderTimeouts;
  /** Default request deadline when `timeouts.requestMs` is not given, in ms. */
  defaultRequestMs: number;
  now: () => number;
  logger?: Logger;
}

/** A 2xx answer with its parsed JSON body. */
export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Maps a non-2xx answer to a classified error. */
export type ErrorMapper = (response: JsonResponse & { text: string }) => ProviderError;

/** One call. */
export interface CallOptions {
  method: 'GET' | 'POST';
  /** Path below the base URL, starting with `/`. Path parameters must already be encoded. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Whether a lost answer may hide an accepted request (a submission): timeouts and resets after the
   * request was sent then set `ProviderError.ambiguous`.
   */
  mayCreate: boolean;
  /** Overrides the request deadline for this call, in ms (e.g. Replicate's `Prefer: wait`). */
  requestMs?: number;
  /** Awaited right before the request is sent (see `CallContext.beforeSend`). */
  beforeSend?: () => Promise<void>;
  errorFor: ErrorMapper;
}

/** The shared client. */
export interface HttpClient {
  call(options: CallOptions): Promise<JsonResponse>;
  /** Closes the agent the client created; an injected dispatcher is left to its owner. */
  close(): Promise<void>;
}

/** Connection errors that prove the request never reached the provider. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Creates the shared client. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const logger = options.logger ?? silentLogger();
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({ connect: { timeout: options.timeouts?.connectMs ?? 10_000 } });
  const dispatcher = options.dispatcher ?? ownAgent!;
  const requestMs = options.timeouts?.requestMs ?? options.defaultRequestMs;

  const fail = (
    errorClass: ErrorClass,
    message: string,
    extra: Omit<ProviderErrorOptions, 'provider' | 'errorClass' | 'message'>,
  ) => new ProviderError({ provider: options.provider, errorClass, message, ...extra });

  async function call(call: CallOptions): Promise<JsonResponse> {
    const deadlineMs = call.requestMs ?? requestMs;
    const timeout = AbortSignal.timeout(deadlineMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token}`,
      accept: 'application/json',
      ...call.headers,
    };
    let payload: string | undefined;
    if (call.body !== undefined) {
      payload = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    await call.beforeSend?.();
    const started = options.now();
    let statusCode: number;
    let responseHeaders: JsonResponse['headers'];
    let text: string;
    try {
      const response = await request(`${base}${call.path}`, {
        method: call.method,
        headers,
        body: payload,
        dispatcher,
        signal,
        headersTimeout: deadlineMs,
        bodyTimeout: deadlineMs,
      });
      statusCode = response.statusCode;
      responseHeaders = response.headers;
      text = await response.body.text();
    } catch (error) {
      const code = errorCode(error);
      const aborted = signal.aborted;
      const byCaller = call.signal?.aborted === true;
      const what = byCaller
        ? 'request aborted'
        : aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
          ? `request timed out after ${deadlineMs} ms`
          : `network error${code ? ` (${code})` : ''}`;
      logger.debug({ provider: options.provider, method: call.method, path: call.path, code }, what);
      throw fail('transient', `${options.provider}: ${call.method} ${call.path}: ${what}`, {
        code: code ?? (aborted ? 'timeout' : 'network'),
        ambiguous: call.mayCreate && !(code && NOT_SENT_CODES.has(code)),
        cause: error,
      });
    }
    logger.debug(
      {
        provider: options.provider,
        method: call.method,
        path: call.path,
        status: statusCode,
        ms: options.now() - started,
      },
      'provider call',
    );
    let body: unknown;
    let malformed = false;
    try {
      body = text.length === 0 ? undefined : JSON.parse(text);
    } catch {
      malformed = true;
    }
    if (statusCode < 200 || statusCode > 299) {
      throw call.errorFor({ status: statusCode, headers: responseHeaders, body, text });
    }
    if (malformed || body === undefined) {
      // conventions §5: a malformed answer is transient (a proxy's HTML page, a cut body).
      throw fail('transient', `${options.provider}: ${call.method} ${call.path}: malformed JSON answer`, {
        status: statusCode,
        code: 'malformed_response',
        ambiguous: call.mayCreate,
      });
    }
    return { status: statusCode, headers: responseHeaders, body };
  }

  return {
    call,
    close: async () => {
      await ownAgent?.close();
    },
  };
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const cause = (error as { cause?: unknown }).cause;
  return cause && cause !== error ? errorCode(cause) : undefined;
}

/** Reads one header as a string (the first value when repeated). */
export function header(headers: JsonResponse['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Shortens a provider message for errors and job views; providers sometimes echo whole inputs. */
export function clip(message: string, max = 500): string {
  return message.length > max ? `${message.slice(0, max)}…` : message;
}

/** Narrows an unknown JSON value to an object. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A malformed-answer error: the provider answered 2xx with a body we cannot use. */
export function malformed(provider: string, what: string, status?: number, ambiguous = false): ProviderError {
  return new ProviderError({
    provider,
    errorClass: 'transient',
    message: `${provider}: malformed answer: ${what}`,
    status,
    code: 'malformed_response',
    ambiguous,
  });
}

/** The error class of an HTTP status, shared by the Bearer-token providers (openai-node's table). */
export function classOfStatus(status: number): ErrorClass {
  if (status === 429) return 'retry_later';
  if (status === 401 || status === 402 || status === 403) return 'account';
  if (status === 408 || status === 409 || status >= 500) return 'transient';
  return 'invalid_job';
}
