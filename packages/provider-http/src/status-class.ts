/**
 * The one table from an HTTP status to an error class, shared by every adapter. Provider-specific
 * codes (LiblibAI's 100054 and the rest of 002 §13, Modelverse's `error.code`) are layered on top
 * by each adapter; a status the provider gives no code for falls back to this table.
 */
import type { ErrorClass, RetryLimit } from '@genqueue/model';

/** A status's class, and for `retry_later` the limit it stands for. */
export interface StatusVerdict {
  errorClass: ErrorClass;
  limit?: RetryLimit;
}

/**
 * Classifies an error status (conventions §5, openai-node's status table):
 * - 429 `retry_later` (`qps`): "too many requests" (002 §13: the submission QPS limit).
 * - 401, 403 `account`: bad key or signature, no entitlement or no points (002 §13, 001 §6).
 * - 402 `account`: Payment Required is the account's balance or billing, not the job: every job
 *   of the account would fail the same way until someone pays, so the account pauses.
 * - 408 `transient`: the server gave up waiting for our request; sending it again may work.
 * - 409 `transient`: a conflict with the server's current state (a lock, a concurrent update)
 *   clears by itself; openai-node retries it too.
 * - 5xx `transient` (002 §13 200000 / 001 §6 "可尝试重试").
 * - any other 4xx `invalid_job` (400 bad parameters, 404 unknown model or task, 413, 422).
 * - anything else (1xx, 3xx, which a client never follows here) `transient`: a proxy or gateway
 *   answered, not the provider; it says nothing against the job.
 */
export function classifyStatus(status: number): StatusVerdict {
  if (status === 429) return { errorClass: 'retry_later', limit: 'qps' };
  if (status === 401 || status === 402 || status === 403) return { errorClass: 'account' };
  if (status === 408 || status === 409) return { errorClass: 'transient' };
  if (status >= 400 && status <= 499) return { errorClass: 'invalid_job' };
  return { errorClass: 'transient' };
}

/** The error class of an HTTP error status; see {@link classifyStatus}. */
export function errorClassOfStatus(status: number): ErrorClass {
  return classifyStatus(status).errorClass;
}
