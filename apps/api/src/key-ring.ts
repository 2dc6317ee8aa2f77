/**
 * API keys and who holds them. A key belongs to one tenant and carries scopes (`jobs:write`,
 * `jobs:read`, `admin`); it comes from the configuration (`API_KEYS`, and `API_TOKENS` as keys of
 * tenant `default` with both jobs scopes) or from the admin routes, which keep keys in Redis
 * ({@link ApiKeyStore}).
 *
 * No key is kept, only its SHA-256: a presented key is found by its digest (a map lookup, so the
 * time taken says nothing about how much of a key matched, and nothing about other keys). Keys
 * are named by an id derived from the digest (`k_…`), which logs and listings show instead.
 */
import { randomBytes } from 'node:crypto';
import { type Config, DEFAULT_TENANT, keyDigest, type Scope } from '@genqueue/config';
import type { RedisClient } from '@genqueue/core';

/** Who a request comes from: a key's tenant and scopes. */
export interface Principal {
  tenant: string;
  scopes: ReadonlySet<Scope>;
  /** Names the key (in logs, listings and gallery sessions), never the secret. */
  keyId: string;
  /** The key's hex SHA-256, which keys gallery sessions' MACs. */
  digest: string;
}

/** Whether the principal may see and act on every tenant's work. */
export function isAdmin(principal: Pick<Principal, 'scopes'>): boolean {
  return principal.scopes.has('admin');
}

/** Whether the principal holds `scope` (`admin` holds every scope). */
export function hasScope(principal: Pick<Principal, 'scopes'>, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

/** The id of a key with this digest. */
export function keyIdOf(digest: string): string {
  return `k_${digest.slice(0, 24)}`;
}

/** A stored key as the admin routes list it: no secret, no digest. */
export interface StoredKeyView {
  id: string;
  tenant: string;
  scopes: Scope[];
  label?: string;
  createdAt: string;
}

interface StoredKey {
  id: string;
  tenant: string;
  scopes: Scope[];
  label?: string;
  createdAt: number;
  digest: string;
}

/**
 * Keys created through the admin routes, in Redis: `{p}:api-keys` (HASH digest → key as JSON) and
 * `{p}:api-key-ids` (HASH id → digest), written together in one MULTI. The only writer of both.
 */
export class ApiKeyStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private get keysKey(): string {
    return `${this.prefix}:api-keys`;
  }

  private get idsKey(): string {
    return `${this.prefix}:api-key-ids`;
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside its holder. */
  async create(input: {
    tenant: string;
    scopes: Scope[];
    label?: string;
  }): Promise<{ key: string; view: StoredKeyView }> {
    const key = `gq_${randomBytes(32).toString('base64url')}`;
    const digest = keyDigest(key);
    const record: StoredKey = {
      id: keyIdOf(digest),
      tenant: input.tenant,
      scopes: [...new Set(input.scopes)],
      ...(input.label ? { label: input.label } : {}),
      createdAt: this.now(),
      digest,
    };
    await this.redis
      .multi()
      .hset(this.keysKey, digest, JSON.stringify(record))
      .hset(this.idsKey, record.id, digest)
      .exec();
    return { key, view: viewOf(record) };
  }

  /** Every stored key, oldest first. */
  async list(): Promise<StoredKeyView[]> {
    const raw = await this.redis.hvals(this.keysKey);
    return raw
      .map((value) => JSON.parse(value) as StoredKey)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      .map(viewOf);
  }

  /** Removes a key; false when there is none with this id. Its gallery sessions end with it. */
  async revoke(id: string): Promise<boolean> {
    const digest = await this.redis.hget(this.idsKey, id);
    if (!digest) return false;
    await this.redis.multi().hdel(this.keysKey, digest).hdel(this.idsKey, id).exec();
    return true;
  }

  /** The stored key with this digest. */
  async byDigest(digest: string): Promise<StoredKey | undefined> {
    const raw = await this.redis.hget(this.keysKey, digest);
    return raw ? (JSON.parse(raw) as StoredKey) : undefined;
  }

  /** The digest of the stored key with this id. */
  async digestOf(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.idsKey, id)) ?? undefined;
  }
}

function viewOf(record: StoredKey): StoredKeyView {
  return {
    id: record.id,
    tenant: record.tenant,
    scopes: record.scopes,
    ...(record.label ? { label: record.label } : {}),
    createdAt: new Date(record.createdAt).toISOString(),
  };
}

/** Every key the API accepts: the configured ones, then the stored ones. */
export class KeyRing {
  readonly #configured = new Map<string, { tenant: string; scopes: ReadonlySet<Scope> }>();
  readonly #configuredIds = new Map<string, string>();

  constructor(
    config: Pick<Config, 'apiTokens' | 'apiKeys'>,
    /** Keys created through the admin routes. */
    readonly stored: ApiKeyStore,
  ) {
    // What a token could do before tenants: its own (the only) tenant's work. Operators' routes
    // take an admin credential, which an API token is not.
    const jobs = new Set<Scope>(['jobs:read', 'jobs:write']);
    for (const token of config.apiTokens) this.add(keyDigest(token), DEFAULT_TENANT, jobs);
    for (const key of config.apiKeys) this.add(key.sha256, key.tenant, new Set(key.scopes));
  }

  private add(digest: string, tenant: string, scopes: ReadonlySet<Scope>): void {
    // A key listed twice keeps its first meaning (`API_TOKENS` first).
    if (this.#configured.has(digest)) return;
    this.#configured.set(digest, { tenant, scopes });
    this.#configuredIds.set(keyIdOf(digest), digest);
  }

  /** The principal holding `key`, or undefined when no key matches. */
  async authenticate(key: string): Promise<Principal | undefined> {
    return this.byDigest(keyDigest(key));
  }

  /** The principal of the key with this digest. */
  async byDigest(digest: string): Promise<Principal | undefined> {
    const configured = this.#configured.get(digest);
    if (configured) return { ...configured, keyId: keyIdOf(digest), digest };
    const stored = await this.stored.byDigest(digest);
    if (!stored) return undefined;
    return { tenant: stored.tenant, scopes: new Set(stored.scopes), keyId: stored.id, digest };
  }

  /** The principal of the key with this id (gallery sessions name keys by id). */
  async byId(id: string): Promise<Principal | undefined> {
    const digest = this.#configuredIds.get(id) ?? (await this.stored.digestOf(id));
    return digest ? this.byDigest(digest) : undefined;
  }
}
