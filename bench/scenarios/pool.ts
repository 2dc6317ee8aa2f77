/**
 * 10. Account pools: one queue of work over 1, 2 and 4 LiblibAI accounts, each at LiblibAI's limits
 * (1 submission/s, 5 in flight, 002 §2.3), with generation time and genqueue's poll intervals
 * scaled as in scenario 3, one worker process. How close does the pool get to its ceiling,
 * accounts × min(QPS, in flight ÷ generation time), and does throughput grow linearly with the
 * accounts?
 *
 * Measured on the simulator's clock, as scenarios 1–3: the pool's steady state runs from the
 * moment every slot of every account could be full (the 5·k-th submission) to the last
 * submission, and the ratio is the average tasks in flight over that window ÷ (5·k): the
 * throughput ÷ the pooled ceiling, the regime being in-flight-bound (throughput = utilization ×
 * 5·k ÷ mean generation time). "A perfect pool" replays the same generation times with zero
 * overhead: each task starts on whichever account can start it first (a free slot and its QPS turn).
 */
import type { SimTask } from '@genqueue/simulator';
import { deploy, type Infra } from '../lib/deployment.ts';
import { breachesFigure, type Figure } from '../lib/figures.ts';
import { averageOverlap, mean, quantile } from '../lib/stats.ts';
import { type RunOptions, SCALE } from './throughput.ts';

const QPS = 1;
const MAX_IN_FLIGHT = 5;
/** LiblibAI's 20–40 s generation time, scaled like scenario 3. */
const LATENCY_MS = { min: 20_000 / SCALE, max: 40_000 / SCALE };
const SIZES = [1, 2, 4] as const;
/** Enough ended tasks for the poll schedule to learn from (it needs 8), as in scenarios 2 and 3. */
const WARM_UP = 10;
const GOAL_RATIO = 0.95;

interface PoolRun {
  accounts: number;
  /** The measured tasks (after the warm-up), by `createdAt`. */
  tasks: SimTask[];
  breaches: { qpsBreaches: number; inFlightBreaches: number };
  completed: number;
  /** Measured jobs carried by the least and the most loaded account. */
  spread: { min: number; max: number };
  /** Task end (simulator) → genqueue freed its slot, s. */
  releaseDelays: number[];
  /**
   * Slot freed → the next submission on the same account reached the simulator, s, while jobs
   * were still queued: how fast a freed slot is refilled (includes waiting for the account's QPS
   * turn when two of its slots freed within a second).
   */
  refillDelays: number[];
}

interface PoolSteady {
  /** Mean generation time, s (scaled). */
  generation: number;
  /** accounts × min(QPS, in flight ÷ generation), tasks/s (scaled). */
  ceiling: number;
  /** Throughput ÷ ceiling in the steady window. */
  ratio: number;
  /** The same for a perfect pool with the same generation times. */
  ideal: number;
}

const accountIds = (k: number) => Array.from({ length: k }, (_, i) => `acct${i + 1}`);
const prompts = (label: string, n: number) => Array.from({ length: n }, (_, i) => `${label} prompt ${i}`);

async function runPool(infra: Infra, k: number, n: number, log: RunOptions['log']): Promise<PoolRun> {
  const ids = accountIds(k);
  log(`10 account pool, ${k} account${k > 1 ? 's' : ''}: ${WARM_UP} warm-up jobs, then ${n}`);
  const d = await deploy(infra, {
    label: `s10-${k}`,
    sim: {
      submitQps: QPS,
      maxInFlight: MAX_IN_FLIGHT,
      latencyMs: LATENCY_MS,
      accounts: ids.map((id) => ({ id, submitQps: QPS, maxInFlight: MAX_IN_FLIGHT })),
    },
    env: (sim) => ({
      POLL_MIN_INTERVAL_MS: String(Math.round(250 / SCALE)),
      POLL_MAX_INTERVAL_MS: String(Math.round(1_000 / SCALE)),
      // The pool's accounts with the simulator's keys; limits from LIBLIB_SUBMIT_QPS and
      // LIBLIB_MAX_IN_FLIGHT. The single-account variables unset: both forms are a config error.
      LIBLIB_ACCESS_KEY: '',
      LIBLIB_SECRET_KEY: '',
      LIBLIB_ACCOUNTS: JSON.stringify(
        ids.map((id) => ({
          id,
          accessKey: `${id}-access-key`,
          secretKey: `${id}-secret-key`,
          baseUrl: sim.url,
        })),
      ),
    }),
  });
  try {
    const warm = await d.postJobs(prompts(`s10-${k} warm-up`, WARM_UP));
    await d.spawnWorker();
    const timeoutMs = ((n + WARM_UP) / (k * 0.5)) * 1_000 + 60_000;
    await d.waitEnded(warm, timeoutMs);
    d.sim.resetStats();
    const since = d.sim.tasks().reduce((last, t) => Math.max(last, t.createdAt), 0) + 1;
    const jobIds = await d.postJobs(prompts(`s10-${k}`, n));
    const records = await d.waitEnded(jobIds, timeoutMs);
    const tasks = d.sim
      .tasks()
      .filter((t) => t.createdAt >= since)
      .sort((a, b) => a.createdAt - b.createdAt);
    const stats = d.sim.stats();
    const carried = ids.map((id) => tasks.filter((t) => t.account === id).length);
    const byTask = new Map(tasks.map((t) => [t.id, t]));
    const lastStart = tasks.at(-1)?.createdAt ?? 0;
    const releaseDelays: number[] = [];
    const refillDelays: number[] = [];
    for (const r of records) {
      const task = r.providerTaskId ? byTask.get(r.providerTaskId) : undefined;
      if (!task || r.taskEndedAt === undefined) continue;
      releaseDelays.push((r.taskEndedAt - task.endsAt) / 1000);
      if (r.taskEndedAt >= lastStart) continue; // nothing left to refill it with
      const next = tasks.find((t) => t.account === task.account && t.createdAt >= r.taskEndedAt!);
      if (next) refillDelays.push((next.createdAt - r.taskEndedAt) / 1000);
    }
    return {
      accounts: k,
      tasks,
      breaches: { qpsBreaches: stats.qpsBreaches, inFlightBreaches: stats.inFlightBreaches },
      completed: records.filter((r) => r.state === 'succeeded').length,
      spread: { min: Math.min(...carried), max: Math.max(...carried) },
      releaseDelays,
      refillDelays,
    };
  } finally {
    await d.close();
  }
}

/** The pool's steady state (see the file's comment), for genqueue's run and for a perfect pool. */
function poolSteady(tasks: readonly SimTask[], k: number): PoolSteady {
  const generation = mean(tasks.map((t) => t.endsAt - t.createdAt)) / 1000;
  const slots = k * MAX_IN_FLIGHT;
  const utilization = (intervals: readonly { start: number; end: number }[]) => {
    if (intervals.length <= slots) return Number.NaN;
    const sorted = [...intervals].sort((a, b) => a.start - b.start);
    return averageOverlap(sorted, sorted[slots - 1]!.start, sorted.at(-1)!.start) / slots;
  };
  const ours = tasks.map((t) => ({ start: t.createdAt, end: t.endsAt }));
  return {
    generation,
    ceiling: k * Math.min(QPS, MAX_IN_FLIGHT / generation),
    ratio: utilization(ours),
    ideal: utilization(perfectPool(tasks, k)),
  };
}

/**
 * A perfect client over `k` accounts with the same generation times, in the same order: each task
 * starts at the earliest moment any account has a free slot and its QPS turn.
 */
function perfectPool(tasks: readonly SimTask[], k: number): { start: number; end: number }[] {
  const accounts = Array.from({ length: k }, () => ({
    free: new Array<number>(MAX_IN_FLIGHT).fill(0),
    last: Number.NEGATIVE_INFINITY,
  }));
  return tasks.map((t) => {
    let best = { start: Number.POSITIVE_INFINITY, account: 0, slot: 0 };
    accounts.forEach((a, account) => {
      const slot = a.free.indexOf(Math.min(...a.free));
      const start = Math.max(a.free[slot]!, a.last + 1000 / QPS);
      if (start < best.start) best = { start, account, slot };
    });
    const a = accounts[best.account]!;
    a.last = best.start;
    a.free[best.slot] = best.start + (t.endsAt - t.createdAt);
    return { start: best.start, end: a.free[best.slot]! };
  });
}

export async function accountPool(infra: Infra, { quick, log }: RunOptions): Promise<Figure[]> {
  // Per account: enough rounds of its 5 slots for a steady state beyond the warm-up and the fill.
  const perAccount = quick ? 12 : 40;
  const figures: Figure[] = [];
  const steady = new Map<number, PoolSteady>();
  for (const k of SIZES) {
    const run = await runPool(infra, k, perAccount * k, log);
    const s = poolSteady(run.tasks, k);
    steady.set(k, s);
    const scenario = `10 pool of ${k} (time ÷${SCALE})`;
    // At real scale generation takes SCALE times longer and the regime stays in-flight-bound, so
    // throughput is SCALE times lower: ratio × k × 5 ÷ (generation × SCALE) per second.
    const realPerHour = ((s.ratio * k * MAX_IN_FLIGHT) / (s.generation * SCALE)) * 3_600;
    figures.push(
      {
        scenario,
        name: `ratio to pooled ceiling (${k} × ${(s.ceiling / k).toFixed(3)}/s)`,
        value: s.ratio,
        unit: '',
        target: { op: '>=', value: GOAL_RATIO },
        digits: 3,
      },
      {
        scenario,
        name: `÷ a perfect pool (it reaches ${s.ideal.toFixed(3)})`,
        value: s.ratio / s.ideal,
        unit: '',
        digits: 3,
      },
      {
        scenario,
        name: `images per hour at real scale (ceiling ${Math.round((s.ceiling / SCALE) * 3_600)})`,
        value: realPerHour,
        unit: '/h',
        digits: 0,
      },
      breachesFigure(scenario, run.breaches),
      {
        scenario,
        name: 'slot-release delay p50 / p95 (scaled)',
        value: quantile(run.releaseDelays, 0.5),
        unit: `s / ${quantile(run.releaseDelays, 0.95).toFixed(3)} s`,
        digits: 3,
      },
      {
        scenario,
        name: 'slot freed → next submission on its account p50 / p95',
        value: quantile(run.refillDelays, 0.5),
        unit: `s / ${quantile(run.refillDelays, 0.95).toFixed(3)} s`,
        digits: 3,
      },
      {
        scenario,
        name: 'jobs succeeded',
        value: run.completed,
        unit: `of ${run.tasks.length}`,
        digits: 0,
      },
      {
        scenario,
        name: 'jobs on the least / most loaded account',
        value: run.spread.min,
        unit: `/ ${run.spread.max}`,
        digits: 0,
      },
    );
  }
  // Scaling: throughput × mean generation time (a run's own random draw of generation times
  // would otherwise make two runs differ for no fault of the client), k accounts against one.
  const base = steady.get(1)!;
  for (const k of SIZES.filter((size) => size > 1)) {
    const s = steady.get(k)!;
    figures.push({
      scenario: `10 pool scaling`,
      name: `throughput ${k} accounts ÷ 1 account (ideal ${k})`,
      value: (s.ratio * k) / base.ratio,
      unit: '',
      target: { op: '>=', value: GOAL_RATIO * k },
      digits: 2,
    });
  }
  return figures;
}
