/**
 * `@genqueue/provider-http`: the one HTTP and error layer of every provider adapter.
 *
 * - {@link createHttpClient}: keep-alive, timeouts, network errors classified once
 *   ({@link NOT_SENT_CODES}), the caller's abort as `CallAbortedError`.
 * - {@link classifyStatus}: the one table from an HTTP status to an error class.
 */
export type {
  AdapterIoOptions,
  ErrorMapper,
  HttpAnswer,
  HttpClient,
  HttpClientOptions,
  HttpRequest,
  HttpTimeouts,
  JsonResponse,
} from './http-client.ts';
export { createHttpClient, malformed, NOT_SENT_CODES } from './http-client.ts';
export { asRecord, clip, header } from './json.ts';
export type { StatusVerdict } from './status-class.ts';
export { classifyStatus, errorClassOfStatus } from './status-class.ts';
