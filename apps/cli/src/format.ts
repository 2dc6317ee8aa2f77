/**
 * Pure text formatting for the commands' output: API errors, rejected rows, job lines, sizes.
 */
import type { JobView } from '@genqueue/model';
import type { RejectedRow } from './client.ts';
import { type ApiConnectionError, type ApiIssue, ApiResponseError, CliError } from './errors.ts';

/** Rows listed before `… and N more`. */
export const MAX_LISTED_ROWS = 20;

/**
 * Lists rejected rows, one line per issue: `  row 3: input.prompt: Required`, or
 * `  row 3 (line 5): …` for uploads, where `line` is the line in the file sent.
 */
export function formatRejected(rows: readonly RejectedRow[], max = MAX_LISTED_ROWS): string[] {
  const lines: string[] = [];
  for (const row of rows.slice(0, max)) {
    const name = row.line === undefined ? `row ${row.row}` : `row ${row.row} (line ${row.line})`;
    if (row.issues.length === 0) lines.push(`  ${name}: rejected`);
    for (const issue of row.issues) lines.push(`  ${name}: ${issue.path}: ${issue.message}`);
  }
  if (rows.length > max) lines.push(`  … and ${rows.length - max} more rows`);
  return lines;
}

function formatIssues(issues: readonly ApiIssue[], message: string): string[] {
  // The API's message is its first issue; do not print it twice.
  const rest = issues.length === 1 && message === `${issues[0]!.path}: ${issues[0]!.message}` ? [] : issues;
  return rest.slice(0, MAX_LISTED_ROWS).map((i) => `  ${i.path}: ${i.message}`);
}

/** `rejected` rows from an error body's details, when the API listed them (a refused batch). */
function rejectedOf(error: ApiResponseError): RejectedRow[] {
  const rows = error.details.rejected;
  if (!Array.isArray(rows)) return [];
  return rows.filter(
    (r): r is RejectedRow =>
      typeof r === 'object' && r !== null && typeof (r as RejectedRow).row === 'number',
  );
}

/**
 * What the CLI prints for an error, without a stack: the API's message and issues, a hint to
 * start the API when nothing listens, the bare message otherwise.
 */
export function formatError(error: unknown): string {
  if (error instanceof ApiResponseError) {
    const lines = [`error: ${error.message} (HTTP ${error.status} ${error.code})`];
    // A refused batch lists its bad rows twice (as issues and as rows); the rows read better.
    const rejected = rejectedOf(error);
    if (rejected.length > 0) lines.push(...formatRejected(rejected));
    else lines.push(...formatIssues(error.issues, error.message));
    if (error.status === 401) lines.push('hint: set GENQUEUE_TOKEN (or --token) to one of the API_TOKENS');
    if (error.status === 403) {
      lines.push(
        'hint: this needs an admin token: set GENQUEUE_ADMIN_TOKEN (or --token) to one of the ADMIN_TOKENS',
      );
    }
    return lines.join('\n');
  }
  if (error instanceof CliError) {
    const lines = [`error: ${error.message}`];
    if ((error as ApiConnectionError).code === 'ECONNREFUSED') {
      lines.push(
        'hint: is the API running? start it with `npm run api` (or `npm start` for everything), or point GENQUEUE_URL / --url at it',
      );
    }
    return lines.join('\n');
  }
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}

/** One line of `jobs`: id, state, then the error (failed, canceled) or the output keys. */
export function formatJobLine(job: JobView): string {
  let detail = '';
  if (job.error) detail = `${job.error.code}: ${job.error.message}`;
  else if (job.outputs.length > 0) detail = job.outputs.map((o) => o.key).join(' ');
  return [job.id, job.state.padEnd(10), detail].join('  ').trimEnd();
}

/** Bytes for people: `512 B`, `1.5 KiB`, `20.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
