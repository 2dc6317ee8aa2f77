/**
 * Query parameters of the batch routes: the settings of a CSV/NDJSON upload (whose body holds only
 * items) and the listing parameters of `GET /v1/batches/:id/jobs`. Both refuse unknown parameters,
 * so a typo (`webhook_url`) is a 400 rather than silently ignored.
 */
import { JOB_STATES, type JobState } from '@genqueue/core';
import { z } from 'zod';
import { formatPath, type Issue, invalidRequest } from '../http-error.ts';
import { DEFAULT_PROVIDER, metadataSchema, webhookUrlSchema } from './request-checks.ts';

/** The per-job webhook events a batch may ask for; `batch.completed` is always sent with a webhook URL. */
export const BATCH_EVENTS = ['job.succeeded', 'job.failed'] as const;
/** A per-job webhook event a batch may ask for. */
export type BatchEvent = (typeof BATCH_EVENTS)[number];

/** Largest `limit` of a listing page. */
export const MAX_LIST_LIMIT = 1_000;
/** `limit` of a listing page when none is given. */
export const DEFAULT_LIST_LIMIT = 100;

/** Settings of a CSV/NDJSON upload, read from its query string. */
export interface UploadSettings {
  provider: string;
  operation: string;
  /** From `defaults=<JSON object>`. */
  defaults: Record<string, unknown>;
  /** From `set.<field>=<value>`, still text: typed by the operation's schema once it is known. */
  set: Record<string, string>;
  webhookUrl?: string;
  events?: BatchEvent[];
  maxPoints?: number;
  metadata?: Record<string, unknown>;
  skipInvalid: boolean;
}

type Query = Record<string, unknown>;

const SET_PREFIX = 'set.';

/** `true`/`false`/`1`/`0`, case-insensitive. */
export const booleanParam = z
  .string()
  .regex(/^(?:true|false|1|0)$/i, 'must be true, false, 1 or 0')
  .transform((v) => v === '1' || v.toLowerCase() === 'true');

const jsonObjectParam = (schema: z.ZodType<Record<string, unknown>>) =>
  z.string().transform((text, ctx) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: issue.path });
      return z.NEVER;
    }
    return parsed.data;
  });

/** `maxPoints`: a positive number of provider points. */
export const maxPointsSchema = z.number().positive().finite();

export const uploadQuerySchema = z
  .object({
    provider: z.string().min(1).max(64).default(DEFAULT_PROVIDER),
    operation: z.string().min(1).max(128),
    webhookUrl: webhookUrlSchema.optional(),
    // `events=job.succeeded,job.failed` (or the parameter repeated).
    events: z
      .string()
      .transform((v) => v.split(',').map((e) => e.trim()))
      .pipe(z.array(z.enum(BATCH_EVENTS)))
      .optional(),
    maxPoints: z
      .string()
      .regex(/^\d+(?:\.\d+)?$/, 'must be a positive number')
      .transform(Number)
      .pipe(maxPointsSchema)
      .optional(),
    skipInvalid: booleanParam.optional(),
    defaults: jsonObjectParam(z.record(z.unknown())).optional(),
    metadata: jsonObjectParam(metadataSchema).optional(),
  })
  .strict();

function issuesOf(error: z.ZodError): Issue[] {
  // An unknown parameter is reported at the root, which for a query string is `query`.
  return error.issues.map((issue) => ({
    path: issue.path.length ? formatPath(issue.path) : 'query',
    message: issue.message,
  }));
}

/** Joins a repeated parameter (`events=a&events=b`) and refuses repeats of any other. */
function singleValues(query: Query, joinable: readonly string[]): { values: Query; issues: Issue[] } {
  const values: Query = {};
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) {
      if (joinable.includes(key)) values[key] = value.join(',');
      else issues.push({ path: key, message: 'must be given once' });
    } else if (typeof value === 'string') {
      values[key] = value;
    } else {
      issues.push({ path: key, message: 'must be a plain query parameter' });
    }
  }
  return { values, issues };
}

/**
 * The settings of a CSV/NDJSON upload from its query string:
 * `provider`, `operation`, `webhookUrl`, `events` (comma list), `maxPoints`, `skipInvalid`,
 * `defaults=<JSON object>`, `metadata=<JSON object>` and any number of `set.<field>=<value>`
 * (a default for one input field; it wins over the same field in `defaults`).
 * Throws `400 invalid_request` listing every bad parameter.
 */
export function parseUploadQuery(query: Query): UploadSettings {
  const { values, issues } = singleValues(query, ['events']);
  const set: Record<string, string> = {};
  const rest: Query = {};
  for (const [key, value] of Object.entries(values)) {
    if (key.startsWith(SET_PREFIX)) {
      const field = key.slice(SET_PREFIX.length);
      if (field === '') issues.push({ path: key, message: 'names no field' });
      else set[field] = value as string;
    } else {
      rest[key] = value;
    }
  }
  const parsed = uploadQuerySchema.safeParse(rest);
  if (!parsed.success) issues.push(...issuesOf(parsed.error));
  if (issues.length > 0 || !parsed.success) throw invalidRequest(issues);
  const { defaults, skipInvalid, ...settings } = parsed.data;
  return { ...settings, defaults: defaults ?? {}, set, skipInvalid: skipInvalid ?? false };
}

/** The query string of a JSON batch body: only `skipInvalid` (everything else goes in the body). */
export function parseJsonBodyQuery(query: Query): { skipInvalid?: boolean } {
  const { values, issues } = singleValues(query, []);
  const parsed = z.object({ skipInvalid: booleanParam.optional() }).strict().safeParse(values);
  if (!parsed.success) issues.push(...issuesOf(parsed.error));
  if (issues.length > 0 || !parsed.success) {
    throw invalidRequest(
      issues.map((issue) =>
        issue.path === 'query'
          ? { ...issue, message: `${issue.message}; with a JSON body, settings go in the body` }
          : issue,
      ),
    );
  }
  return parsed.data;
}

/** Parameters of `GET /v1/batches/:id/jobs`. */
export interface ListQuery {
  /** Only jobs in these states; all jobs when undefined. */
  states?: ReadonlySet<JobState>;
  limit: number;
  /** Index of the first item to examine. */
  start: number;
}

export const listQuerySchema = z
  .object({
    // `state=failed` or `state=failed,canceled`.
    state: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()))
      .pipe(z.array(z.enum(JOB_STATES as unknown as [JobState, ...JobState[]])).min(1))
      .optional(),
    limit: z
      .string()
      .regex(/^\d{1,7}$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(1).max(MAX_LIST_LIMIT))
      .optional(),
    // The cursor is the index of the next item, as returned in `nextCursor`.
    cursor: z
      .string()
      .regex(/^\d{1,9}$/, 'must be a nextCursor from a previous page')
      .transform(Number)
      .optional(),
  })
  .strict();

/** Parses the listing query; throws `400 invalid_request` listing every bad parameter. */
export function parseListQuery(query: Query): ListQuery {
  const { values, issues } = singleValues(query, ['state']);
  const parsed = listQuerySchema.safeParse(values);
  if (!parsed.success) issues.push(...issuesOf(parsed.error));
  if (issues.length > 0 || !parsed.success) throw invalidRequest(issues);
  return {
    states: parsed.data.state ? new Set(parsed.data.state) : undefined,
    limit: parsed.data.limit ?? DEFAULT_LIST_LIMIT,
    start: parsed.data.cursor ?? 0,
  };
}
