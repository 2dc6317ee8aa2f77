export type { WorkerContext } from './context.ts';
export { nextPollDelay } from './poll-delay.ts';
export type { WorkerHandle, WorkerOverrides } from './worker.ts';
export { startWorker } from './worker.ts';
