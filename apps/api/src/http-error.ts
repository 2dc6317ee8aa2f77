/**
 * The API's error answers: one typed error for routes to throw, and the one error middleware that
 * turns anything thrown into `{ error: { code, message, issues? } }`.
 *
 * Nothing a client sends may produce a 5xx: body-parser and router errors are mapped to their 4xx,
 * and only genuine server faults (Redis down, a bug) answer 500/503, logged without secrets.
 */

import type { Logger } from '@genqueue/core';
import type { ErrorRequestHandler, RequestHandler } from 'express';

/** One problem with a request field. `path` is like `input.image_list[0]`; `body` is the whole body. */
export interface Issue {
  path: string;
  message: string;
}

/** The `code` values the API answers with. */
export type ApiErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'payload_too_large'
  | 'too_many_items'
  | 'headers_too_large'
  | 'unsupported_media_type'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'tenant_queue_full'
  | 'tenant_budget_spent'
  | 'not_found'
  | 'conflict'
  | 'idempotency_key_reused'
  | 'webhooks_not_configured'
  | 'bad_request'
  | 'unavailable'
  | 'internal';

/** An error with an HTTP status, answered to the client as is. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
  }
}

/** `Retry-After` of a 503 answered while Redis or S3 is down, in seconds. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * `503 unavailable` with `Retry-After`: a dependency (Redis, S3) is down. Answered at once, so a
 * client backs off instead of waiting on a connection that may not come back for minutes.
 */
export class UnavailableError extends ApiError {
  constructor(
    message: string,
    /** `Retry-After`, in seconds. */
    readonly retryAfterSeconds: number = UNAVAILABLE_RETRY_AFTER_SECONDS,
  ) {
    super(503, 'unavailable', message);
  }
}

/** `400 invalid_request` with the given issues; the message is the first issue. */
export function invalidRequest(issues: Issue[], message?: string): ApiError {
  const first = issues[0];
  return new ApiError(
    400,
    'invalid_request',
    message ?? (first ? `${first.path}: ${first.message}` : 'invalid request'),
    issues,
  );
}

/** Formats a zod-style path: keys joined by dots, indexes in brackets (`input.image_list[0]`). */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? 'body' : out;
}

/** Removes credentials embedded in URLs (`redis://user:pass@host`) from a log message. */
export function scrubSecrets(text: string): string {
  return text.replace(/(\/\/)[^/@\s]+@/g, '$1[redacted]@');
}

// body-parser and router errors carry `type` and an HTTP `status`.
interface HttpishError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as HttpishError;
  switch (e.type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', 'request body is not valid JSON');
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', 'request body is too large');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'unsupported body charset or encoding');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ApiError(400, 'bad_request', 'malformed request body');
  }
  const status = e.status ?? e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // e.g. a path with malformed percent-encoding (the router answers 400).
    return new ApiError(status, status === 404 ? 'not_found' : 'bad_request', 'bad request');
  }
  return undefined;
}

/** The last middleware: answers every error as JSON; logs the ones that are the server's fault. */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const known = toApiError(error);
    const answer =
      known ?? new ApiError(500, 'internal', 'internal server error; the error was logged on the server');
    if (!known) {
      const err = error instanceof Error ? error : new Error(String(error));
      logger.error(
        {
          err: { name: err.name, message: scrubSecrets(err.message), stack: scrubSecrets(err.stack ?? '') },
          method: req.method,
          path: req.path,
        },
        'request failed',
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (answer instanceof UnavailableError) res.set('Retry-After', String(answer.retryAfterSeconds));
    res.status(answer.status).json({
      error: {
        code: answer.code,
        message: answer.message,
        ...(answer.issues ? { issues: answer.issues } : {}),
      },
    });
  };
}

/** Answers 404 for any route nothing else handled. */
export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: `no route for ${req.method} ${req.path}` } });
};
