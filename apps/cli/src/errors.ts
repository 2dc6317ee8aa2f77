/**
 * The CLI's typed errors, each with the exit code it ends the process with.
 *
 * Exit codes: 0 success; 1 the work did not succeed (a job failed, a download did not verify, the
 * server faulted, the API cannot be reached); 2 the request was refused (an API 4xx, bad usage).
 */

/** Exit code when the work ran but did not fully succeed, or the API could not be used. */
export const EXIT_FAILURE = 1;
/** Exit code when the request itself was refused (API 4xx, bad arguments). */
export const EXIT_USAGE = 2;

/** One problem with a request field, as the API lists it under `error.issues`. */
export interface ApiIssue {
  path: string;
  message: string;
}

/** Base class: a message that is safe to print (never holds the token) and an exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The API answered with an error body `{ error: { code, message, issues? } }` (or an unexpected status). */
export class ApiResponseError extends CliError {
  override readonly name = 'ApiResponseError';
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** The API's error code (`invalid_request`, `not_found`, …), or `http_<status>` without a JSON body. */
    readonly code: string,
    message: string,
    /** Field-level problems, when the API listed them. */
    readonly issues: ApiIssue[] = [],
    /** Anything else the error body carried (e.g. `rejected` rows of a batch). */
    readonly details: Record<string, unknown> = {},
  ) {
    // A 4xx is the caller's request; a 5xx is the server's fault.
    super(message, status >= 400 && status < 500 ? EXIT_USAGE : EXIT_FAILURE);
  }
}

/** The API could not be reached at all (refused, DNS, timeout, reset). */
export class ApiConnectionError extends CliError {
  override readonly name = 'ApiConnectionError';
  constructor(
    /** The API origin, credentials removed. */
    readonly url: string,
    /** The socket error code, such as `ECONNREFUSED`. */
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, EXIT_FAILURE, options);
  }
}

/** Removes credentials embedded in a URL (`http://user:pass@host`) before it is printed. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/)[^/@\s]+@/g, '$1[redacted]@');
}
