/**
 * Every metric genqueue exposes on `GET /metrics`: name, help, type, labels and (for histograms)
 * bucket bounds. Workers record the "remote" ones into Redis through `RedisMetrics`; the API reads
 * them back at scrape time (`MetricsCollector`) and adds the "live" ones it can read itself (queue
 * depth from BullMQ; per account its leases, limits, pause, points and balance from the limiter),
 * so one scrape of any API instance answers
 * for the whole deployment.
 *
 * Units are in the names (`_seconds`, `_bytes`), counters end in `_total` (Prometheus naming).
 */

/**
 * The `account` label of a gate denial that no single account answered for: no account the job
 * may use had room (not an account id: those match `[A-Za-z0-9_-]{1,32}`).
 */
export const ANY_ACCOUNT = '*';

/** Labels of one series, by label name. */
export type Labels = Readonly<Record<string, string>>;

/** A metric recorded by workers into Redis. */
export interface RemoteMetricSpec {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly labelNames: readonly string[];
  /** Upper bounds of the histogram buckets, ascending, in the metric's unit (+Inf is implied). */
  readonly buckets?: readonly number[];
}

/** A metric the API reads at scrape time. */
export interface LiveMetricSpec {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
}

/** How a submission attempt turned out (`aborted`: the worker's own shutdown ended the call). */
export type SubmissionOutcome = 'accepted' | 'rate_limited' | 'concurrency_limited' | 'failed' | 'aborted';

/**
 * Who said no: `gate` is genqueue's own limiter (pacing, the normal case); `provider` is the
 * provider's answer (a 429 or 100054 from the provider is a breach the gate should have prevented).
 */
export type SubmissionSource = 'gate' | 'provider';

/** The provider endpoints whose latency is measured. */
export type ProviderEndpoint = 'submit' | 'status';

/**
 * How one webhook delivery attempt turned out: `delivered` (2xx), `retry` (will be tried again),
 * `failed` (gave up after the last attempt), `gone` (410: the receiver asked us to stop).
 */
export type WebhookOutcome = 'delivered' | 'retry' | 'failed' | 'gone';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const GENERATION_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1800];
const RELEASE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

/** The metrics workers record into Redis, by key. */
export const REMOTE_METRICS = {
  submissions: {
    name: 'genqueue_submissions_total',
    help: 'Submission attempts by account and outcome; source=gate is the limiter pacing (account="*": no account the job may use had room), source=provider is the provider answer.',
    type: 'counter',
    labelNames: ['provider', 'account', 'outcome', 'source'],
  },
  providerRequestDuration: {
    name: 'genqueue_provider_request_duration_seconds',
    help: 'Latency of provider calls made by the processors, by account and endpoint (submit or status).',
    type: 'histogram',
    labelNames: ['provider', 'account', 'endpoint'],
    buckets: LATENCY_BUCKETS,
  },
  generationDuration: {
    name: 'genqueue_generation_duration_seconds',
    help: 'Time from the provider accepting a task to genqueue seeing it end (submittedAt to taskEndedAt), by account.',
    type: 'histogram',
    labelNames: ['provider', 'account'],
    buckets: GENERATION_BUCKETS,
  },
  slotReleaseDelay: {
    name: 'genqueue_slot_release_delay_seconds',
    help: 'Upper bound of the time between a task ending at the provider and genqueue freeing its slot (release time minus the previous status query), by account.',
    type: 'histogram',
    labelNames: ['provider', 'account'],
    buckets: RELEASE_BUCKETS,
  },
  runningAnswers: {
    name: 'genqueue_status_running_answers_total',
    help: 'Status answers that found a task still running, by account and whether they reported its progress (reported="true": the answer carried a progress reading, which the poller extrapolates once it has two that differ enough; "false": it schedules from past durations).',
    type: 'counter',
    labelNames: ['provider', 'account', 'reported'],
  },
  webhookDeliveries: {
    name: 'genqueue_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome.',
    type: 'counter',
    labelNames: ['outcome'],
  },
  sinkBytes: {
    name: 'genqueue_sink_bytes_total',
    help: 'Bytes of provider outputs stored in S3.',
    type: 'counter',
    labelNames: [],
  },
  sinkObjects: {
    name: 'genqueue_sink_objects_total',
    help: 'Provider outputs stored in S3.',
    type: 'counter',
    labelNames: [],
  },
  sinkErrors: {
    name: 'genqueue_sink_errors_total',
    help: 'Failed attempts to store an output, by whether the attempt will be retried.',
    type: 'counter',
    labelNames: ['retryable'],
  },
  reconcilerRepairs: {
    name: 'genqueue_reconciler_repairs_total',
    help: 'Live jobs the reconciler found with nothing scheduled to move them, by repair: submit, poll or sink re-scheduled, or deadline (failed: the provider kept the task alive past TASK_DEADLINE_MS).',
    type: 'counter',
    labelNames: ['repair'],
  },
} as const satisfies Record<string, RemoteMetricSpec>;

/** Key of a remote metric in {@link REMOTE_METRICS}. */
export type RemoteMetricKey = keyof typeof REMOTE_METRICS;

/**
 * The metrics the API reads live at scrape time: queue depth from BullMQ, and per account what its
 * pool keeps in Redis (`AccountPool.accountStates()`: leases, effective limits after runtime
 * changes, pause state, points and balance).
 */
export const LIVE_METRICS = {
  queueJobs: {
    name: 'genqueue_queue_jobs',
    help: 'BullMQ jobs per queue and state, read at scrape time.',
    type: 'gauge',
    labelNames: ['queue', 'state'],
  },
  tasksInFlight: {
    name: 'genqueue_provider_tasks_in_flight',
    help: 'Provider tasks in flight per account (live limiter leases), read at scrape time.',
    type: 'gauge',
    labelNames: ['provider', 'account'],
  },
  maxInFlight: {
    name: 'genqueue_provider_max_in_flight',
    help: 'The effective limit of provider tasks in flight per account (a runtime change, else the configured value).',
    type: 'gauge',
    labelNames: ['provider', 'account'],
  },
  submitQps: {
    name: 'genqueue_provider_submit_qps_limit',
    help: 'The effective limit of provider submissions per second per account (a runtime change, else the configured value).',
    type: 'gauge',
    labelNames: ['provider', 'account'],
  },
  accountPaused: {
    name: 'genqueue_provider_account_paused',
    help: 'Whether the account is paused (1) or not (0), by kind: account_error (an account error; probed and resumed by itself) or manual (an operator).',
    type: 'gauge',
    labelNames: ['provider', 'account', 'kind'],
  },
  allAccountsPaused: {
    name: 'genqueue_provider_all_accounts_paused',
    help: 'Whether every account of the provider is paused (1: its jobs wait) or not (0).',
    type: 'gauge',
    labelNames: ['provider'],
  },
  pointsSpent: {
    name: 'genqueue_provider_points_spent_total',
    help: 'Provider points spent by ended tasks per account, as the provider reported them (LiblibAI pointsCost).',
    type: 'counter',
    labelNames: ['provider', 'account'],
  },
  accountBalance: {
    name: 'genqueue_provider_account_balance',
    help: 'The account balance as last reported by one of its task statuses (LiblibAI accountBalance); absent until one did.',
    type: 'gauge',
    labelNames: ['provider', 'account'],
  },
} as const satisfies Record<string, LiveMetricSpec>;

/** The kinds of `genqueue_provider_account_paused`, each a series of its own per account (0 or 1). */
export const PAUSE_KINDS = ['account_error', 'manual'] as const;
