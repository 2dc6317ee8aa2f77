export type { CrashPoint, WorkerContext, WorkerHooks } from './context.ts';
export { recordFinalFailure } from './final-failure.ts';
export type { PollSchedule } from './poll-schedule.ts';
export { ageBasedDelay, nextPollDelay } from './poll-schedule.ts';
export type { ReconcilerOptions, Repair, SweepReport } from './reconciler.ts';
export { Reconciler } from './reconciler.ts';
export type { WorkerHandle, WorkerOverrides } from './worker.ts';
export { startWorker } from './worker.ts';
