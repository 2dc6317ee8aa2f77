/**
 * When to ask the provider again about a running task.
 *
 * A finished task's slot is lost throughput until the poller notices it ended, and every status
 * query costs the provider a request. Where genqueue has seen enough tasks of the same provider,
 * operation and request size end ({@link TaskDurations}), it knows when this one is likely to end:
 * it polls sparsely (at most every `maxMs`) until the window where most of those tasks ended, then
 * spreads `windowQueries` queries over that window at equal probability (dense where many ended,
 * sparse where few did, never closer than `denseMs`). Without that history, and once a task
 * outlives the window, it falls back to {@link ageBasedDelay}.
 *
 * Where the provider reports progress (LiblibAI `percentCompleted`, on some endpoints), two
 * readings of the same task tell its own end better than any history: {@link progressWindow}
 * extrapolates them to the span where it will end, and {@link progressDelay} waits for that span,
 * reading again halfway while it is wide. The history and age schedules take over whenever there
 * are no two readings or the task outlives the span, so a wrong or frozen progress costs queries,
 * never a missed end: every schedule still polls at least every `maxMs`.
 */

/** Settings of the schedule, in ms except `windowQueries`. */
export interface PollSchedule {
  /** Shortest interval of the age-based schedule (`POLL_MIN_INTERVAL_MS`, default 250). */
  minMs: number;
  /** Longest interval of every schedule (`POLL_MAX_INTERVAL_MS`, default 1000). */
  maxMs: number;
  /** Shortest interval of the learned schedule, around the likely end (`POLL_DENSE_INTERVAL_MS`, default 50). */
  denseMs: number;
  /** Status queries spread over the window where tasks end (`POLL_WINDOW_QUERIES`, default 24). */
  windowQueries: number;
  /** Shortest interval inside that window, when wider than `denseMs` ({@link windowSpacing}). */
  windowMinMs?: number;
}

/**
 * The closest two queries of one task inside the learned window may be: `POLL_DENSE_INTERVAL_MS`,
 * or wider where the account's status query cap could not serve every task it may have in flight
 * that often. The window spans seconds, so all of them can be in theirs at once (tasks submitted
 * together), and a query the cap refuses waits for room, which costs more than the spacing saves:
 * 5 tasks every 50 ms ask 100 times a second, twice the default cap, so they are spread to 100 ms.
 * (A progress window usually holds one to three queries of a task, and a value that stops
 * changing ages out of it, so it keeps `denseMs`.)
 */
export function windowSpacing(denseMs: number, maxInFlight: number, capPerSecond?: number): number {
  return capPerSecond === undefined
    ? denseMs
    : Math.max(denseMs, Math.ceil((1_000 * maxInFlight) / capPerSecond));
}

/** Durations needed before the learned schedule replaces the age-based one. */
export const MIN_SAMPLES = 8;
/** The likely window runs between these quantiles of the durations seen. */
export const WINDOW_QUANTILES = [0.01, 0.99] as const;

/**
 * The schedule without history: every `minMs` while the task is young, then 5 % of its age up to
 * `maxMs`, so a 30-minute task costs a few thousand cheap queries at most and a finished task is
 * still noticed within `maxMs`. The status endpoint has no QPS limit of its own (002 §2.3).
 */
export function ageBasedDelay(elapsedMs: number, minMs: number, maxMs: number): number {
  return Math.round(Math.min(maxMs, Math.max(minMs, elapsedMs * 0.05)));
}

/**
 * The wait before the next status query of a task `elapsedMs` after its submission, given the
 * durations (submission → end, ms, sorted ascending) of earlier tasks of its kind and, where the
 * provider reports it, the task's first and latest progress readings.
 */
export function nextPollDelay(
  elapsedMs: number,
  schedule: PollSchedule,
  durations: readonly number[] = [],
  progress?: { first: ProgressReading; latest: ProgressReading },
): number {
  const window = progress && progressWindow(progress.first, progress.latest);
  return (
    (window && progressDelay(elapsedMs, schedule, window)) ?? historyDelay(elapsedMs, schedule, durations)
  );
}

/** The schedule learned from the durations of the task's kind, or the age-based one without them. */
function historyDelay(elapsedMs: number, schedule: PollSchedule, durations: readonly number[]): number {
  const { minMs, maxMs, windowQueries } = schedule;
  const denseMs = Math.max(schedule.denseMs, schedule.windowMinMs ?? 0);
  if (durations.length < MIN_SAMPLES) return ageBasedDelay(elapsedMs, minMs, maxMs);
  const [lowQ, highQ] = WINDOW_QUANTILES;
  // n durations leave about 2 ÷ (n + 1) of all tasks ending outside their range (the expected
  // share beyond the extreme order statistics), which a short history makes a tenth or more: the
  // window reaches one mean gap between samples beyond the quantiles on either side.
  const gap = (durations[durations.length - 1]! - durations[0]!) / (durations.length - 1);
  const start = quantile(durations, lowQ) - gap;
  const end = quantile(durations, highQ) + gap;
  if (elapsedMs >= end) return ageBasedDelay(elapsedMs, minMs, maxMs);
  const clamp = (ms: number) => Math.round(Math.min(maxMs, Math.max(denseMs, ms)));
  // Far from the likely end: land the next query where the window begins.
  if (elapsedMs < start) return clamp(start - elapsedMs);
  // The density of ends around now, measured over enough of the probability to hold several
  // samples, so the gaps between individual samples do not make the spacing jitter.
  const span = Math.max(DENSITY_SPAN, DENSITY_SAMPLES / durations.length);
  const at = cdf(durations, elapsedMs);
  const from = Math.max(lowQ, at - span);
  const to = Math.min(highQ, at + span);
  const msPerProbability = (quantile(durations, to) - quantile(durations, from)) / (to - from);
  return clamp((msPerProbability * (highQ - lowQ)) / Math.max(1, windowQueries));
}

/** Half the probability span over which the density of ends is measured... */
const DENSITY_SPAN = 0.125;
/** ...or wider, to hold at least this many samples on either side. */
const DENSITY_SAMPLES = 4;

/** The q-quantile (0..1) of sorted `values`, by linear interpolation. */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The inverse of {@link quantile}: the share of sorted `values` at or below `x`, interpolated. */
export function cdf(sorted: readonly number[], x: number): number {
  const n = sorted.length;
  if (x <= sorted[0]!) return 0;
  if (x >= sorted[n - 1]!) return 1;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const span = sorted[hi]! - sorted[lo]!;
  return (lo + (span === 0 ? 0 : (x - sorted[lo]!) / span)) / (n - 1);
}

/** One progress report of a task: `progress` in (0, 1] answered `atMs` after its submission. */
export interface ProgressReading {
  atMs: number;
  progress: number;
}

/**
 * The smallest step a provider reports progress in. LiblibAI answers floats with two decimals, so
 * each reading is off by up to half of it.
 */
export const PROGRESS_RESOLUTION = 0.01;

/**
 * The span (ms after submission) in which a task progressing at a steady rate ends, from its
 * first and latest readings: the latest plus what is left at the fastest and the slowest rate the
 * two rounded readings allow. Undefined while the readings are too close to tell a rate.
 */
export function progressWindow(
  first: ProgressReading,
  latest: ProgressReading,
): { fromMs: number; toMs: number } | undefined {
  const elapsed = latest.atMs - first.atMs;
  const advanced = latest.progress - first.progress;
  // At one step the slowest rate the rounding allows is zero; two or less leave the span too wide
  // to be of use. (A millionth of a step absorbs the float error of subtracting two-decimal values.)
  if (elapsed <= 0 || advanced <= 2 * PROGRESS_RESOLUTION + 1e-6) return undefined;
  const slowest = (advanced - PROGRESS_RESOLUTION) / elapsed;
  const fastest = (advanced + PROGRESS_RESOLUTION) / elapsed;
  const left = 1 - latest.progress;
  return {
    fromMs: latest.atMs + Math.max(0, left - PROGRESS_RESOLUTION / 2) / fastest,
    toMs: latest.atMs + (left + PROGRESS_RESOLUTION / 2) / slowest,
  };
}

/**
 * The wait before the next status query of a task `elapsedMs` after its submission that should
 * end within `window` ({@link progressWindow}); undefined once it outlived the window, when the
 * other schedules take over. Before the window it waits for its start, or reads halfway there
 * while the window is wide (a reading nearer the end narrows it, as the rate's error applies to
 * less time left); inside it, it asks every `denseMs`.
 */
export function progressDelay(
  elapsedMs: number,
  schedule: PollSchedule,
  window: { fromMs: number; toMs: number },
): number | undefined {
  const { maxMs, denseMs } = schedule;
  if (elapsedMs >= window.toMs) return undefined;
  const clamp = (ms: number) => Math.round(Math.min(maxMs, Math.max(denseMs, ms)));
  const wait = window.fromMs - elapsedMs;
  if (wait <= 0) return clamp(denseMs);
  const wide = window.toMs - window.fromMs > 2 * denseMs;
  return clamp(wide && wait > 4 * denseMs ? wait / 2 : wait);
}
