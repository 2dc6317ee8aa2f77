/**
 * The suite's running totals, printed and written to `test/chaos/results/last-run.json` at the end
 * (see chaos.test.ts). Every scenario adds to it through `ChaosStack.check()` and `kill()`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One scenario's figures. */
export interface ScenarioFigures {
  name: string;
  jobs: number;
  lost: number;
  states: Record<string, number>;
  duplicates: number;
  /** Duplicates the scenario provoked on purpose (a kill inside the accept window). */
  duplicatesAllowed: number;
  kills: number;
  faults: Record<string, number>;
  /** Provider accepted → task id saved, in ms, over the scenario's submitted jobs. */
  acceptWindowMs: { samples: number; p50: number; max: number };
  durationMs: number;
}

/** Totals over the run. */
export interface ChaosSummary {
  mode: 'quick' | 'full';
  startedAt: string;
  durationMs: number;
  killRounds: number;
  killsByPoint: Record<string, number>;
  /** Restarts of Redis and S3. */
  outages: Record<string, number>;
  faultsInjected: Record<string, number>;
  jobsTotal: number;
  jobsLost: number;
  duplicatesObserved: number;
  acceptWindowMs: { samples: number; p50: number; max: number };
  scenarios: ScenarioFigures[];
}

const startedAt = Date.now();
const scenarios: ScenarioFigures[] = [];
const killsByPoint: Record<string, number> = {};
const windows: number[] = [];
const outages: Record<string, number> = {};

/** True when `CHAOS_QUICK=1`: fewer rounds and shorter outages, for CI. */
export const QUICK = process.env.CHAOS_QUICK === '1' || process.env.CHAOS_QUICK === 'true';

/** Records a stop/start of a piece of infrastructure (`redis`, `s3`). */
export function recordOutage(what: string): void {
  outages[what] = (outages[what] ?? 0) + 1;
}

/** Records a SIGKILL of a worker at a named point (`before-submit`, `random`, ...). */
export function recordKill(point: string): void {
  killsByPoint[point] = (killsByPoint[point] ?? 0) + 1;
}

/** Records one scenario's figures (and its accept-window samples). */
export function recordScenario(figures: ScenarioFigures, windowSamples: number[]): void {
  scenarios.push(figures);
  windows.push(...windowSamples);
}

/** Median and maximum of samples, rounded to the millisecond. */
export function spread(samples: number[]): { samples: number; p50: number; max: number } {
  if (samples.length === 0) return { samples: 0, p50: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: Math.round(sorted[Math.floor(sorted.length / 2)]!),
    max: Math.round(sorted[sorted.length - 1]!),
  };
}

/** The totals so far. */
export function summary(): ChaosSummary {
  const faults: Record<string, number> = {};
  for (const s of scenarios) for (const [k, n] of Object.entries(s.faults)) faults[k] = (faults[k] ?? 0) + n;
  return {
    mode: QUICK ? 'quick' : 'full',
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
    killRounds: Object.values(killsByPoint).reduce((a, b) => a + b, 0),
    killsByPoint: { ...killsByPoint },
    outages: { ...outages },
    faultsInjected: faults,
    jobsTotal: scenarios.reduce((n, s) => n + s.jobs, 0),
    jobsLost: scenarios.reduce((n, s) => n + s.lost, 0),
    duplicatesObserved: scenarios.reduce((n, s) => n + s.duplicates, 0),
    acceptWindowMs: spread(windows),
    scenarios,
  };
}

/** Prints the summary and writes it as JSON to `path`. */
export async function writeSummary(path: string): Promise<ChaosSummary> {
  const s = summary();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(s, null, 2)}\n`);
  const lines = [
    `chaos summary (${s.mode}, ${(s.durationMs / 1000).toFixed(0)} s)`,
    `  kill rounds:       ${s.killRounds} ${JSON.stringify(s.killsByPoint)}`,
    `  outages:           ${JSON.stringify(s.outages)}`,
    `  faults injected:   ${JSON.stringify(s.faultsInjected)}`,
    `  jobs total:        ${s.jobsTotal}`,
    `  jobs lost:         ${s.jobsLost}`,
    `  duplicates:        ${s.duplicatesObserved}`,
    `  accept window:     p50 ${s.acceptWindowMs.p50} ms, max ${s.acceptWindowMs.max} ms over ${s.acceptWindowMs.samples} submissions`,
    ...s.scenarios.map(
      (x) =>
        `  - ${x.name}: ${x.jobs} jobs ${JSON.stringify(x.states)}, lost ${x.lost}, dup ${x.duplicates}, kills ${x.kills}, ${(x.durationMs / 1000).toFixed(1)} s`,
    ),
    `  written to ${path}`,
  ];
  console.log(lines.join('\n'));
  return s;
}
