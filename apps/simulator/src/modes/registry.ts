/**
 * The mode registry: one line per mode, one mode per provider of the catalog (a provider without
 * its mode here is a type error). `startSimulator` and `--mode` accept exactly these.
 */
import type { CredentialsOf } from '@genqueue/providers';
import type { ModeFactory } from '../mode.ts';
import type { ResolvedSimulatorOptions, SimulatorMode } from '../types.ts';
import { liblibMode } from './liblib.ts';
import { liblibV1Mode } from './liblib-v1.ts';
import { modelverseMode } from './modelverse.ts';
import { replicateMode } from './replicate.ts';

/** One mode: how to build it, and which credentials it accepts. */
export interface ModeEntry<Credentials = Readonly<Record<string, string>>> {
  create: ModeFactory;
  /** The credentials the simulator accepts, by the provider's credential field names. */
  credentials(options: ResolvedSimulatorOptions): Credentials;
}

/** The modes by name. */
export const modes: { readonly [N in SimulatorMode]: ModeEntry<CredentialsOf<N>> } = {
  liblib: { create: liblibMode, credentials: (o) => ({ accessKey: o.accessKey, secretKey: o.secretKey }) },
  'liblib-v1': { create: liblibV1Mode, credentials: (o) => ({ apiKey: o.token }) },
  modelverse: { create: modelverseMode, credentials: (o) => ({ apiKey: o.token }) },
  replicate: { create: replicateMode, credentials: (o) => ({ apiToken: o.token }) },
};
