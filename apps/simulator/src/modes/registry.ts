/**
 * The mode registry: one line per mode. `startSimulator` refuses a mode missing here.
 * Partial on purpose: the liblib-v1, replicate and modelverse modes are added by their own files.
 */
import type { ModeFactory } from '../simulator.ts';
import type { SimulatorMode } from '../types.ts';
import { liblibMode } from './liblib.ts';

/** Mode factories by name. */
export const modes: Partial<Record<SimulatorMode, ModeFactory>> = {
  liblib: liblibMode,
};
