/**
 * `@genqueue/providers`: every provider of the product, each a self-describing module.
 *
 * A provider is a descriptor (`<name>.descriptor.ts`: credentials, default limits, capabilities,
 * operations, `createAdapter`) and its adapter (`<name>.ts`: the transport behind core's `Provider`
 * port). `descriptors.ts` lists them, one line each; everything else derives from that list.
 */
import {
  type AdapterIo,
  credentialVariable,
  type Provider,
  type ProviderAccount,
  type ProviderSettings,
} from '@genqueue/core';
import {
  type CatalogDescriptor,
  PROVIDER_CATALOG,
  type ProviderName,
  type ProvidersSettings,
} from './catalog.ts';

export type { CatalogDescriptor, CredentialsOf, ProviderName, ProvidersSettings } from './catalog.ts';
export { descriptorOf, isProviderName, PROVIDER_CATALOG, PROVIDER_NAMES } from './catalog.ts';
export { createLiblibProvider } from './liblib.ts';
export { createLiblibV1Provider } from './liblib-v1.ts';
export { createModelverseProvider } from './modelverse.ts';
export { renderProviderTable } from './provider-table.ts';
export { createReplicateProvider } from './replicate.ts';

/** What `createProviders` reads of the configuration (`@genqueue/config`'s `Config`). */
export interface ProvidersSource {
  providers: ProvidersSettings;
  enabledProviders: readonly ProviderName[];
}

/** A provider is enabled but its credentials are not set: a worker cannot serve it. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
}

/**
 * Builds the `default` account's adapter of every enabled provider. Throws
 * `MissingCredentialsError` when an enabled provider has no credentials (`PROVIDERS` lists it but
 * its variables are not set).
 */
export function createProviders(config: ProvidersSource, io: AdapterIo = {}): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const descriptor of PROVIDER_CATALOG) {
    if (!config.enabledProviders.includes(descriptor.name)) continue;
    providers.set(descriptor.name, createDefaultAdapter(descriptor, config.providers, io));
  }
  return providers;
}

/**
 * Builds the adapter of one account of any provider of the catalog. `account.credentials` must be
 * what the descriptor's `credentials` schema parsed (the catalog's union of descriptors cannot say
 * which credentials type goes with which at compile time).
 */
export function createAdapter(
  descriptor: CatalogDescriptor,
  account: ProviderAccount,
  io: AdapterIo = {},
): Provider {
  return (descriptor.createAdapter as (account: ProviderAccount, io: AdapterIo) => Provider)(account, io);
}

/**
 * The `default` account of a provider's settings (the single-account variables), or undefined when
 * its credentials are not set.
 */
export function defaultAccount(settings: ProviderSettings): ProviderAccount | undefined {
  const { credentials, ...rest } = settings;
  return credentials ? { id: 'default', ...rest, credentials } : undefined;
}

function createDefaultAdapter(
  descriptor: CatalogDescriptor,
  settings: ProvidersSettings,
  io: AdapterIo,
): Provider {
  const account = defaultAccount(settings[descriptor.name]);
  if (!account) {
    const variables = Object.keys(descriptor.credentials.shape)
      .map((field) => credentialVariable(descriptor.envPrefix, field))
      .join(', ');
    throw new MissingCredentialsError(`provider ${descriptor.name} is enabled but ${variables} is not set`);
  }
  return createAdapter(descriptor, account, io);
}

export type { OperationListing, ProviderListing } from './operations-listing.ts';
export { inputJsonSchema, listOperations } from './operations-listing.ts';
