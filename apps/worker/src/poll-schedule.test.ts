import { describe, expect, it } from 'vitest';
import {
  ageBasedDelay,
  cdf,
  MIN_SAMPLES,
  nextPollDelay,
  type PollSchedule,
  PROGRESS_RESOLUTION,
  type ProgressReading,
  progressDelay,
  progressWindow,
  quantile,
  windowSpacing,
} from './poll-schedule.ts';

const SCHEDULE: PollSchedule = { minMs: 250, maxMs: 1_000, denseMs: 50, windowQueries: 24 };

/** A seeded generator (mulberry32), so the simulated runs are the same every time. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uniform = (rng: () => number, min: number, max: number) => min + rng() * (max - min);
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

/**
 * Polls `tasks` simulated tasks (durations from `draw`) with `delayOf(elapsed)` on a manual clock:
 * the first query one delay after submission, like the poller. Answers the queries per task and
 * the delays between each task's end and the query that saw it.
 */
function simulate(tasks: number, draw: () => number, delayOf: (elapsedMs: number) => number) {
  const queries: number[] = [];
  const late: number[] = [];
  for (let i = 0; i < tasks; i++) {
    const duration = draw();
    let clock = 0; // ms since submission
    let count = 0;
    for (;;) {
      clock += delayOf(clock);
      count++;
      if (clock >= duration) break;
    }
    queries.push(count);
    late.push(clock - duration);
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return { queriesPerTask: mean(queries), p95: quantile(sorted(late), 0.95), mean: mean(late) };
}

describe('ageBasedDelay (no history)', () => {
  it.each([
    [0, 250],
    [4_000, 250],
    [10_000, 500],
    [20_000, 1_000],
    [30 * 60_000, 1_000],
  ])('a task %i ms old is polled again after %i ms', (elapsed, delay) => {
    expect(ageBasedDelay(elapsed, 250, 1_000)).toBe(delay);
  });
});

/** The mean gap between sorted durations, by which the window reaches beyond the quantiles. */
const gapOf = (durations: readonly number[]) =>
  (durations[durations.length - 1]! - durations[0]!) / (durations.length - 1);

describe('nextPollDelay', () => {
  const history = Array.from({ length: 64 }, (_, i) => 3_000 + (2_000 * i) / 63); // 3–5 s, evenly

  it('starts from the age-based schedule while a kind has fewer than MIN_SAMPLES durations', () => {
    for (const elapsed of [0, 2_000, 4_000, 30_000]) {
      expect(nextPollDelay(elapsed, SCHEDULE, history.slice(0, MIN_SAMPLES - 1))).toBe(
        ageBasedDelay(elapsed, 250, 1_000),
      );
    }
  });

  it('is sparse far from the likely end and lands the first dense query where the window begins', () => {
    const start = quantile(history, 0.01) - gapOf(history);
    expect(nextPollDelay(0, SCHEDULE, history)).toBe(1_000); // the hard maximum
    expect(nextPollDelay(2_500, SCHEDULE, history)).toBe(Math.round(start - 2_500));
    expect(nextPollDelay(start - 10, SCHEDULE, history)).toBe(50); // never below the dense minimum
  });

  it('spreads windowQueries queries over the window at equal probability', () => {
    // 3–5 s evenly: 98 % of 2 s over 24 queries is about 82 ms.
    for (const elapsed of [3_100, 4_000, 4_800]) {
      expect(nextPollDelay(elapsed, SCHEDULE, history)).toBeCloseTo((0.98 * 2_000) / 24, -1);
    }
    // Two clusters: dense inside each, one long step across the gap between them.
    const bimodal = sorted([
      ...Array.from({ length: 32 }, (_, i) => 2_000 + i * 3),
      ...Array.from({ length: 32 }, (_, i) => 8_000 + i * 3),
    ]);
    expect(nextPollDelay(2_040, SCHEDULE, bimodal)).toBe(50);
    expect(nextPollDelay(2_095, SCHEDULE, bimodal)).toBeGreaterThan(900); // the gap between them
    expect(nextPollDelay(8_040, SCHEDULE, bimodal)).toBe(50);
  });

  it('falls back to the age-based schedule once a task outlives the window', () => {
    const end = quantile(history, 0.99) + gapOf(history);
    expect(nextPollDelay(end - 1, SCHEDULE, history)).toBeLessThan(100);
    expect(nextPollDelay(end + 1, SCHEDULE, history)).toBe(ageBasedDelay(end + 1, 250, 1_000));
    expect(nextPollDelay(60_000, SCHEDULE, history)).toBe(1_000);
  });

  it('keeps within the hard minimum and maximum for any history and age', () => {
    const rng = random(7);
    for (let run = 0; run < 200; run++) {
      const durations = sorted(Array.from({ length: 8 + Math.floor(rng() * 56) }, () => rng() * 60_000));
      const delay = nextPollDelay(rng() * 70_000, SCHEDULE, durations);
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(1_000);
    }
  });

  it('on 3–5 s tasks, notices ends within 0.1 s (p95) for about the queries of the age-based schedule', () => {
    const rng = random(1);
    const learned = sorted(Array.from({ length: 64 }, () => uniform(rng, 3_000, 5_000)));
    const draw = () => uniform(rng, 3_000, 5_000);
    const today = simulate(2_000, draw, (t) => ageBasedDelay(t, 250, 1_000));
    const predicted = simulate(2_000, draw, (t) => nextPollDelay(t, SCHEDULE, learned));
    expect(predicted.p95).toBeLessThanOrEqual(100);
    expect(today.p95).toBeGreaterThan(200);
    expect(predicted.mean).toBeLessThan(today.mean / 2);
    expect(predicted.queriesPerTask).toBeLessThanOrEqual(today.queriesPerTask * 1.05);
  });

  it('learned from only 10 durations, still watches the window edges: p95 0.13 s, not 0.19', () => {
    // Ten durations leave about 2/11 of the tasks ending outside their range; a window that
    // stopped at the quantiles of the samples noticed those late (0.19 s p95 on average over these
    // histories), for about 12 % fewer queries than this one spends.
    const rng = random(3);
    const p95s: number[] = [];
    const queries: number[] = [];
    for (let history = 0; history < 40; history++) {
      const learned = sorted(Array.from({ length: 10 }, () => uniform(rng, 3_000, 5_000)));
      const run = simulate(
        500,
        () => uniform(rng, 3_000, 5_000),
        (t) => nextPollDelay(t, SCHEDULE, learned),
      );
      p95s.push(run.p95);
      queries.push(run.queriesPerTask);
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const full = sorted(Array.from({ length: 64 }, () => uniform(rng, 3_000, 5_000)));
    const withFullHistory = simulate(
      2_000,
      () => uniform(rng, 3_000, 5_000),
      (t) => nextPollDelay(t, SCHEDULE, full),
    );
    expect(mean(p95s)).toBeLessThanOrEqual(140);
    expect(mean(queries)).toBeLessThanOrEqual(withFullHistory.queriesPerTask * 1.2);
  });

  it('on LiblibAI-like 20–40 s tasks, needs 40 % fewer queries and notices ends sooner', () => {
    const rng = random(2);
    const learned = sorted(Array.from({ length: 64 }, () => uniform(rng, 20_000, 40_000)));
    const draw = () => uniform(rng, 20_000, 40_000);
    const today = simulate(2_000, draw, (t) => ageBasedDelay(t, 250, 1_000));
    const predicted = simulate(2_000, draw, (t) => nextPollDelay(t, SCHEDULE, learned));
    expect(predicted.queriesPerTask).toBeLessThanOrEqual(today.queriesPerTask * 0.6);
    expect(predicted.mean).toBeLessThan(today.mean);
  });
});

/**
 * Like {@link simulate}, for tasks that report progress the way the simulator's LiblibAI mode
 * does: waiting for the first fifth of their duration, then progressing linearly to 1 at their end,
 * in steps of 0.01 (0 counts as no reading; 1 before the end, as the simulator answers it, does). `progressAt` can bend
 * that to model a provider whose progress is not linear.
 */
function simulateWithProgress(
  tasks: number,
  draw: () => number,
  learned: readonly number[],
  progressAt: (t: number, duration: number) => number = (t, d) => (t - 0.2 * d) / (0.8 * d),
) {
  const queries: number[] = [];
  const late: number[] = [];
  for (let i = 0; i < tasks; i++) {
    const duration = draw();
    let clock = 0;
    let count = 0;
    let first: ProgressReading | undefined;
    let latest: ProgressReading | undefined;
    for (;;) {
      clock += nextPollDelay(clock, SCHEDULE, learned, first && latest ? { first, latest } : undefined);
      count++;
      if (clock >= duration) break;
      const progress = Math.round(Math.min(1, Math.max(0, progressAt(clock, duration))) * 100) / 100;
      if (progress > 0) {
        // As the poller keeps them: the first reading at each value (poll-processor.ts).
        if (latest?.progress !== progress) latest = { atMs: clock, progress };
        first ??= latest;
      }
    }
    queries.push(count);
    late.push(clock - duration);
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return { queriesPerTask: mean(queries), p95: quantile(sorted(late), 0.95), max: Math.max(...late) };
}

describe('progressWindow', () => {
  it('extrapolates two readings to the span where a steady task ends', () => {
    // 0.2 at 1 s, 0.6 at 3 s: 0.2 per second, 2 s left.
    const window = progressWindow({ atMs: 1_000, progress: 0.2 }, { atMs: 3_000, progress: 0.6 })!;
    expect(window.fromMs).toBeLessThan(5_000);
    expect(window.toMs).toBeGreaterThan(5_000);
    // The rounding of the two readings (±0.005 each) is all the span allows for.
    const rate = (extra: number) => (0.4 + extra) / 2_000;
    expect(window.fromMs).toBeCloseTo(3_000 + (0.4 - PROGRESS_RESOLUTION / 2) / rate(PROGRESS_RESOLUTION), 6);
    expect(window.toMs).toBeCloseTo(3_000 + (0.4 + PROGRESS_RESOLUTION / 2) / rate(-PROGRESS_RESOLUTION), 6);
  });

  it('tells nothing from readings two steps apart or less, or from one instant', () => {
    expect(progressWindow({ atMs: 1_000, progress: 0.3 }, { atMs: 1_500, progress: 0.32 })).toBeUndefined();
    expect(progressWindow({ atMs: 1_000, progress: 0.3 }, { atMs: 1_000, progress: 0.3 })).toBeUndefined();
    expect(progressWindow({ atMs: 1_000, progress: 0.5 }, { atMs: 2_000, progress: 0.4 })).toBeUndefined();
  });
});

describe('progressDelay', () => {
  const window = { fromMs: 4_000, toMs: 4_060 };

  it('waits for a narrow window, asks every denseMs inside it, and gives up once past it', () => {
    expect(progressDelay(3_700, SCHEDULE, window)).toBe(300);
    expect(progressDelay(4_010, SCHEDULE, window)).toBe(50);
    expect(progressDelay(4_060, SCHEDULE, window)).toBeUndefined();
  });

  it('reads again halfway to a wide window, never waiting longer than maxMs', () => {
    expect(progressDelay(3_000, SCHEDULE, { fromMs: 3_800, toMs: 4_200 })).toBe(400);
    expect(progressDelay(0, SCHEDULE, { fromMs: 10_000, toMs: 11_000 })).toBe(1_000);
  });
});

describe('nextPollDelay with progress readings', () => {
  it('on 3–5 s tasks, notices ends within 0.1 s (p95) for half the queries of the learned schedule', () => {
    const rng = random(4);
    const learned = sorted(Array.from({ length: 64 }, () => uniform(rng, 3_000, 5_000)));
    const draw = () => uniform(rng, 3_000, 5_000);
    const history = simulate(2_000, draw, (t) => nextPollDelay(t, SCHEDULE, learned));
    const withProgress = simulateWithProgress(2_000, draw, learned);
    expect(withProgress.p95).toBeLessThanOrEqual(100);
    expect(withProgress.queriesPerTask).toBeLessThanOrEqual(history.queriesPerTask / 2);
  });

  it('without history (a new operation), still spends fewer queries than the age-based schedule', () => {
    const rng = random(5);
    const draw = () => uniform(rng, 3_000, 5_000);
    const today = simulate(2_000, draw, (t) => ageBasedDelay(t, 250, 1_000));
    const withProgress = simulateWithProgress(2_000, draw, []);
    expect(withProgress.p95).toBeLessThanOrEqual(100);
    expect(withProgress.queriesPerTask).toBeLessThan(today.queriesPerTask);
  });

  it('a progress that stalls or lies costs queries, never an end noticed later than maxMs', () => {
    const rng = random(6);
    const learned = sorted(Array.from({ length: 64 }, () => uniform(rng, 3_000, 5_000)));
    const draw = () => uniform(rng, 20_000, 40_000); // far longer than the history and the readings say
    // Runs fast to 0.9, then crawls: the extrapolated end comes far too early.
    const stalls = (t: number, d: number) => Math.min(0.9, t / 2_000) + (t / d) * 0.09;
    const run = simulateWithProgress(500, draw, learned, stalls);
    expect(run.max).toBeLessThanOrEqual(SCHEDULE.maxMs);
    // ...and a task whose progress says it has far to go but ends (a failure, a cancel).
    const ends = simulateWithProgress(
      500,
      () => uniform(rng, 3_000, 5_000),
      learned,
      (t) => t / 60_000,
    );
    expect(ends.max).toBeLessThanOrEqual(SCHEDULE.maxMs);
  });
});

describe('windowSpacing', () => {
  it("widens the learned window's interval so every task an account may have in flight fits its status cap", () => {
    expect(windowSpacing(50, 5, 50)).toBe(100); // 5 tasks × 10/s = the default cap of 50/s
    expect(windowSpacing(50, 5, 200)).toBe(50); // room to spare: the configured interval
    expect(windowSpacing(50, 3, 50)).toBe(60);
    expect(windowSpacing(50, 5)).toBe(50); // no cap
  });

  it('applies inside the learned window only, not to the progress window or the age-based schedule', () => {
    const history = Array.from({ length: 64 }, (_, i) => 3_000 + (2_000 * i) / 63);
    const spread = { ...SCHEDULE, windowQueries: 100, windowMinMs: 100 };
    expect(nextPollDelay(4_000, { ...SCHEDULE, windowQueries: 100 }, history)).toBe(50);
    expect(nextPollDelay(4_000, spread, history)).toBe(100);
    const progress = { first: { atMs: 1_000, progress: 0.2 }, latest: { atMs: 3_900, progress: 0.98 } };
    expect(nextPollDelay(3_990, spread, history, progress)).toBe(50);
    expect(nextPollDelay(1_000, spread, [])).toBe(250);
  });
});

describe('a progress that stops changing', () => {
  it('hands the task back to the other schedules: 100 % for 30 s under review costs what the age-based schedule costs', () => {
    // 20 s to reach 1, then 30 s more (a review), like LiblibAI's status 3/4 at percentCompleted 1.
    const run = simulateWithProgress(
      50,
      () => 50_000,
      [],
      (t) => t / 20_000,
    );
    const ageBased = simulate(
      50,
      () => 50_000,
      (t) => ageBasedDelay(t, 250, 1_000),
    );
    expect(run.queriesPerTask).toBeLessThanOrEqual(ageBased.queriesPerTask + 5);
    expect(run.max).toBeLessThanOrEqual(SCHEDULE.maxMs);
  });
});

describe('quantile and cdf', () => {
  it('are inverse to each other on sorted values', () => {
    const values = [10, 20, 30, 40, 80];
    for (const q of [0, 0.1, 0.3, 0.6, 0.9, 1]) expect(cdf(values, quantile(values, q))).toBeCloseTo(q, 6);
    expect(cdf(values, 5)).toBe(0);
    expect(cdf(values, 100)).toBe(1);
  });
});
