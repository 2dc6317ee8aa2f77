/**
 * `@genqueue/simulator`: a provider simulator for tests, benchmarks and the demo. It speaks
 * LiblibAI's OpenAPI (002) faithfully — signatures, limits, statuses, uploads — counts every limit
 * breach, serves real PNG results, and injects faults on demand.
 */
export { FAULT_KINDS, FaultInjector, type RequestEndpoint } from './faults.ts';
export { type LimitSettings, type LimitVerdict, SubmissionLimits } from './limits.ts';
export {
  type ModeContext,
  type ModeEntry,
  type ModeFactory,
  Reply,
  type SimMode,
  type SimRequest,
  type StoredFile,
} from './mode.ts';
export {
  INITIAL_BALANCE,
  LIBLIB_SUBMIT_PATHS,
  LIBLIB_TEMPLATES,
  liblibMode,
  OSS_BUCKET_PATH,
  SIGNATURE_WINDOW_MS,
} from './modes/liblib.mode.ts';
export { loadMode, modeFile, modes } from './modes/registry.ts';
export { type EncodePngOptions, encodePng, PNG_SIGNATURE, pngChunk, renderMp4, renderPng } from './png.ts';
export { OUTPUT_TTL_MS, startSimulator } from './simulator.ts';
export type { StatsCounters } from './stats.ts';
export {
  type CreateTaskInput,
  type TaskOutcome,
  type TaskOutput,
  type TaskPhase,
  type TaskRecord,
  TaskStore,
} from './tasks.ts';
export type {
  Fault,
  FaultEndpoint,
  FaultKind,
  ResolvedSimulatorOptions,
  SimAccount,
  SimAccountStats,
  SimSubmission,
  SimTask,
  Simulator,
  SimulatorMode,
  SimulatorOptions,
  SimulatorStats,
} from './types.ts';
