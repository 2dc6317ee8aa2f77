/**
 * Typed provider errors, classified once (conventions §5).
 *
 * Every adapter turns whatever went wrong (an HTTP status, a `code` in a 200 body, a socket error, a
 * timeout, malformed JSON) into one `ProviderError` with a class. The pipeline never looks at
 * provider codes: it asks {@link actionFor} what the class means for the job.
 */

/**
 * - `retry_later`: the provider is busy (429, LiblibAI 100054). Not the job's fault: wait and go
 *   again without using up an attempt.
 * - `transient`: 5xx, network errors, timeouts, malformed responses. Retry with backoff.
 * - `invalid_job`: bad parameters, moderation, missing model or template. Fail the job with the
 *   provider's reason.
 * - `account`: signature, expired key, no entitlement or points. Pause the provider.
 */
export type ErrorClass = 'retry_later' | 'transient' | 'invalid_job' | 'account';

/** What the queue does with a job whose provider call failed with a given class. */
export type ErrorAction =
  /** Put the job back without using an attempt, after `retryAfterMs` or a default wait. */
  | 'delay'
  /** Retry with exponential backoff and jitter, using an attempt. */
  | 'retry'
  /** Fail the job for good, with the provider's code and message. */
  | 'fail'
  /** Pause submissions for the whole provider account; the job stays queued. */
  | 'pause_provider';

/** Maps an error class to what the queue does. Pure; covered by a table test. */
export function actionFor(errorClass: ErrorClass): ErrorAction {
  switch (errorClass) {
    case 'retry_later':
      return 'delay';
    case 'transient':
      return 'retry';
    case 'invalid_job':
      return 'fail';
    case 'account':
      return 'pause_provider';
  }
}

/**
 * Which provider limit a `retry_later` answer hit (conventions §5):
 * - `qps`: too many submissions per second (LiblibAI 429, 002 §2.3 / §13).
 * - `in_flight`: too many tasks in progress at once (LiblibAI 100054, 002 §2.3 / §13).
 */
export type RetryLimit = 'qps' | 'in_flight';

export interface ProviderErrorOptions {
  /** Provider name, e.g. `liblib`. */
  provider: string;
  errorClass: ErrorClass;
  message: string;
  /** HTTP status, when the error came with one. */
  status?: number;
  /** Provider error code (LiblibAI `code`, OpenAI-style `error.code`, ...), as a string. */
  code?: string;
  /** How long the provider asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** For `retry_later`: which limit the answer hit. Ignored for the other classes. */
  limit?: RetryLimit;
  /**
   * Whether the request may have reached the provider and been accepted (a timeout or reset after
   * the body was sent). Used to count possible duplicate submissions.
   */
  ambiguous?: boolean;
  cause?: unknown;
}

/** The one error type every provider adapter throws. Messages never contain credentials. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly provider: string;
  readonly errorClass: ErrorClass;
  readonly status?: number;
  readonly code?: string;
  readonly retryAfterMs?: number;
  /** For `retry_later` only: which limit the provider said was hit. */
  readonly limit?: RetryLimit;
  readonly ambiguous: boolean;

  constructor(options: ProviderErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.provider = options.provider;
    this.errorClass = options.errorClass;
    this.status = options.status;
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
    this.limit = options.errorClass === 'retry_later' ? options.limit : undefined;
    this.ambiguous = options.ambiguous ?? false;
  }

  /** The `{ code, message }` shown in a failed job's view. */
  toJobError(): JobError {
    return {
      code: this.code ?? (this.status ? `http_${this.status}` : this.errorClass),
      message: this.message,
    };
  }
}

/**
 * Thrown instead of a `ProviderError` when the caller's own `CallContext.signal` ended the call
 * (a worker shutting down). It says nothing about the provider: the job goes back to waiting
 * without using an attempt. `ambiguous` as for `ProviderError`: a submission aborted after its
 * request left may have created a task.
 */
export class CallAbortedError extends Error {
  override readonly name = 'CallAbortedError';
  readonly provider: string;
  readonly ambiguous: boolean;

  constructor(options: { provider: string; message: string; ambiguous?: boolean; cause?: unknown }) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.provider = options.provider;
    this.ambiguous = options.ambiguous ?? false;
  }
}

/** A failed or canceled job's reason, as shown to users. */
export interface JobError {
  code: string;
  message: string;
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof ProviderError;
}

/**
 * Parses an HTTP `Retry-After` header (seconds or an HTTP date) into milliseconds.
 * Returns undefined when absent or unparseable. `now` is injectable for tests.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
