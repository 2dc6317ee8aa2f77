/**
 * `npm run test:chaos`: genqueue under faults. Every scenario ends with the same checks (see
 * `support/chaos-stack.ts` `check()`); the totals are printed and written to
 * `test/chaos/results/last-run.json`. `CHAOS_QUICK=1` runs the short version (CI).
 *
 * One file, so the scenarios run in a fixed order in one process and the summary covers them all.
 */
import { resolve } from 'node:path';
import { afterAll, expect } from 'vitest';
import { killScenarios } from './scenarios/kills.ts';
import { outageScenarios } from './scenarios/outages.ts';
import { providerFaultScenarios } from './scenarios/provider-faults.ts';
import { writeSummary } from './support/tally.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled.push(reason);
});

providerFaultScenarios();
killScenarios();
outageScenarios();

afterAll(async () => {
  const summary = await writeSummary(resolve(import.meta.dirname, 'results/last-run.json'));
  expect(unhandled, 'unhandled rejections in the test process').toEqual([]);
  expect(summary.jobsLost).toBe(0);
});
