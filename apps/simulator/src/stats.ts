import type { SimulatorStats } from './types.ts';

/** The counters every part of the simulator writes; `inFlight` is filled in when read. */
export type StatsCounters = Omit<SimulatorStats, 'inFlight'>;

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
    duplicatePrompts: 0,
    submissionsByPrompt: {},
    faultsInjected: {},
  };
}
