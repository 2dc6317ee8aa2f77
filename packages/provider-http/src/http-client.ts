/**
 * The one HTTP client every provider adapter sends through (LiblibAI's signed client included).
 *
 * One job: send a request through an injectable undici dispatcher (keep-alive, connect, headers
 * and body timeouts) and turn everything that can go wrong below the provider's own error format
 * into a classified error (conventions §5):
 * - a socket error, a reset or a timeout is a `transient` `ProviderError`, `ambiguous` when the
 *   call may have created a task and the error does not prove the request never left
 *   ({@link NOT_SENT_CODES});
 * - the caller's own abort (`signal`, a worker shutting down) is a `CallAbortedError`;
 * - with {@link HttpClient.call}, a non-2xx answer goes to the adapter's `errorFor`, which layers
 *   its provider codes over {@link classifyStatus}, and a 2xx that is not JSON is `transient`.
 * No wire format leaks in here: adapters parse their own bodies.
 */
import {
  CallAbortedError,
  type Logger,
  ProviderError,
  type ProviderErrorOptions,
  silentLogger,
} from '@genqueue/model';
import { Agent, type Dispatcher, request } from 'undici';

/** Timeouts of one provider's HTTP calls. */
export interface HttpTimeouts {
  /** Time to open a TCP/TLS connection, in ms. Default 10 000 (at most `requestMs`). Only used when no dispatcher is injected. */
  connectMs?: number;
  /** Deadline of one whole request (headers and body), in ms. Default depends on the adapter. */
  requestMs?: number;
}

/** The injectable outside world every adapter takes (conventions §6). */
export interface AdapterIoOptions {
  /** undici dispatcher for every call (tests, proxies). Default: a keep-alive agent owned by the adapter. */
  dispatcher?: Dispatcher;
  /** Connect and request timeouts; the request default depends on the adapter. */
  timeouts?: HttpTimeouts;
  /** Clock for `Retry-After` dates and signatures, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Logger for debug lines (method, path, status, duration; never headers or query). Default: silent. */
  logger?: Logger;
}

/** What the client needs to know about its adapter. */
export interface HttpClientOptions {
  /** Provider name for errors and logs. */
  provider: string;
  /** Base URL; a trailing slash is ignored, a path prefix (a proxy's `/replicate`) is kept. */
  baseUrl: string;
  /** Headers of every request, e.g. `authorization`. Never logged, never in an error message. */
  headers?: Record<string, string>;
  dispatcher?: Dispatcher;
  timeouts?: HttpTimeouts;
  /** Request deadline when `timeouts.requestMs` is not given, in ms. */
  defaultRequestMs: number;
  now?: () => number;
  logger?: Logger;
}

/** An answer as received: any status, the body as text. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A 2xx answer with its parsed JSON body. */
export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Maps a non-2xx answer to a classified error. */
export type ErrorMapper = (response: JsonResponse & { text: string }) => ProviderError;

/** One request. */
export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path below the base URL, starting with `/`. Path parameters must already be encoded. Logged. */
  path: string;
  /** Query string without `?` (e.g. a signature). Never logged. */
  query?: string;
  /**
   * An absolute URL to send to instead of base URL + path (LiblibAI's OSS `postUrl`); `path` then
   * only names the call in logs and errors.
   */
  url?: string;
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown;
  /** A raw body; its `content-type` goes in `headers`. */
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** The caller's abort (shutdown): ends the call with a `CallAbortedError`. */
  signal?: AbortSignal;
  /**
   * Whether a lost answer may hide an accepted request (a submission): timeouts, resets and aborts
   * after the request may have left then set `ambiguous`.
   */
  mayCreate: boolean;
  /** Overrides the request deadline for this call, in ms (e.g. Replicate's `Prefer: wait`). */
  requestMs?: number;
  /**
   * Called once the request has been written to the connection (see `CallContext.requestSent`):
   * after any connection set-up, so neither a TCP/TLS handshake nor a busy event loop counts as
   * time on the way. Awaited before the call returns or fails.
   */
  requestSent?: () => Promise<void>;
}

/** The shared client. */
export interface HttpClient {
  /** Sends one request and answers whatever status came back; throws only for the network. */
  send(request: HttpRequest): Promise<HttpAnswer>;
  /** Sends one JSON request: non-2xx goes through `errorFor`, a 2xx must carry JSON. */
  call(request: HttpRequest & { errorFor: ErrorMapper }): Promise<JsonResponse>;
  /** Closes the agent the client created; an injected dispatcher is left to its owner. */
  close(): Promise<void>;
}

/**
 * Error codes that prove the request never reached the provider: no connection was made (DNS,
 * refused, unreachable, connect timeout), or undici refused to start it on a closed or destroyed
 * client. A submission failing with one of them cannot have created a task.
 */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_DESTROYED',
  'UND_ERR_CLOSED',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Default connect timeout, in ms. */
const DEFAULT_CONNECT_MS = 10_000;
/** How long an idle keep-alive socket stays open, in ms (below common server idle timeouts). */
const KEEP_ALIVE_MS = 10_000;

/** Creates the shared client. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const logger = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  const requestMs = options.timeouts?.requestMs ?? options.defaultRequestMs;
  const connectMs = options.timeouts?.connectMs ?? Math.min(DEFAULT_CONNECT_MS, requestMs);
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({
        connect: { timeout: connectMs },
        keepAliveTimeout: KEEP_ALIVE_MS,
        headersTimeout: requestMs,
        bodyTimeout: requestMs,
      });
  const dispatcher = options.dispatcher ?? ownAgent!;
  let closed = false;

  const fail = (
    errorClass: ProviderErrorOptions['errorClass'],
    message: string,
    extra: Omit<ProviderErrorOptions, 'provider' | 'errorClass' | 'message'>,
  ) => new ProviderError({ provider: options.provider, errorClass, message, ...extra });

  async function send(call: HttpRequest): Promise<HttpAnswer> {
    const what = `${options.provider}: ${call.method} ${call.path}`;
    const deadlineMs = call.requestMs ?? requestMs;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...options.headers,
      ...call.headers,
    };
    let payload: string | Uint8Array | undefined = call.body;
    if (call.json !== undefined) {
      payload = JSON.stringify(call.json);
      headers['content-type'] = 'application/json';
    }
    if (call.signal?.aborted) {
      throw new CallAbortedError({ provider: options.provider, message: `${what}: aborted before sending` });
    }
    const timeout = AbortSignal.timeout(deadlineMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    const url = call.url ?? `${base}${call.path}${call.query ? `?${call.query}` : ''}`;
    const started = now();
    let sent: Promise<void> | undefined;
    const settleSent = async () => {
      try {
        await sent;
      } catch (error) {
        // The request went out whatever the hook's own failure: the call's outcome stands.
        logger.warn({ provider: options.provider, path: call.path, err: error }, 'requestSent hook failed');
      }
    };
    try {
      const response = await request(url, {
        method: call.method,
        headers,
        body: payload,
        dispatcher: call.requestSent
          ? onRequestSent(dispatcher, () => {
              sent ??= call.requestSent!();
            })
          : dispatcher,
        signal,
        headersTimeout: deadlineMs,
        bodyTimeout: deadlineMs,
      });
      const text = await response.body.text();
      logger.debug(
        {
          provider: options.provider,
          method: call.method,
          path: call.path,
          status: response.statusCode,
          ms: now() - started,
        },
        'provider call',
      );
      await settleSent();
      return { status: response.statusCode, headers: response.headers, text };
    } catch (error) {
      await settleSent();
      const code = errorCode(error);
      const notSent = code !== undefined && NOT_SENT_CODES.has(code);
      const ambiguous = call.mayCreate && !notSent;
      logger.debug(
        { provider: options.provider, method: call.method, path: call.path, code },
        'provider call failed',
      );
      if (call.signal?.aborted) {
        throw new CallAbortedError({
          provider: options.provider,
          message: `${what}: aborted`,
          ambiguous,
          cause: error,
        });
      }
      const timedOut = timeout.aborted || (code !== undefined && TIMEOUT_CODES.has(code));
      const reason = timedOut
        ? `timed out after ${deadlineMs} ms${code && TIMEOUT_CODES.has(code) ? ` (${code})` : ''}`
        : code === 'UND_ERR_CONNECT_TIMEOUT'
          ? `could not connect within ${connectMs} ms`
          : `network error${code ? ` (${code})` : ''}`;
      throw fail('transient', `${what}: ${reason}`, {
        code: timedOut ? 'timeout' : (code ?? 'network'),
        ambiguous,
        cause: error,
      });
    }
  }

  async function call(call: HttpRequest & { errorFor: ErrorMapper }): Promise<JsonResponse> {
    const answer = await send(call);
    let body: unknown;
    let malformedJson = false;
    try {
      body = answer.text.length === 0 ? undefined : JSON.parse(answer.text);
    } catch {
      malformedJson = true;
    }
    if (answer.status < 200 || answer.status > 299) {
      throw call.errorFor({ status: answer.status, headers: answer.headers, body, text: answer.text });
    }
    if (malformedJson || body === undefined) {
      // conventions §5: a malformed answer is transient (a proxy's HTML page, a cut body).
      throw malformed(
        options.provider,
        `${call.method} ${call.path}: not a JSON answer`,
        answer.status,
        call.mayCreate,
      );
    }
    return { status: answer.status, headers: answer.headers, body };
  }

  return {
    send,
    call,
    close: async () => {
      if (closed) return;
      closed = true;
      await ownAgent?.close();
    },
  };
}

/** The undici or system error code of a failed request, looking through `cause`. */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const cause = (error as { cause?: unknown }).cause;
  return cause && cause !== error ? errorCode(cause) : undefined;
}

/** A malformed-answer error: the provider answered with a body we cannot use. */
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

/**
 * A dispatcher that calls `sent` when undici has written a request in full to its connection
 * (its handler's `onRequestSent`), then dispatches as `inner` does.
 */
function onRequestSent(inner: Dispatcher, sent: () => void): Dispatcher {
  const dispatch: Dispatcher['dispatch'] = (opts, handler) =>
    inner.dispatch(
      opts,
      new Proxy(handler, {
        get(target, key) {
          if (key === 'onRequestSent') {
            return () => {
              sent();
              return (target as { onRequestSent?: () => void }).onRequestSent?.();
            };
          }
          const value = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
    );
  return new Proxy(inner, {
    get: (target, key) => (key === 'dispatch' ? dispatch : Reflect.get(target, key)),
  });
}
