/**
 * What the API app and its routers are built from. Its own file, so `app.ts` (which mounts the
 * routers) and `routes/*` (which take these deps) do not import each other.
 */
import type { Readable } from 'node:stream';
import type { Config } from '@genqueue/config';
import type {
  JobLifecycle,
  JobStore,
  Logger,
  ObjectUrlFn,
  Provider,
  ProviderOperations,
  QueueSet,
  RedisClient,
} from '@genqueue/core';
import type { AccountPool } from '@genqueue/limiter';
import type { AuthGuard } from './access.ts';
import type { KeyRing } from './key-ring.ts';
import type { TenantQuotas } from './quotas.ts';

/** Everything the app needs from the outside world. */
export interface ApiDeps {
  /** Parsed once by the process; the app reads `apiTokens`, `apiKeys`, `tenants`, `rateLimits` and `admin`. */
  config: Config;
  store: JobStore;
  queues: QueueSet;
  /**
   * The deployment's Redis connection (ioredis), for what the API reads and writes outside BullMQ
   * and the job store: the account pools' keys, the keys the admin routes create, the API's rate
   * limits. Not the queues' `client`, which BullMQ wraps in an
   * adapter whose transactions take `hset(key, object)` only.
   */
  redis: RedisClient;
  /** Cancels jobs and batches, retries batches. Default: one built from `store`, `queues` and `logger`. */
  lifecycle?: JobLifecycle;
  /**
   * The enabled providers by name, as the catalog describes them: their `operations[op].schema`
   * validate job inputs. The API holds no adapter and no provider credential.
   */
  providers: ReadonlyMap<string, ProviderOperations>;
  /**
   * The model lookup of a provider (`GET /v1/providers/:provider/models/:modelId`), or undefined
   * when it has none or this process lacks its credentials: the one call the API makes to a
   * provider itself, so it works only where the API is given that provider's credentials.
   */
  modelLookup?: (provider: string) => Provider['lookupModel'];
  /** URL of a stored output (public or presigned). */
  objectUrl: ObjectUrlFn;
  /** SSRF guard: resolves for a URL we may hand to a fetcher; throws an Error with a message otherwise. */
  checkUrl: (url: string) => Promise<void>;
  /**
   * Reads a stored object for the gallery (`/ui/files/…`); undefined when it does not exist.
   * Without it the gallery shows no images.
   */
  readObject?: ReadObjectFn;
  /** Resolves when S3 answers (for `/readyz`). */
  s3Ready: () => Promise<void>;
  /** Resolves when Redis answers (for `/readyz`). */
  redisReady: () => Promise<void>;
  /**
   * Whether Redis can take a command right now (`watchConnection` of `@genqueue/core`). While it
   * cannot, every route but the probes answers `503 unavailable` with `Retry-After` at once.
   * Default: always up.
   */
  redisUp?: () => boolean;
  logger: Logger;
  /** Clock in epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Time limit of each `/readyz` check, in milliseconds. Default 900 (the probe answers within 1 s). */
  readyTimeoutMs?: number;
}

/** Opens a stored object for reading. */
export type ReadObjectFn = (
  bucket: string,
  key: string,
) => Promise<{ body: Readable; contentType?: string; contentLength?: number } | undefined>;

/** What the routers get: the app's deps with the parts every route shares. */
export type RouteDeps = ApiDeps & {
  lifecycle: JobLifecycle;
  keys: KeyRing;
  quotas: TenantQuotas;
  authGuard: Required<AuthGuard>;
  /**
   * Each enabled provider's account pool (`accountPools`), built once: the jobs route checks pins
   * and tags against it, `/v1/accounts` and `/metrics` read and change its accounts.
   */
  pools: ReadonlyMap<string, AccountPool>;
};
