/**
 * The mode registry, derived from the provider catalog: the mode of provider `<name>` is the
 * `mode` export of `./<name>.mode.ts`, loaded for every name of `PROVIDER_NAMES`. There is no second
 * list to keep: a provider without its mode file fails loading here (and test/catalog.test.ts
 * names the missing file). `startSimulator` and `--mode` accept exactly these.
 */
import { type CredentialsOf, PROVIDER_NAMES } from '@genqueue/providers';
import type { ModeEntry } from '../mode.ts';
import type { SimulatorMode } from '../types.ts';

/** Where the mode of provider `name` lives, relative to the repository. */
export function modeFile(name: string): string {
  return `apps/simulator/src/modes/${name}.mode.ts`;
}

/** Whether `value` is a mode entry (a `create` factory and a `credentials` mapping). */
function isModeEntry(value: unknown): value is ModeEntry {
  const entry = value as Partial<ModeEntry> | undefined;
  return typeof entry?.create === 'function' && typeof entry.credentials === 'function';
}

/**
 * Loads the mode of provider `name`. The template literal keeps the file inside this folder, and
 * lets esbuild bundle every `./*.mode.ts` of it (and no test file) (scripts/build.mjs), so the compiled simulator loads
 * the same modes.
 */
export async function loadMode(name: string): Promise<ModeEntry> {
  let module: { mode?: unknown };
  try {
    module = await import(`./${name}.mode.ts`);
  } catch (error) {
    throw new Error(`provider ${name} has no simulator mode: ${modeFile(name)} does not load`, {
      cause: error,
    });
  }
  if (!isModeEntry(module.mode)) throw new Error(`${modeFile(name)} exports no \`mode\` entry`);
  return module.mode;
}

/** The modes by name, one per provider of the catalog. */
export const modes: { readonly [N in SimulatorMode]: ModeEntry<CredentialsOf<N>> } = Object.freeze(
  Object.fromEntries(
    await Promise.all(PROVIDER_NAMES.map(async (name) => [name, await loadMode(name)] as const)),
  ),
) as { readonly [N in SimulatorMode]: ModeEntry<CredentialsOf<N>> };
