/**
 * The contract between the simulator's framework and its modes: what a mode gets (`ModeContext`),
 * what it sees of a request (`SimRequest`), and how it answers an error (`Reply`). Modes import
 * this file, never `simulator.ts`, so the framework and the modes do not import each other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimAccounts } from './accounts.ts';
import type { FaultInjector } from './faults.ts';
import type { Random } from './internal/random.ts';
import type { LimitVerdict } from './limits.ts';
import type { StatsCounters } from './stats.ts';
import type { CreateTaskInput, TaskRecord, TaskStore } from './tasks.ts';
import type { ResolvedSimAccount, ResolvedSimulatorOptions } from './types.ts';

/** A request as modes see it. */
export interface SimRequest {
  method: string;
  /** URL path without the query string. */
  path: string;
  query: URLSearchParams;
  raw: IncomingMessage;
  /** The body (read once, cached); rejects with `BodyTooLargeError` over 12 MB. */
  body(): Promise<Buffer>;
  /** The body parsed as JSON; `undefined` when it is not valid JSON. */
  json(): Promise<unknown>;
  /**
   * When the request arrived (its headers were parsed), by the simulator's clock. The QPS window
   * counts from here, as a provider's gateway counts a request when it reaches it: reading the
   * body happens later and, on a busy machine, may take tens of milliseconds.
   */
  arrivedAt: number;
  /** The account whose credentials the request carried; set by the mode's auth check. */
  account?: ResolvedSimAccount;
}

/** A file stored by an upload, served by the simulator at its path. */
export interface StoredFile {
  bytes: Buffer;
  contentType: string;
}

/** What a mode gets from the framework. */
export interface ModeContext {
  /** Live options. */
  readonly options: ResolvedSimulatorOptions;
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  readonly url: string;
  now(): number;
  readonly random: Random;
  /** Counters; modes increment `authFailures` themselves and count status requests with `statusQuery`. */
  readonly counters: StatsCounters;
  readonly tasks: TaskStore;
  readonly faults: FaultInjector;
  readonly accounts: SimAccounts;
  /** Uploaded files by URL path (e.g. `/oss/bucket/key.png`); served on GET by the framework. */
  readonly files: Map<string, StoredFile>;
  /**
   * Counts a submission that passed auth and checks its account's limits (QPS, then in flight),
   * counting a breach when refused. Call it once per submission, then `accept` if the request is
   * otherwise valid.
   */
  admit(req: SimRequest): LimitVerdict;
  /**
   * Whether the request's account is set to answer every submission with an account error; counts
   * it when so. Call it after `admit`.
   */
  accountError(req: SimRequest): boolean;
  /** Creates the task of an admitted submission for its account; records acceptance, prompt and in-flight stats. */
  accept(input: CreateTaskInput, req: SimRequest): TaskRecord;
  /** A task by id, only when the request's account created it: task ids belong to one account. */
  taskOf(req: SimRequest, id: string): TaskRecord | undefined;
  /** Checks `Authorization: Bearer <token>` against the accounts (sets `req.account`); counts an auth failure when wrong. */
  checkBearer(req: SimRequest): boolean;
  /** Counts a status request that passed auth (`statusQueries`, `peakStatusQps`). */
  statusQuery(): void;
}

/**
 * A mode: answers the requests of one provider's wire format. A handler may throw a `Reply` to
 * answer with it (the framework sends it); anything else thrown is a simulator bug (500).
 */
export interface SimMode {
  /** Answers `req` and returns true, or returns false for a path the mode does not know (→ 404). */
  handle(req: SimRequest, res: ServerResponse): Promise<boolean>;
}

/** Builds a mode for one simulator. */
export type ModeFactory = (ctx: ModeContext) => SimMode;

/**
 * The one answer type of every mode: an HTTP status and a JSON body in the provider's own error
 * format (LiblibAI's envelope, Replicate's problem detail, OpenAI's `error`), plus headers.
 * Each mode names its format with a small subclass; the framework sends any of them the same way.
 */
export class Reply extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`HTTP ${status}`);
    this.name = 'Reply';
  }
}

/** `Retry-After: 1` on a 429, as the simulated providers send it. */
export function retryAfterHeader(status: number): Record<string, string> {
  return status === 429 ? { 'retry-after': '1' } : {};
}

/**
 * What each `modes/<provider name>.mode.ts` exports as `mode`: how to build the mode, and which
 * credentials it accepts (typed per provider with `satisfies ModeEntry<CredentialsOf<'<name>'>>`).
 */
export interface ModeEntry<Credentials = Readonly<Record<string, string>>> {
  create: ModeFactory;
  /** The credentials the simulator accepts, by the provider's credential field names. */
  credentials(options: ResolvedSimulatorOptions): Credentials;
}
