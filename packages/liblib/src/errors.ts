/**
 * LiblibAI errors (002 §13), classified once into core's error classes.
 *
 * A LiblibAI error arrives in two forms: as the HTTP status of the response (401, 403, 429, 5xx),
 * or as a nonzero `code` in a `200` envelope `{code, msg, data}`. Both go through
 * {@link classifyLiblibCode}, so the pipeline never sees a provider code.
 */
import { ProviderError } from '@genqueue/model';
import { classifyStatus, type StatusVerdict } from '@genqueue/provider-http';
import type { z } from 'zod';

/** The provider name carried by every `ProviderError` this package throws. */
export const LIBLIB_PROVIDER = 'liblib';

/** The manual's error codes (002 §13), with their meaning in English. */
export const LIBLIB_ERROR_CODES: Readonly<Record<number, string>> = {
  401: 'signature verification failed',
  403: 'access denied (no API entitlement, or API points exhausted)',
  429: 'too many requests (submission QPS limit)',
  100000: 'invalid parameters',
  100010: 'AccessKey expired',
  100020: 'user does not exist',
  100021: 'insufficient points',
  100030: 'image URL unreachable or larger than 10 MB',
  100031: 'image contains prohibited content',
  100032: 'image download failed',
  100050: 'parameters failed the completeness check (template / checkpoint / LoRA / ControlNet mismatch)',
  100051: 'task does not exist',
  100052: 'prompt contains sensitive content',
  100053: 'model not in the allowed list',
  100054: 'concurrent task limit reached',
  100055: 'result contains sensitive content',
  100120: 'template does not exist',
  200000: 'internal error (upload failed, or maintenance)',
  200001: 'model does not exist',
  210000: 'calling an external service failed',
};

/**
 * The classes of 002 §13's own codes. The HTTP statuses of the same table (401, 403, 429) are
 * the shared status table's ({@link classifyStatus}), which agrees with the manual.
 */
const CODE_VERDICTS: Readonly<Record<number, StatusVerdict>> = {
  100000: { errorClass: 'invalid_job' },
  100010: { errorClass: 'account' },
  100020: { errorClass: 'account' },
  100021: { errorClass: 'account' },
  100030: { errorClass: 'invalid_job' },
  100031: { errorClass: 'invalid_job' },
  // A network failure on LiblibAI's side while downloading our image (002 §13 suggests retrying
  // or uploading).
  100032: { errorClass: 'transient' },
  100050: { errorClass: 'invalid_job' },
  100051: { errorClass: 'invalid_job' },
  100052: { errorClass: 'invalid_job' },
  100053: { errorClass: 'invalid_job' },
  // 002 §2.3: at most 5 tasks in progress per account; the limiter was outrun.
  100054: { errorClass: 'retry_later', limit: 'in_flight' },
  100055: { errorClass: 'invalid_job' },
  100120: { errorClass: 'invalid_job' },
  // "internal" / "please retry".
  200000: { errorClass: 'transient' },
  200001: { errorClass: 'invalid_job' },
  210000: { errorClass: 'transient' },
};

/**
 * Classifies a LiblibAI code, given either as an HTTP status or as the envelope's `code`.
 * - `retry_later`: 429 (`qps`), 100054 (`in_flight`): not the job's fault.
 * - `account`: 401, 402, 403, 100010, 100020, 100021 (pause the account).
 * - `transient`: 408, 409, any 5xx, 100032, 200000, 210000.
 * - `invalid_job`: 100000, 100030, 100031, 100050–100053, 100055, 100120, 200001, every other
 *   4xx and every unknown nonzero code (failing loudly beats retrying a request that cannot work).
 */
export function classifyLiblibCode(code: number): StatusVerdict {
  const known = Object.hasOwn(CODE_VERDICTS, code) ? CODE_VERDICTS[code] : undefined;
  if (known) return known;
  if (code >= 100 && code <= 599) return classifyStatus(code);
  return { errorClass: 'invalid_job' };
}

/** One problem found while validating an operation's input. */
export interface LiblibValidationIssue {
  /** Dotted path of the field at fault, e.g. `image_list.4` (empty for the whole input). */
  path: string;
  message: string;
}

/**
 * Thrown by `LiblibClient.submit` when the input does not satisfy the operation's schema (or the
 * operation does not exist), before any request leaves. Separate from `ProviderError` on purpose:
 * it is the caller's mistake, found locally. The message lists every issue, one per line.
 */
export class LiblibValidationError extends Error {
  override readonly name = 'LiblibValidationError';
  /** The operation the input was meant for. */
  readonly operation: string;
  readonly issues: readonly LiblibValidationIssue[];

  constructor(operation: string, issues: LiblibValidationIssue[]) {
    super(
      `Invalid input for liblib operation ${operation}:\n${issues
        .map((issue) => `  ${issue.path || '(input)'}: ${issue.message}`)
        .join('\n')}`,
    );
    this.operation = operation;
    this.issues = issues;
  }

  /** Builds the error from a zod error, keeping every issue. */
  static fromZod(operation: string, error: z.ZodError): LiblibValidationError {
    return new LiblibValidationError(
      operation,
      error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
}

/** Builds the `ProviderError` for a LiblibAI code (HTTP status or envelope `code`). */
export function liblibCodeError(options: {
  code: number;
  /** `code` came as the HTTP status (no envelope code). */
  fromHttpStatus: boolean;
  httpStatus: number;
  /** The provider's `msg`, already scrubbed of secrets. */
  providerMessage?: string;
  /** Which call failed, e.g. `POST /api/generate/kontext/text2img`. */
  what: string;
  retryAfterMs?: number;
  ambiguous?: boolean;
}): ProviderError {
  const { errorClass, limit } = classifyLiblibCode(options.code);
  const meaning = LIBLIB_ERROR_CODES[options.code] ?? 'unknown error code';
  const detail = options.providerMessage ? `: ${options.providerMessage}` : '';
  const label = options.fromHttpStatus ? `HTTP ${options.code}` : `code ${options.code}`;
  return new ProviderError({
    provider: LIBLIB_PROVIDER,
    errorClass,
    message: `${options.what} failed with ${label} (${meaning})${detail}`,
    status: options.httpStatus,
    code: String(options.code),
    retryAfterMs: errorClass === 'retry_later' ? options.retryAfterMs : undefined,
    limit,
    ambiguous: options.ambiguous,
  });
}
