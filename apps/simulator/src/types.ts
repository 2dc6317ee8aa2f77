/**
 * Shared types of the provider simulator.
 *
 * Glossary:
 * - **mode**: which provider's wire format the simulator speaks (`liblib` is LiblibAI 002).
 * - **submission**: a request to a generation endpoint; **accepted** when it created a task.
 * - **breach**: a submission the account's limits rejected (QPS → 429, in flight → 100054). A
 *   well-behaved client keeps both counters at zero.
 * - **in flight**: a task from its acceptance until it ends at `endsAt` by the clock, whether or not
 *   anyone polled it (002 §2.3).
 * - **fault**: a scripted or random misbehaviour (5xx, reset, hang, ...) used by chaos tests.
 */
import type { ProviderName } from '@genqueue/providers';

/** The wire formats the simulator speaks: one per provider of the catalog (each from `modes/<name>.mode.ts`, see `modes/registry.ts`). */
export type SimulatorMode = ProviderName;

/** Kinds of injectable faults. */
export type FaultKind =
  | '5xx'
  | 'malformed-json'
  | 'hang'
  | 'accept-hang'
  | 'reset'
  | 'rate-limit'
  | 'concurrency-limit'
  | 'status-backwards'
  | 'image-404'
  | 'slow-image';

/** Which requests a fault applies to. `upload` covers the upload-signature call and the OSS POST. */
export type FaultEndpoint = 'submit' | 'status' | 'image' | 'upload' | 'any';

/**
 * A scripted fault, consumed by the next matching request(s).
 * - `5xx`: HTTP 500/502/503 (rotating) with a small non-JSON body.
 * - `malformed-json`: HTTP 200 with a truncated JSON body.
 * - `hang`: never answers; the socket stays open until the client gives up (closed on `close()`).
 * - `reset`: destroys the socket before answering, before any task is created.
 * - `accept-hang`: (LiblibAI mode) creates the task, then holds the answer: never sent, or sent
 *   after `delayMs`. The client cannot know the task exists (the crash window of a submission).
 * - `rate-limit` / `concurrency-limit`: answers the mode's 429 / 100054 in `form` (default: the
 *   mode's usual form); submissions only.
 * - `status-backwards`: answers an earlier status than the task's current one, once per count.
 * - `image-404`: the image answers 404, then 200 on later requests.
 * - `slow-image`: streams the image over `delayMs` (default 2000 ms).
 */
export interface Fault {
  kind: FaultKind;
  /** Default: `submit` for the limit kinds, `status` for `status-backwards`, `image` for the image kinds, else `any`. */
  endpoint?: FaultEndpoint;
  /** How many requests it affects. Default 1. */
  count?: number;
  /** For the limit kinds: HTTP status or HTTP 200 with the code in the body. */
  form?: 'http' | 'body';
  /** For the limit kinds (LiblibAI mode): a `Retry-After` header to send with the refusal, as given. */
  retryAfter?: string;
  /**
   * For `slow-image`: how long streaming takes, in ms. For `accept-hang`: when the held answer is
   * finally sent (default never). For `hang`: ignored (hangs until the client leaves).
   */
  delayMs?: number;
}

/**
 * One provider account the simulator serves: its own keys, its own limits (002 §2.3 sets them per
 * account) and its own tasks. Without `accounts`, the top-level keys and limits are one account,
 * `default`.
 */
export interface SimAccount {
  /** Name used in stats. */
  id: string;
  /** LiblibAI AccessKey. Default `<id>-access-key`. */
  accessKey?: string;
  /** LiblibAI SecretKey. Default `<id>-secret-key`. */
  secretKey?: string;
  /** Bearer token (other modes). Default `<id>-token`. */
  token?: string;
  /** Default: the top-level `submitQps`. */
  submitQps?: number;
  /** Default: the top-level `maxInFlight`. */
  maxInFlight?: number;
  /**
   * Answer every submission with the mode's account error, creating no task (LiblibAI: 100021,
   * not enough points). Switch it at runtime with `configureAccount`. Default false.
   */
  accountError?: boolean;
}

/** An account with every default filled in. */
export type ResolvedSimAccount = Required<SimAccount>;

/**
 * One submission that passed an account's auth, as the account saw it: `accepted` (a task),
 * refused for its limits (`qps`, `in-flight`) or with the account error (`account-error`).
 * Submissions refused for their body (invalid parameters, too few points for the cost) are not
 * listed.
 */
export interface SimSubmission {
  /** Arrival time, epoch ms. */
  at: number;
  outcome: 'accepted' | 'qps' | 'in-flight' | 'account-error';
}

/** Per-account counters in `SimulatorStats.accounts`. */
export interface SimAccountStats {
  /** Submissions that passed this account's auth. */
  submissions: number;
  accepted: number;
  qpsBreaches: number;
  inFlightBreaches: number;
  /** Submissions answered with the account error. */
  accountErrors: number;
  /**
   * Upload signatures granted to this account (LiblibAI mode). The uploaded file is public at its
   * URL: any account's submission may name it.
   */
  uploads: number;
  inFlight: number;
  maxInFlightObserved: number;
  /** Every submission since the last reset, in arrival order (see `SimSubmission`). */
  log: SimSubmission[];
}

/** Options of `startSimulator`. Every field can be changed at runtime with `configure()` except host/port/mode/now/seed. */
export interface SimulatorOptions {
  /** Wire format. Default `liblib`. */
  mode?: SimulatorMode;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
  /** LiblibAI AccessKey the simulator accepts. Default `sim-access-key`. */
  accessKey?: string;
  /** LiblibAI SecretKey used to verify signatures. Default `sim-secret-key`. */
  secretKey?: string;
  /** Bearer token for the other modes. Default `sim-token`. */
  token?: string;
  /** Accepted submissions per second the account allows (strict sliding 1 s window). Default 1 (002 §2.3). */
  submitQps?: number;
  /** Tasks in progress the account allows. Default 5 (002 §2.3). */
  maxInFlight?: number;
  /**
   * Several accounts, each with its own keys and limits; a task is visible only to the account
   * that created it. Default: one account `default` from the top-level keys and limits.
   */
  accounts?: SimAccount[];
  /** Generation time per task in ms, uniform in [min, max]. Default {min: 1000, max: 3000}. */
  latencyMs?: { min: number; max: number };
  /** Share of tasks that end failed (LiblibAI status 6 with a generateMsg). Default 0. */
  failureRate?: number;
  /** Share of tasks that end succeeded (5) with every image blocked by review (empty images). Default 0. */
  reviewBlockRate?: number;
  /** Share of tasks that end timed out (LiblibAI status 7). Default 0. */
  timeoutRate?: number;
  /**
   * How limit breaches are answered. `http`: HTTP 429 for both (body code 429 / 100054);
   * `body`: HTTP 200 with `{code: 429 | 100054}`; `auto` (default): 429 as HTTP, 100054 in the body.
   */
  limitErrorForm?: 'http' | 'body' | 'auto';
  /** Size of generated images in pixels. Default 64x64. */
  imageSize?: { width: number; height: number };
  /** Extra bytes in a private ancillary PNG chunk (`paDd`), for large-result benchmarks. Default 0. */
  outputPadBytes?: number;
  /** Random faults: probability per matching request, by kind. Default none. */
  faultRates?: Partial<Record<FaultKind, number>>;
  /** Spelling of the upload-signature answer: `camel` (`xOssDate`, numeric `xOssExpires`) or `lower` (`xossDate`, string `xossExpires`). Default `camel`. */
  uploadSpelling?: 'camel' | 'lower';
  /** Replicate mode: answer predictions (`prediction`) or spec 003's OpenAI-style example (`openai`). Default `prediction`. */
  replicateAnswerStyle?: 'prediction' | 'openai';
  /**
   * Replicate mode: where predictions are read and canceled. `replicate`: Replicate's own
   * `[/replicate]/v1/predictions/{id}[/cancel]`; `proxy`: a proxy of its own,
   * `/proxy-api/tasks/{id}[/cancel]`, named only by each prediction's `urls.get` / `urls.cancel`
   * (Replicate's paths then answer 404). Default `replicate`.
   */
  replicatePredictionPaths?: 'replicate' | 'proxy';
  /** Share of status answers that omit `percentCompleted` (the manual says it is often unfilled). Default 0.3. */
  percentMissingRate?: number;
  /**
   * LiblibAI mode: share of tasks whose approved outputs leave `auditStatus` out (002 §3.2 lists
   * only approved images). Default 0.3.
   */
  auditStatusMissingRate?: number;
  /**
   * LiblibAI mode: share of review-blocked tasks whose answer lists the blocked outputs with
   * `auditStatus` 4 or 5 instead of leaving them out. Default 0.5.
   */
  reviewBlockedListedRate?: number;
  /**
   * LiblibAI mode: whether `/api/generate/webui/text2img` (custom models and Qwen-Image) refuses a
   * submission without a prompt (100000). 002 disagrees with itself: the tables (§4.2.1, §11.1.2)
   * mark `prompt` 是 (required), the examples on that path (§4.1.3.1, §4.4.2, §11.1.2) 选填
   * (optional). Default false (the examples' reading); true simulates a server that follows the
   * tables.
   */
  customPromptRequired?: boolean;
  /** Share of tasks that pass through statuses 3 (generated) and 4 (under review) before ending. Default 0.5. */
  reviewPhaseRate?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Seed of all randomness (ids, outcomes, latencies, pixels). Default: random per instance. */
  seed?: number;
}

/** Options with every default filled in. */
export type ResolvedSimulatorOptions = Required<SimulatorOptions>;

/** Counters; reset with `resetStats()` (except the live `inFlight`). */
export interface SimulatorStats {
  /** Submission requests that passed auth (and were not consumed by a transport fault). */
  submissions: number;
  /** Tasks created. */
  accepted: number;
  /** Submissions rejected for QPS (429). Injected rate-limit faults are not counted here. */
  qpsBreaches: number;
  /** Submissions rejected for concurrency (100054). Injected faults are not counted here. */
  inFlightBreaches: number;
  /** Requests rejected for a bad signature, key, timestamp, nonce or token. */
  authFailures: number;
  /** Tasks in progress now. */
  inFlight: number;
  /** Highest `inFlight` seen since the last reset. */
  maxInFlightObserved: number;
  /** Status requests that passed auth. */
  statusQueries: number;
  /** Most status requests (that passed auth) within any 1 s window since the last reset. */
  peakStatusQps: number;
  /** Extra acceptances of a prompt already accepted (0 when each prompt was accepted once). */
  duplicatePrompts: number;
  /** Accepted tasks per prompt. */
  submissionsByPrompt: Record<string, number>;
  /** Faults that happened (scripted or random), by kind. */
  faultsInjected: Record<string, number>;
  /** The same counters per account (the totals above add them up). */
  accounts: Record<string, SimAccountStats>;
}

/** A task as the simulator sees it. */
export interface SimTask {
  /** Provider task id (LiblibAI `generateUuid`). */
  id: string;
  /** The account that created it. */
  account: string;
  prompt?: string;
  /** Operation, e.g. the LiblibAI path `/api/generate/kontext/text2img`. */
  operation: string;
  /** Acceptance time, epoch ms. */
  createdAt: number;
  /** When the task ends by the clock, epoch ms. */
  endsAt: number;
  /** Set once the clock passed `endsAt` (equal to `endsAt`), or when canceled. */
  endedAt?: number;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'timeout' | 'canceled';
  /** Outputs served once the task succeeded (empty when review blocked every image). */
  images: { url: string; seed: number }[];
  /** True when the task ends succeeded with every image blocked by review. */
  reviewBlocked?: boolean;
  /** Status requests for this task. */
  statusQueries: number;
  /** When a status request first saw the task ended, epoch ms. */
  firstTerminalQueryAt?: number;
}

/** A running simulator. */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  readonly url: string;
  /** Live options (reflects `configure()`). */
  readonly options: ResolvedSimulatorOptions;
  /** The credentials it accepts (live), by the provider's credential field names: `{ accessKey, secretKey }`, `{ apiToken }`, ... */
  readonly credentials: Readonly<Record<string, string>>;
  stats(): SimulatorStats;
  tasks(): SimTask[];
  /** The exact bytes served at an image, video or uploaded-file URL, or undefined when none is served there. */
  imageBytes(url: string): Buffer | undefined;
  /** Changes options at runtime (not host/port/mode/now/seed). */
  configure(patch: Partial<SimulatorOptions>): void;
  /** Changes one account at runtime (e.g. `{ accountError: true }`); throws for an unknown id. */
  configureAccount(id: string, patch: Partial<Omit<SimAccount, 'id'>>): void;
  /** Queues a scripted fault. */
  inject(fault: Fault): void;
  /** Zeroes the counters; tasks and in-flight state stay. */
  resetStats(): void;
  /** Closes the server and every open socket, hung ones included. */
  close(): Promise<void>;
}
