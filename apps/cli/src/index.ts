/** `@genqueue/cli`: the typed API client and the CLI's pure parts, for scripts and tests. */
export type {
  BatchCreated,
  BatchSettings,
  BatchSubmission,
  GenqueueClientOptions,
  JobPage,
  ListJobsOptions,
  RejectedRow,
} from './client.ts';
export { batchQuery, DEFAULT_API_URL, GenqueueClient } from './client.ts';
export type { CliContext, GlobalOptions, Output } from './context.ts';
export type { DownloadBatchOptions, DownloadItem, DownloadResult, DownloadSummary } from './download.ts';
export { downloadBatch } from './download.ts';
export type { ApiIssue } from './errors.ts';
export {
  ApiConnectionError,
  ApiResponseError,
  CliError,
  EXIT_FAILURE,
  EXIT_USAGE,
  redactUrl,
} from './errors.ts';
export { parseSet, parseSetValue } from './parse-set.ts';
export { CLI_VERSION, createProgram, runCli } from './program.ts';
export type { ProgressCounts, ProgressOptions } from './progress.ts';
export { formatDuration, formatOutcome, formatProgress, formatStatus, progressCounts } from './progress.ts';
export type { WaitOptions } from './wait.ts';
export { waitForBatch } from './wait.ts';
