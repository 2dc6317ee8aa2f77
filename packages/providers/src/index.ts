/**
 * The provider registry: one adapter file per provider, all behind core's `Provider` port.
 * Adding a provider means adding its adapter file, its simulator mode, its settings in core's
 * config, and one entry in `ADAPTERS` below; nothing in the pipeline, API or sink changes.
 */
import type { Config, Logger, Provider, ProviderSettings } from '@genqueue/core';
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

/** Each adapter, built only when its credentials are configured. */
const ADAPTERS: Record<keyof Config['providers'], Factory> = {
  liblib: ({ baseUrl, credentials, timeoutMs }, deps) =>
    credentials.accessKey && credentials.secretKey
      ? createLiblibProvider({
          baseUrl,
          accessKey: credentials.accessKey,
          secretKey: credentials.secretKey,
          // LIBLIB_TIMEOUT_MS: a hung call must end as a transient error well before a job's lock
          // or a batch deadline would notice it.
          ...(timeoutMs === undefined
            ? {}
            : {
                timeouts: { headersMs: timeoutMs, bodyMs: timeoutMs, connectMs: Math.min(10_000, timeoutMs) },
              }),
          // API input is untrusted: never read files from the worker's disk.
          allowLocalFiles: false,
          ...deps,
        })
      : undefined,
  'liblib-v1': ({ baseUrl, credentials }, deps) =>
    credentials.apiKey ? createLiblibV1Provider({ baseUrl, apiKey: credentials.apiKey, ...deps }) : undefined,
  replicate: ({ baseUrl, credentials, submitTimeoutMs }, deps) =>
    credentials.apiToken
      ? createReplicateProvider({ baseUrl, apiToken: credentials.apiToken, submitTimeoutMs, ...deps })
      : undefined,
  modelverse: ({ baseUrl, credentials }, deps) =>
    credentials.apiKey
      ? createModelverseProvider({ baseUrl, apiKey: credentials.apiKey, ...deps })
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
