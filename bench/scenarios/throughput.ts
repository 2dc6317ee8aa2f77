/**
 * Scenarios 1–3: how close genqueue gets to the provider's ceiling min(QPS, in flight ÷ generation
 * time), measured on the simulator's own clock (task `createdAt` / `endsAt`), with the workers as
 * real child processes.
 */
import type { JobRecord } from '@genqueue/core';
import type { SimTask } from '@genqueue/simulator';
import { type Deployment, deploy, type Infra } from '../lib/deployment.ts';
import { breachesFigure, type Figure } from '../lib/figures.ts';
import { averageOverlap, mean, quantile } from '../lib/stats.ts';

export interface RunOptions {
  quick: boolean;
  log: (message: string) => void;
}

const prompts = (label: string, n: number) => Array.from({ length: n }, (_, i) => `${label} prompt ${i}`);

/** Posts the jobs first (a full queue), then starts the workers, and waits for every job to end. */
async function run(d: Deployment, label: string, n: number, workers: number, timeoutMs: number) {
  const ids = await d.postJobs(prompts(label, n));
  for (let i = 0; i < workers; i++) await d.spawnWorker();
  const records = await d.waitEnded(ids, timeoutMs);
  const tasks = d.sim.tasks().sort((a, b) => a.createdAt - b.createdAt);
  return { records, tasks, stats: d.sim.stats() };
}

/** Submissions per second between the first and the last accepted submission. */
function submissionRate(tasks: SimTask[]): number {
  if (tasks.length < 2) return Number.NaN;
  return (tasks.length - 1) / ((tasks.at(-1)!.createdAt - tasks[0]!.createdAt) / 1000);
}

/**
 * Efficiency against the ceiling in steady state, i.e. from the moment all slots could first be
 * full (the `maxInFlight`-th submission) to the last submission (after it, slots empty because
 * the queue is empty, not because of genqueue). In-flight-bound, that is the slot utilization
 * (throughput = utilization × maxInFlight ÷ mean generation time); QPS-bound, the submission rate
 * over the QPS limit.
 */
function steadyState(tasks: SimTask[], qps: number, maxInFlight: number) {
  const generation = mean(tasks.map((t) => t.endsAt - t.createdAt)) / 1000;
  const inFlightCeiling = maxInFlight / generation;
  const ceiling = Math.min(qps, inFlightCeiling);
  const from = tasks[Math.min(maxInFlight, tasks.length) - 1]!.createdAt;
  const to = tasks.at(-1)!.createdAt;
  const inFlight = averageOverlap(
    tasks.map((t) => ({ start: t.createdAt, end: t.endsAt })),
    from,
    to,
  );
  const utilization = inFlight / maxInFlight;
  const window = tasks.filter((t) => t.createdAt > from && t.createdAt <= to);
  const rate = window.length / ((to - from) / 1000);
  const bound = inFlightCeiling < qps ? 'in_flight' : 'qps';
  const ratio = bound === 'in_flight' ? utilization : rate / qps;
  return {
    generation,
    ceiling,
    utilization,
    rate,
    bound,
    ratio,
    ideal: idealRatio(tasks, qps, maxInFlight, bound),
  };
}

/**
 * What a perfect client would reach with the same generation times: it submits the next task the
 * instant a slot is free, but never sooner than 1 ÷ QPS after the previous submission. When
 * in-flight-bound with random generation times, slots that free up close together must still wait
 * their QPS turn, so even a perfect client stays under the ceiling min(QPS, in flight ÷ generation).
 */
function idealRatio(tasks: SimTask[], qps: number, maxInFlight: number, bound: string): number {
  const free = new Array<number>(maxInFlight).fill(0);
  let last = Number.NEGATIVE_INFINITY;
  const ideal = tasks.map((t) => {
    const slot = free.indexOf(Math.min(...free));
    const start = Math.max(free[slot]!, last + 1000 / qps);
    last = start;
    free[slot] = start + (t.endsAt - t.createdAt);
    return { start, end: free[slot]! };
  });
  const from = ideal[Math.min(maxInFlight, ideal.length) - 1]!.start;
  const to = ideal.at(-1)!.start;
  if (bound === 'in_flight') return averageOverlap(ideal, from, to) / maxInFlight;
  return ideal.filter((t) => t.start > from && t.start <= to).length / ((to - from) / 1000) / qps;
}

/** The true slot-release delay: the job's `taskEndedAt` (set just after the release) minus the task's end. */
function releaseDelays(records: JobRecord[], tasks: SimTask[]): number[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  return records.flatMap((r) => {
    const task = r.providerTaskId ? byId.get(r.providerTaskId) : undefined;
    return task && r.taskEndedAt ? [(r.taskEndedAt - task.endsAt) / 1000] : [];
  });
}

/** 1. QPS-bound: short tasks, the QPS limit binds; with 1 and 3 worker processes. */
export async function qpsBound(infra: Infra, { quick, log }: RunOptions): Promise<Figure[]> {
  const n = quick ? 10 : 30;
  const figures: Figure[] = [];
  const variants: { workers: number; env?: Record<string, string>; label: string }[] = [
    { workers: 1, label: '1 worker' },
    { workers: 3, label: '3 workers' },
    // Shows why the default 50 ms margin exists: a smaller one breaches even on loopback.
    ...(quick
      ? []
      : [{ workers: 3, label: '3 workers, SUBMIT_MARGIN_MS=10', env: { SUBMIT_MARGIN_MS: '10' } }]),
  ];
  for (const variant of variants) {
    log(`1. QPS-bound, ${variant.label}: ${n} jobs at 1/s`);
    const d = await deploy(infra, {
      label: 's1',
      sim: { submitQps: 1, maxInFlight: 5, latencyMs: { min: 100, max: 300 } },
      env: variant.env,
    });
    try {
      const { tasks, stats } = await run(d, 's1', n, variant.workers, n * 3_000 + 30_000);
      const scenario = `1 QPS-bound (${variant.label})`;
      // The limiter spaces grants ceil(1000 / QPS) + SUBMIT_MARGIN_MS apart (limits.submitMarginMs).
      const spacing = Math.ceil(1000 / 1) + d.config.limits.submitMarginMs;
      figures.push(
        {
          scenario,
          name: `the gate's own ceiling (1000 ÷ ${spacing} ms)`,
          value: 1000 / spacing,
          unit: '',
          digits: 3,
        },
        {
          scenario,
          name: 'submissions/s ÷ QPS limit',
          value: submissionRate(tasks) / 1,
          unit: '',
          target: { op: '>=', value: 0.98 },
          digits: 3,
        },
        breachesFigure(scenario, stats),
      );
    } finally {
      await d.close();
    }
  }
  return figures;
}

/** 2. In-flight-bound: 3–5 s tasks, QPS 10, 5 in flight. */
export async function inFlightBound(infra: Infra, { quick, log }: RunOptions): Promise<Figure[]> {
  const n = quick ? 24 : 80;
  log(`2. in-flight-bound: ${n} jobs, 3–5 s each, QPS 10, 5 in flight`);
  const d = await deploy(infra, {
    label: 's2',
    sim: { submitQps: 10, maxInFlight: 5, latencyMs: { min: 3_000, max: 5_000 } },
  });
  try {
    const { records, tasks, stats } = await run(d, 's2', n, 1, n * 2_000 + 30_000);
    const steady = steadyState(tasks, 10, 5);
    const delays = releaseDelays(records, tasks);
    const scenario = '2 in-flight-bound';
    return [
      {
        scenario,
        name: 'slot utilization (avg in flight ÷ 5)',
        value: steady.utilization,
        unit: '',
        digits: 3,
      },
      { scenario, name: 'a perfect client, same generation times', value: steady.ideal, unit: '', digits: 3 },
      {
        scenario,
        name: 'slot-release delay p50',
        value: quantile(delays, 0.5),
        unit: 's',
        digits: 3,
      },
      {
        scenario,
        name: 'slot-release delay p95',
        value: quantile(delays, 0.95),
        unit: 's',
        target: { op: '<=', value: 0.5 },
        digits: 3,
      },
      {
        scenario,
        name: 'status queries per task',
        value: stats.statusQueries / Math.max(1, stats.accepted),
        unit: '',
        digits: 1,
      },
      breachesFigure(scenario, stats),
    ];
  } finally {
    await d.close();
  }
}

/**
 * 3. LiblibAI's real limits (1/s, 5 in flight) with its 20–40 s generation time divided by
 * `factor`. Every genqueue time constant that scales with generation time (the poll interval) is
 * divided by the same factor, so the run is the real deployment, only faster. The factor keeps the
 * real regime: 5 ÷ 30 s < 1/s is in-flight-bound, and so is 5 ÷ (30 s ÷ 4).
 */
export const SCALE = 4;

export async function realDefaults(infra: Infra, { quick, log }: RunOptions): Promise<Figure[]> {
  const n = quick ? 18 : 60;
  const latency = { min: 20_000 / SCALE, max: 40_000 / SCALE };
  log(
    `3. real defaults ÷${SCALE}: ${n} jobs, ${latency.min / 1000}–${latency.max / 1000} s each, 1/s, 5 in flight`,
  );
  const d = await deploy(infra, {
    label: 's3',
    sim: { submitQps: 1, maxInFlight: 5, latencyMs: latency },
    env: {
      POLL_MIN_INTERVAL_MS: String(Math.round(250 / SCALE)),
      POLL_MAX_INTERVAL_MS: String(Math.round(1_000 / SCALE)),
    },
  });
  try {
    const { records, tasks, stats } = await run(d, 's3', n, 1, n * 4_000 + 30_000);
    const steady = steadyState(tasks, 1, 5);
    const delays = releaseDelays(records, tasks);
    const scenario = `3 real defaults (time ÷${SCALE})`;
    return [
      {
        scenario,
        name: `ratio to ceiling (${steady.bound}-bound, ceiling ${steady.ceiling.toFixed(3)}/s)`,
        value: steady.ratio,
        unit: '',
        target: { op: '>=', value: 0.98 },
        digits: 3,
      },
      {
        scenario,
        name: 'a perfect client, same generation times',
        value: steady.ideal,
        unit: '',
        digits: 3,
      },
      breachesFigure(scenario, stats),
      {
        scenario,
        name: 'slot-release delay p95 (scaled time)',
        value: quantile(delays, 0.95),
        unit: 's',
        digits: 3,
      },
      {
        scenario,
        name: 'images/hour at real scale (ratio × 5 ÷ 30 s)',
        value: steady.ratio * (5 / 30) * 3_600,
        unit: '',
        digits: 0,
      },
    ];
  } finally {
    await d.close();
  }
}
