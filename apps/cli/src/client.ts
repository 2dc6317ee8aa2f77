/**
 * A small typed client of the genqueue API, for the CLI (and scripts that want the same calls).
 *
 * Every call goes through undici with an injectable dispatcher, so tests can point it at any
 * server without touching globals. Errors are typed (`ApiResponseError`, `ApiConnectionError`)
 * and their messages never contain the token.
 */
import type { Readable } from 'node:stream';
import type { AccountView, BatchView, JobState, JobView } from '@genqueue/model';
import type { ProviderListing } from '@genqueue/providers';
import { type Dispatcher, request } from 'undici';
import { ApiConnectionError, type ApiIssue, ApiResponseError, redactUrl } from './errors.ts';

/** Where the API listens when neither `GENQUEUE_URL` nor `--url` says otherwise. */
export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** Options of `GenqueueClient`. */
export interface GenqueueClientOptions {
  /** API origin, optionally with a path prefix, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** Bearer token for `/v1/*`. Sent only in the `authorization` header, never printed. */
  token?: string;
  /** undici dispatcher for every request (tests, proxies). Default: undici's global dispatcher. */
  dispatcher?: Dispatcher;
  /** Time without response headers before a request fails, in milliseconds. Default 30000. */
  headersTimeoutMs?: number;
}

/** A rejected batch row: `row` is its 1-based position among the rows sent. */
export interface RejectedRow {
  row: number;
  /** For CSV/NDJSON uploads (and `.txt` files): the 1-based line of the file. */
  line?: number;
  /** Problems relative to the row, e.g. `input.prompt`. */
  issues: ApiIssue[];
}

/** The answer to `POST /v1/batches`. */
export interface BatchCreated {
  id: string;
  /** Jobs accepted. */
  total: number;
  /** Rows refused (only with `skipInvalid`; without it one bad row refuses the batch). */
  rejected: RejectedRow[];
  [field: string]: unknown;
}

/** Settings of a batch that travel beside its rows (JSON fields, or query parameters of a CSV/NDJSON body). */
export interface BatchSettings {
  /** Provider name; the API defaults to `liblib`. */
  provider?: string;
  /** Operation, e.g. `kontext.text2img`. */
  operation: string;
  /** Input fields applied to every row (a row's own fields win). */
  defaults?: Record<string, unknown>;
  /** Where job/batch events are POSTed (Standard Webhooks). */
  webhookUrl?: string;
  /** Per-job events to send to `webhookUrl` (`job.succeeded`, `job.failed`); `batch.completed` is always sent. */
  events?: string[];
  /** Points budget (positive): the batch is canceled once it has spent this many. */
  maxPoints?: number;
  /** Accept the valid rows and report the others, instead of refusing the batch. */
  skipInvalid?: boolean;
}

/** A batch to submit: rows as JSON (`prompts` or `items`), or a CSV/NDJSON stream sent as is. */
export type BatchSubmission =
  | (BatchSettings & { kind: 'prompts'; prompts: string[] })
  | (BatchSettings & {
      kind: 'items';
      items: { input: Record<string, unknown>; metadata?: Record<string, unknown> }[];
    })
  | (BatchSettings & {
      kind: 'stream';
      /** `text/csv` or `application/x-ndjson`. */
      contentType: string;
      /** The file, streamed as the request body (never held in memory). */
      body: Readable;
    });

/** A change of one account (`PATCH /v1/accounts/:provider/:id`); `null` goes back to the configured limit. */
export interface AccountChange {
  submitQps?: number | null;
  maxInFlight?: number | null;
  /** `true` pauses the account until resumed; `false` resumes it. */
  paused?: boolean;
}

/** One page of `GET /v1/batches/:id/jobs`. */
export interface JobPage {
  items: JobView[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string | null;
}

/** Filters of `GET /v1/batches/:id/jobs`. */
export interface ListJobsOptions {
  state?: JobState;
  /** Page size (the API caps it). */
  limit?: number;
  cursor?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

/** A typed client of the genqueue API. */
export class GenqueueClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #headersTimeoutMs: number;

  constructor(options: GenqueueClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#dispatcher = options.dispatcher;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
  }

  /** `POST /v1/batches`. */
  async submitBatch(submission: BatchSubmission): Promise<BatchCreated> {
    let created: Partial<BatchCreated>;
    if (submission.kind === 'stream') {
      created = await this.#send('POST', '/v1/batches', {
        query: batchQuery(submission),
        body: submission.body,
        contentType: submission.contentType,
      });
    } else {
      const { kind, ...fields } = submission;
      created = await this.#send('POST', '/v1/batches', {
        body: JSON.stringify(fields),
        contentType: 'application/json',
      });
    }
    return {
      ...created,
      id: String(created.id),
      total: created.total ?? 0,
      rejected: created.rejected ?? [],
    };
  }

  /** `GET /v1/batches/:id`: counts, points, ETA. */
  getBatch(batchId: string): Promise<BatchView> {
    return this.#send('GET', `/v1/batches/${encodeURIComponent(batchId)}`);
  }

  /** `GET /v1/batches/:id/jobs`: one page of a batch's jobs. */
  listBatchJobs(batchId: string, options: ListJobsOptions = {}): Promise<JobPage> {
    return this.#send('GET', `/v1/batches/${encodeURIComponent(batchId)}/jobs`, {
      query: { state: options.state, limit: options.limit, cursor: options.cursor },
    });
  }

  /** Every job of a batch (optionally in one state), page after page. */
  async *batchJobs(batchId: string, options: Omit<ListJobsOptions, 'cursor'> = {}): AsyncGenerator<JobView> {
    let cursor: string | undefined;
    do {
      const page = await this.listBatchJobs(batchId, { ...options, cursor });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** `GET /v1/operations`: every enabled provider and operation, with its input's JSON Schema. */
  getOperations(): Promise<{ providers: ProviderListing[] }> {
    return this.#send('GET', '/v1/operations');
  }

  /** `GET /v1/accounts`: every provider account (needs an admin token). */
  getAccounts(): Promise<{ accounts: AccountView[] }> {
    return this.#send('GET', '/v1/accounts');
  }

  /** `PATCH /v1/accounts/:provider/:id`: changes an account's limits or pauses it (needs an admin token). */
  changeAccount(provider: string, id: string, change: AccountChange): Promise<AccountView> {
    return this.#send('PATCH', `/v1/accounts/${encodeURIComponent(provider)}/${encodeURIComponent(id)}`, {
      body: JSON.stringify(change),
      contentType: 'application/json',
    });
  }

  /** `GET /v1/jobs/:id`. */
  getJob(jobId: string): Promise<JobView> {
    return this.#send('GET', `/v1/jobs/${encodeURIComponent(jobId)}`);
  }

  /** `POST /v1/jobs`: one job. */
  submitJob(job: {
    provider?: string;
    operation: string;
    input: Record<string, unknown>;
    webhookUrl?: string;
    metadata?: Record<string, unknown>;
  }): Promise<{ id: string; state: JobState }> {
    return this.#send('POST', '/v1/jobs', { body: JSON.stringify(job), contentType: 'application/json' });
  }

  /**
   * `GET /v1/batches/:id/results.jsonl` (or `.csv`): the batch's result file, as a stream to be
   * read to its end (or destroyed).
   */
  async results(batchId: string, format: 'jsonl' | 'csv'): Promise<Readable> {
    const response = await this.#open('GET', `/v1/batches/${encodeURIComponent(batchId)}/results.${format}`);
    if (response.statusCode >= 400) {
      throw responseError(response.statusCode, await response.body.text(), this.#token);
    }
    return response.body;
  }

  /** `POST /v1/batches/:id/cancel`: cancels the batch's unfinished jobs. */
  cancelBatch(batchId: string): Promise<Record<string, unknown>> {
    return this.#send('POST', `/v1/batches/${encodeURIComponent(batchId)}/cancel`);
  }

  /** `POST /v1/batches/:id/retry`: queues the batch's failed jobs again. */
  retryBatch(batchId: string): Promise<Record<string, unknown>> {
    return this.#send('POST', `/v1/batches/${encodeURIComponent(batchId)}/retry`);
  }

  /**
   * GETs any URL (a stored output's public or presigned URL) through the same dispatcher, without
   * the API token: object storage must never see it.
   */
  async download(url: string): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, {
        method: 'GET',
        dispatcher: this.#dispatcher,
        headersTimeout: this.#headersTimeoutMs,
      });
    } catch (error) {
      throw connectionError(new URL(url).origin, error);
    }
  }

  async #send<T>(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    options: { query?: Query; body?: string | Readable; contentType?: string } = {},
  ): Promise<T> {
    const response = await this.#open(method, path, options);
    const text = await response.body.text();
    if (response.statusCode >= 400) throw responseError(response.statusCode, text, this.#token);
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw new ApiResponseError(
        response.statusCode,
        'invalid_response',
        'the API answered something that is not JSON',
      );
    }
  }

  async #open(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    options: { query?: Query; body?: string | Readable; contentType?: string } = {},
  ): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'genqueue-cli' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (options.contentType) headers['content-type'] = options.contentType;

    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        headers,
        body: options.body,
        dispatcher: this.#dispatcher,
        headersTimeout: this.#headersTimeoutMs,
      });
    } catch (error) {
      throw connectionError(redactUrl(this.baseUrl), error);
    }
    return response;
  }
}

/** The query parameters that carry a CSV/NDJSON batch's settings (the body holds only rows). */
export function batchQuery(settings: BatchSettings): Query {
  return {
    provider: settings.provider,
    operation: settings.operation,
    webhookUrl: settings.webhookUrl,
    events: settings.events?.join(','),
    maxPoints: settings.maxPoints,
    skipInvalid: settings.skipInvalid,
    defaults:
      settings.defaults && Object.keys(settings.defaults).length > 0
        ? JSON.stringify(settings.defaults)
        : undefined,
  };
}

function responseError(status: number, text: string, token: string | undefined): ApiResponseError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error !== 'object') {
    return new ApiResponseError(status, `http_${status}`, `the API answered HTTP ${status}`);
  }
  const { code, message, issues, ...details } = error;
  // The API never echoes tokens, but a proxy in between might: scrub it all the same.
  const scrub = (s: string) => (token ? s.split(token).join('[token]') : s);
  return new ApiResponseError(
    status,
    typeof code === 'string' ? code : `http_${status}`,
    scrub(typeof message === 'string' ? message : `the API answered HTTP ${status}`),
    Array.isArray(issues)
      ? issues.map((i: { path?: unknown; message?: unknown }) => ({
          path: scrub(String(i?.path ?? 'body')),
          message: scrub(String(i?.message ?? '')),
        }))
      : [],
    details,
  );
}

function socketCode(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown[] };
  if (typeof e.code === 'string' && e.code.startsWith('E') && !e.code.startsWith('ERR_')) return e.code;
  // Node's happy eyeballs rejects with an AggregateError of one error per address.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = socketCode(inner);
      if (code) return code;
    }
  }
  if (e.cause) return socketCode(e.cause);
  return typeof e.code === 'string' ? e.code : undefined;
}

function connectionError(origin: string, error: unknown): ApiConnectionError {
  const code = socketCode(error);
  const reason =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host not found'
        : code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
          ? 'timed out'
          : (code ?? (error instanceof Error ? error.message : 'network error'));
  return new ApiConnectionError(origin, code, `cannot reach ${origin} (${reason})`, { cause: error });
}
