/**
 * `@genqueue/providers`: every provider of the product, each a self-describing module.
 *
 * A provider is a descriptor (`<name>.descriptor.ts`: credentials, default limits, capabilities,
 * operations, `createAdapter`) and its adapter (`<name>.ts`: the transport behind core's `Provider`
 * port). `descriptors.ts` lists them, one line each; everything else derives from that list.
 */
import type { AdapterIo, Provider, ProviderAccount, ProviderSettings } from '@genqueue/model';
import type { CatalogDescriptor } from './catalog.ts';

export type { CatalogDescriptor, CredentialsOf, ProviderName, ProvidersSettings } from './catalog.ts';
export { descriptorOf, isProviderName, PROVIDER_CATALOG, PROVIDER_NAMES } from './catalog.ts';
export { createLiblibProvider } from './liblib.ts';
export { createLiblibV1Provider } from './liblib-v1.ts';
export { createModelverseProvider } from './modelverse.ts';
export { renderProviderTable } from './provider-table.ts';
export type { ReplicateProviderOptions } from './replicate.ts';
export { createReplicateProvider } from './replicate.ts';

/** A provider is enabled but has no account: a worker cannot serve it. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
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

export type { OperationListing, ProviderListing } from './operations-listing.ts';
export { inputJsonSchema, listOperations } from './operations-listing.ts';
