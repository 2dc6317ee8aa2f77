/**
 * A provider describes itself (conventions §4): one descriptor per provider module, listed once in
 * `@genqueue/providers`' catalog. Configuration, the adapter table, the API's validation, the
 * operations listing, the simulator's modes and the demo all derive from that list.
 *
 * Glossary:
 * - **descriptor**: what a provider is (name, environment prefix, credentials, default limits,
 *   capabilities, operations) plus `createAdapter`, the factory of its transport.
 * - **account**: an instance of a provider: one set of credentials with its own base URL, limits and
 *   timeout. The single-account variables (`LIBLIB_ACCESS_KEY`, ...) define the account `default`.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { OperationSpec, Provider } from './provider.ts';

/** What the pipeline does differently per provider. */
export interface ProviderCapabilities {
  /**
   * `true`: `submit` answers only when the task has ended, with its outputs (`SubmitResult.status`);
   * nothing is polled. `false`: `submit` answers a task id and `status` is polled until it ends.
   */
  synchronous: boolean;
  /** Whether a running task can be canceled at the provider (`Provider.cancel` is implemented). */
  cancelable: boolean;
  /**
   * Whether the adapter uploads inline image inputs itself (`Provider.prepare`) before it
   * takes a submission slot.
   */
  needsUpload: boolean;
}

/** An account's limits, enforced across every process by the limiter. */
export interface ProviderLimits {
  /** Submissions per second. */
  submitQps: number;
  /** Tasks in flight at once. */
  maxInFlight: number;
}

/** One account of a provider, as its adapter receives it. */
export interface ProviderAccount<
  Credentials extends object = Record<string, string>,
  Options extends object = Record<string, unknown>,
> {
  /** The account's id; `default` for the single-account variables. */
  id: string;
  /** API origin (or a proxy's base), without a trailing slash. */
  baseUrl: string;
  /** The account's credentials, parsed by the descriptor's `credentials` schema. Never logged. */
  credentials: Credentials;
  limits: ProviderLimits;
  /** Deadline of one call (headers and body), in ms; connecting gets at most 10 s of it. */
  timeoutMs: number;
  /** The provider's own settings, parsed by the descriptor's `options` schema. */
  options: Options;
}

/** The injectable outside world every adapter takes (conventions §6). */
export interface AdapterIo {
  /** undici dispatcher for every call (tests, proxies). Default: an agent owned by the adapter. */
  dispatcher?: Dispatcher;
  /** Logger for debug lines (never credentials). Default: silent. */
  logger?: Logger;
  /** Clock in ms since the epoch (`Retry-After` dates, signatures). Default `Date.now`. */
  now?: () => number;
}

/** What a provider is: everything of its descriptor but the transport. */
export interface ProviderDescription<
  Name extends string = string,
  Credentials extends Record<string, string> = Record<string, string>,
  Options extends Record<string, unknown> = Record<string, unknown>,
> {
  /** Provider name as used in jobs, queues and configuration, e.g. `liblib-v1`. */
  readonly name: Name;
  /** Prefix of its environment variables, e.g. `LIBLIB_V1` (`LIBLIB_V1_API_KEY`, ...). */
  readonly envPrefix: string;
  /** One line for listings and docs. */
  readonly description: string;
  /**
   * The account's credentials: an object of strings, each read from `<envPrefix>_<FIELD>` in upper
   * snake case (`accessKey` → `LIBLIB_ACCESS_KEY`).
   */
  readonly credentials: z.ZodObject<z.ZodRawShape, z.UnknownKeysParam, z.ZodTypeAny, Credentials>;
  /**
   * The provider's own settings beyond the common ones (base URL, limits, timeout): not secret,
   * each read from `<envPrefix>_<FIELD>` like the credentials, as a string or undefined; give each
   * field a default. Use `z.object({})` when there are none.
   */
  readonly options: z.ZodObject<z.ZodRawShape, z.UnknownKeysParam, z.ZodTypeAny, Options>;
  /** Defaults of an account's settings, each overridable per account. */
  readonly defaults: {
    readonly baseUrl: string;
    readonly limits: ProviderLimits;
    /** Deadline of one call (headers and body), in ms. */
    readonly timeoutMs: number;
  };
  readonly capabilities: ProviderCapabilities;
  /** Operations by name, e.g. `kontext.text2img`. */
  readonly operations: Readonly<Record<string, OperationSpec>>;
  /**
   * A valid job for this provider: the demo submits it (with its own prompt), docs show it, the
   * conformance tests start from it.
   */
  readonly example: { readonly operation: string; readonly input: Readonly<Record<string, unknown>> };
}

/** A provider's self-description, and the factory of its transport. */
export interface ProviderDescriptor<
  Name extends string = string,
  Credentials extends Record<string, string> = Record<string, string>,
  Options extends Record<string, unknown> = Record<string, unknown>,
> extends ProviderDescription<Name, Credentials, Options> {
  /** Builds the transport of one account. The adapter owns its sockets until `close()`. */
  createAdapter(account: ProviderAccount<Credentials, Options>, io: AdapterIo): Provider;
}

/**
 * What the API needs of a provider to validate and list its jobs: no credential, no transport.
 */
export type ProviderOperations = Pick<ProviderDescription, 'name' | 'description' | 'operations'>;

/** Declares a descriptor, keeping its literal name and its credentials' and options' types. */
export function defineProvider<
  const Name extends string,
  Credentials extends Record<string, string>,
  Options extends Record<string, unknown>,
>(
  descriptor: ProviderDescriptor<Name, Credentials, Options>,
): ProviderDescriptor<Name, Credentials, Options> {
  if (!Object.hasOwn(descriptor.operations, descriptor.example.operation)) {
    throw new Error(
      `${descriptor.name}: the example's operation "${descriptor.example.operation}" is unknown`,
    );
  }
  return Object.freeze(descriptor);
}

/**
 * The environment variable of a credential or option field: `LIBLIB` + `accessKey` →
 * `LIBLIB_ACCESS_KEY`.
 */
export function credentialVariable(envPrefix: string, field: string): string {
  return `${envPrefix}_${field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/**
 * A provider's settings in the configuration: the `default` account's, from the single-account
 * variables. `credentials` is undefined where they are not set (the API needs none).
 */
export interface ProviderSettings<
  Credentials extends object = Record<string, string>,
  Options extends object = Record<string, unknown>,
> extends Omit<ProviderAccount<Credentials, Options>, 'id' | 'credentials'> {
  credentials: Credentials | undefined;
}
