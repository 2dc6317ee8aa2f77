/**
 * The mode registry: one line per mode. `startSimulator` refuses a mode missing here.
 * Partial on purpose: the liblib-v1, replicate and modelverse modes are added by their own files.
 */
import type { ModeFactory } from '../mode.ts';
import type { SimulatorMode } from '../types.ts';
import { liblibMode } from './liblib.ts';
import { liblibV1Mode } from './liblib-v1.ts';
import { modelverseMode } from './modelverse.ts';
import { replicateMode } from './replicate.ts';

/** Mode factories by name. */
export const modes: Partial<Record<SimulatorMode, ModeFactory>> = {
  liblib: liblibMode,
  'liblib-v1': liblibV1Mode,
  replicate: replicateMode,
  modelverse: modelverseMode,
};
