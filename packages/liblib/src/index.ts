/**
 * `@genqueue/liblib`: the signed LiblibAI OpenAPI client (002).
 *
 * - {@link LiblibClient}: `submit`, `status`, `upload`, `modelVersion`, `close`.
 * - {@link LIBLIB_OPERATIONS}: every operation with its path, template, status endpoint and schema.
 * - {@link sign}: the request signature (002 §2.4), reusable by the simulator.
 * - {@link classifyLiblibCode} / {@link normalizeLiblibStatus}: the two pure mappings.
 */

export type {
  LiblibCallOptions,
  LiblibClientOptions,
  LiblibModelVersion,
  LiblibUploadOptions,
} from './client.ts';
export { DEFAULT_LIBLIB_BASE_URL, DEFAULT_LIBLIB_REQUEST_MS, LiblibClient } from './client.ts';
export type { LiblibValidationIssue } from './errors.ts';
export {
  classifyLiblibCode,
  LIBLIB_ERROR_CODES,
  LIBLIB_PROVIDER,
  LiblibValidationError,
  liblibCodeError,
} from './errors.ts';
export { MAX_UPLOAD_BYTES } from './internal/image-source.ts';
export type { LiblibOperation } from './operations.ts';
export {
  CUSTOM_IMG2IMG_TEMPLATES,
  CUSTOM_TEXT2IMG_TEMPLATES,
  LIBLIB_GENERATION_OPERATIONS,
  LIBLIB_OPERATIONS,
  LIBLIB_SAMPLERS,
  LIBLIB_STATUS_PATHS,
  LIBLIB_UPLOAD_SIGNATURE_PATH,
  SEEDREAM_MODELS,
} from './operations.ts';
export type { SignedQuery, SignInput } from './sign.ts';
export { sign, signedQuery, signedQueryString } from './sign.ts';
export { LIBLIB_TASK_ERROR_CODES, normalizeLiblibStatus } from './status.ts';
export { LIBLIB_TEMPLATES, QWEN_IMAGE_CHECKPOINT } from './templates.ts';
