/**
 * `@genqueue/liblib`: the signed LiblibAI OpenAPI client (002).
 */

export type { LiblibValidationIssue } from './errors.ts';
export {
  classifyLiblibCode,
  LIBLIB_ERROR_CODES,
  LIBLIB_PROVIDER,
  LiblibValidationError,
  liblibCodeError,
} from './errors.ts';
export type { LiblibOperation } from './operations.ts';
export {
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
