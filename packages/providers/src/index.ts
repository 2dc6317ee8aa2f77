/**
 * The provider registry: one adapter file per provider, all behind core's `Provider` port.
 * Adding a provider means adding its adapter file, its simulator mode, its settings in core's
 * config, and one entry in `ADAPTERS` below; nothing in the pipeline, API or sink changes.
 */
import type { Config, Logger, Provider, ProviderSettings } from '@genqueue/core';
import type { HttpTimeouts } from '@genqueue/provider-http';
import type { Dispatcher } from 'undici';
import { createLiblibProvider } from './liblib.ts';
import { createLiblibV1Provider } from './liblib-v1.ts';
import { createModelverseProvider } from './modelverse.ts';
import { createReplicateProvider } from './replicate.ts';

export { createLiblibProvider } from './liblib.ts';
export { createLiblibV1Provider } from './liblib-v1.ts';
export { createModelverseProvider } from './modelverse.ts';
export { createReplicateProvider } from './replicate.ts';

/** Shared, injectable parts of every adapter. */
export interface ProviderDeps {
  dispatcher?: Dispatcher;
  logger?: Logger;
  now?: () => number;
}

type Factory = (settings: ProviderSettings, deps: ProviderDeps) => Provider | undefined;

/**
 * The request deadline of a provider's settings (`<PREFIX>_TIMEOUT_MS`): a hung call must end as
 * a transient error well before a job's lock or a batch deadline would notice it.
 */
function timeoutsOf(settings: ProviderSettings): HttpTimeouts {
  return { requestMs: settings.timeoutMs };
}

/** Each adapter, built only when its credentials are configured. */
const ADAPTERS: Record<keyof Config['providers'], Factory> = {
  liblib: (settings, deps) =>
    settings.credentials.accessKey && settings.credentials.secretKey
      ? createLiblibProvider({
          baseUrl: settings.baseUrl,
          accessKey: settings.credentials.accessKey,
          secretKey: settings.credentials.secretKey,
          timeouts: timeoutsOf(settings),
          // API input is untrusted: never read files from the worker's disk.
          allowLocalFiles: false,
          ...deps,
        })
      : undefined,
  'liblib-v1': (settings, deps) =>
    settings.credentials.apiKey
      ? createLiblibV1Provider({
          baseUrl: settings.baseUrl,
          apiKey: settings.credentials.apiKey,
          timeouts: timeoutsOf(settings),
          ...deps,
        })
      : undefined,
  replicate: (settings, deps) =>
    settings.credentials.apiToken
      ? createReplicateProvider({
          baseUrl: settings.baseUrl,
          apiToken: settings.credentials.apiToken,
          timeouts: timeoutsOf(settings),
          submitTimeoutMs: settings.submitTimeoutMs,
          ...deps,
        })
      : undefined,
  modelverse: (settings, deps) =>
    settings.credentials.apiKey
      ? createModelverseProvider({
          baseUrl: settings.baseUrl,
          apiKey: settings.credentials.apiKey,
          timeouts: timeoutsOf(settings),
          ...deps,
        })
      : undefined,
};

/** Every provider in the product, configured or not. */
export const PROVIDER_NAMES = Object.keys(ADAPTERS) as (keyof Config['providers'])[];

/** Builds the adapters whose credentials are set. */
export function createProviders(config: Config, deps: ProviderDeps = {}): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const name of PROVIDER_NAMES) {
    const provider = ADAPTERS[name](config.providers[name], deps);
    if (provider) providers.set(name, provider);
  }
  return providers;
}
