/**
 * Why a store failed, in a word, for logs, metrics and the job view:
 * - `http_status`: the download answered a non-2xx status (`status` is set).
 * - `network`: connection refused or reset, DNS failure, TLS error.
 * - `timeout`: connecting, waiting for headers, or waiting between body chunks took too long.
 * - `aborted`: the caller's signal fired (shutdown, cancel).
 * - `too_large`: the file is larger than `maxBytes` (declared or counted).
 * - `empty`: the source has no bytes (retryable for downloads: a CDN may not have the file yet).
 * - `unsupported_source`: not an http(s) URL, a `data:` URL or base64.
 * - `invalid_data`: a `data:` URL or base64 string that cannot be decoded.
 * - `unsafe_url`: the download's host (or a redirect's) is private and not allowed (SSRF guard).
 * - `s3`: the upload to S3 failed.
 */
export type SinkErrorCode =
  | 'http_status'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'too_large'
  | 'empty'
  | 'unsupported_source'
  | 'invalid_data'
  | 'unsafe_url'
  | 's3';

/** Options of {@link SinkError}. */
export interface SinkErrorOptions {
  code: SinkErrorCode;
  /** Whether trying again later may succeed. */
  retryable: boolean;
  /** HTTP status of the download, for `http_status`. */
  status?: number;
  cause?: unknown;
}

/**
 * The one error `Sink.store` throws. `retryable` tells the sink job whether to retry with backoff
 * (network, timeouts, 5xx, a 404 from a CDN that has not caught up yet, S3 errors) or to fail the
 * job for good (over the size limit, an unsupported source). Messages never contain a URL's query
 * string, which often carries a signature.
 */
export class SinkError extends Error {
  override readonly name = 'SinkError';
  readonly code: SinkErrorCode;
  readonly retryable: boolean;
  readonly status?: number;

  constructor(message: string, options: SinkErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable;
    this.status = options.status;
  }
}

/** Narrows an unknown error to {@link SinkError}. */
export function isSinkError(error: unknown): error is SinkError {
  return error instanceof SinkError;
}
