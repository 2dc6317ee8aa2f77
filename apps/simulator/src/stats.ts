import type { SimulatorStats } from './types.ts';

/** The counters every part of the simulator writes; `inFlight` and `accounts` are filled in when read. */
export type StatsCounters = Omit<SimulatorStats, 'inFlight' | 'accounts'>;

/** Fresh zeroed counters. */
export function createCounters(): StatsCounters {
  return {
    submissions: 0,
    accepted: 0,
    qpsBreaches: 0,
    inFlightBreaches: 0,
    authFailures: 0,
    maxInFlightObserved: 0,
    statusQueries: 0,
    peakStatusQps: 0,
    duplicatePrompts: 0,
    submissionsByPrompt: {},
    faultsInjected: {},
  };
}

/** Events in the last `windowMs`, as a sliding window (for the peak status-query rate). */
export class SlidingCount {
  private readonly times: number[] = [];

  constructor(private readonly windowMs: number) {}

  /** Records an event at `now`; answers how many happened in `(now - windowMs, now]`. */
  record(now: number): number {
    this.times.push(now);
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) this.times.shift();
    return this.times.length;
  }

  clear(): void {
    this.times.length = 0;
  }
}
