/**
 * The provider catalog: every descriptor of `descriptors.ts`, by name, and the types derived from
 * it. Importing it builds no client and needs no credential.
 */
import type { ProviderDescriptor, ProviderSettings } from '@genqueue/model';
import * as descriptors from './descriptors.ts';

type Descriptors = typeof descriptors;

/** Any descriptor of the catalog. */
export type CatalogDescriptor = Descriptors[keyof Descriptors];

/** The name of a provider of the catalog: `liblib`, `liblib-v1`, ... */
export type ProviderName = CatalogDescriptor['name'];

/** The credentials of one provider of the catalog, e.g. `{ accessKey, secretKey }` for `liblib`. */
export type CredentialsOf<N extends ProviderName> =
  Extract<CatalogDescriptor, { name: N }> extends ProviderDescriptor<N, infer C, infer _O> ? C : never;

/** The options of one provider of the catalog, e.g. `{ submitTimeoutMs }` for `replicate`. */
export type OptionsOf<N extends ProviderName> =
  Extract<CatalogDescriptor, { name: N }> extends ProviderDescriptor<N, infer _C, infer O> ? O : never;

/** Every descriptor, in a stable order (by name). */
export const PROVIDER_CATALOG: readonly CatalogDescriptor[] = Object.freeze(
  (Object.values(descriptors) as CatalogDescriptor[]).sort((a, b) => a.name.localeCompare(b.name)),
);

/** Every provider name of the catalog. */
export const PROVIDER_NAMES: readonly ProviderName[] = Object.freeze(PROVIDER_CATALOG.map((d) => d.name));

/** Whether `name` is a provider of the catalog. */
export function isProviderName(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}

/** The descriptor of a provider of the catalog. */
export function descriptorOf<N extends ProviderName>(name: N): Extract<CatalogDescriptor, { name: N }>;
export function descriptorOf(name: string): CatalogDescriptor | undefined;
export function descriptorOf(name: string): CatalogDescriptor | undefined {
  return PROVIDER_CATALOG.find((d) => d.name === name);
}

/** Every provider's settings, by name (the configuration's `providers`). */
export type ProvidersSettings = {
  readonly [N in ProviderName]: ProviderSettings<CredentialsOf<N>, OptionsOf<N>>;
};
