/**
 * Tenants and their API keys: `API_KEYS` (a JSON array of keys, each of one tenant with scopes),
 * `TENANTS` (a JSON object of per-tenant quotas and weights) and the API's own rate limits.
 *
 * Messages name the entry (`key #2 of tenant "acme"`) and the field, never a value: the entries
 * hold secrets.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_TENANT } from '@genqueue/core';
import { z } from 'zod';
import { entryIssues } from './internal/entry-issues.ts';

export { DEFAULT_TENANT };

/** What a key may do. `admin` includes the other two, for every tenant. */
export const SCOPES = ['jobs:write', 'jobs:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** A tenant's name: what records, keys and quotas are filed under. */
export const TENANT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** One configured API key. The key itself is never kept: only its SHA-256. */
export interface ApiKeyConfig {
  tenant: string;
  /** Hex SHA-256 of the key (what a caller's bearer token is compared with). */
  sha256: string;
  scopes: readonly Scope[];
}

/** A tenant's quotas and share. Every field is optional; absent means unlimited (weight 1). */
export interface TenantSettings {
  /** Share of the submissions when several tenants have work queued (relative). Default 1. */
  weight: number;
  /** Most jobs the tenant may have `queued` at once; new work past it answers 429. */
  maxQueuedJobs?: number;
  /** Provider points the tenant may spend per UTC day; new work once reached answers 429. */
  dailyPoints?: number;
}

/** The API's own rate limits. */
export interface ApiRateLimits {
  /** Requests per second each key may make on average (token bucket refill); 0 turns it off. */
  perKeyPerSecond: number;
  /** Requests a key may make at once before the rate applies (bucket size). */
  perKeyBurst: number;
  /** Failed authentications per source address per window before further attempts answer 429. */
  authFailures: number;
  /** The failed-authentication window, in milliseconds. */
  authFailureWindowMs: number;
}

type Problem = { variable: string; message: string };

/** Hex SHA-256 of a key, as `ApiKeyConfig.sha256` holds it. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const keyEntry = z
  .object({
    tenant: z.string().regex(TENANT_NAME, 'must be 1 to 64 letters, digits, _ or -'),
    key: z
      .string()
      .min(16, 'must be at least 16 characters')
      .max(512, 'must be at most 512 characters')
      .optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (the SHA-256 of the key)')
      .optional(),
    scopes: z.array(z.enum(SCOPES)).min(1, 'must name at least one scope'),
  })
  .strict();

/** `API_KEYS`: `[{ "tenant", "key" | "sha256", "scopes": [...] }, …]`. */
export function parseApiKeys(raw: string | undefined, problems: Problem[]): ApiKeyConfig[] {
  const variable = 'API_KEYS';
  if (raw === undefined || raw.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push({ variable, message: 'is not valid JSON (expected an array of keys)' });
    return [];
  }
  if (!Array.isArray(parsed)) {
    problems.push({ variable, message: 'must be a JSON array of keys' });
    return [];
  }
  const keys: ApiKeyConfig[] = [];
  const seen = new Map<string, string>();
  const perTenant = new Map<string, number>();
  parsed.forEach((item, index) => {
    const tenant =
      item && typeof item === 'object' && typeof (item as { tenant?: unknown }).tenant === 'string'
        ? (item as { tenant: string }).tenant
        : undefined;
    const named = tenant !== undefined && TENANT_NAME.test(tenant);
    const n = named ? (perTenant.get(tenant) ?? 0) + 1 : 0;
    if (named) perTenant.set(tenant, n);
    const who = named ? `key #${n} of tenant "${tenant}"` : `entry #${index + 1}`;
    const result = keyEntry.safeParse(item);
    if (!result.success) {
      // enum issues quote the value received; a scope is no secret, but keep to one rule
      const wording = (issue: z.ZodIssue) =>
        issue.code === 'invalid_enum_value' ? `must be one of ${SCOPES.join(', ')}` : issue.message;
      for (const { field, message } of entryIssues(result.error, wording)) {
        problems.push({ variable, message: `${who}, field ${field}: ${message}` });
      }
      return;
    }
    const { key, sha256, scopes } = result.data;
    if ((key === undefined) === (sha256 === undefined)) {
      problems.push({ variable, message: `${who}: give exactly one of key and sha256` });
      return;
    }
    const digest = key !== undefined ? keyDigest(key) : sha256!.toLowerCase();
    const earlier = seen.get(digest);
    if (earlier) {
      problems.push({ variable, message: `${who}: the same key as ${earlier}` });
      return;
    }
    seen.set(digest, who);
    keys.push({ tenant: result.data.tenant, sha256: digest, scopes: [...new Set(scopes)] });
  });
  return keys;
}

const tenantEntry = z
  .object({
    weight: z.number().positive('must be a positive number').max(1000, 'must be at most 1000').optional(),
    maxQueuedJobs: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
    dailyPoints: z.number().nonnegative('must be 0 or more').optional(),
  })
  .strict();

/** `TENANTS`: `{ "<tenant>": { "weight"?, "maxQueuedJobs"?, "dailyPoints"? }, … }`. */
export function parseTenants(raw: string | undefined, problems: Problem[]): Record<string, TenantSettings> {
  const variable = 'TENANTS';
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push({ variable, message: 'is not valid JSON (expected an object of tenants)' });
    return {};
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push({ variable, message: 'must be a JSON object keyed by tenant name' });
    return {};
  }
  const tenants: Record<string, TenantSettings> = {};
  for (const [index, [name, value]] of Object.entries(parsed as Record<string, unknown>).entries()) {
    if (!TENANT_NAME.test(name)) {
      problems.push({
        variable,
        message: `tenant #${index + 1}: name must be 1 to 64 letters, digits, _ or -`,
      });
      continue;
    }
    const result = tenantEntry.safeParse(value);
    if (!result.success) {
      for (const { field, message } of entryIssues(result.error)) {
        problems.push({ variable, message: `tenant "${name}", field ${field}: ${message}` });
      }
      continue;
    }
    tenants[name] = { weight: result.data.weight ?? 1, ...withoutUndefined(result.data) };
  }
  return tenants;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The tenants' weights as the fair share takes them (`FairShare` in `@genqueue/core`). */
export function tenantWeights(tenants: Readonly<Record<string, TenantSettings>>): {
  weightOf: (tenant: string) => number;
  maxWeight: number;
} {
  return {
    weightOf: (tenant) => tenantSettings(tenants, tenant).weight,
    maxWeight: Math.max(1, ...Object.values(tenants).map((t) => t.weight)),
  };
}

/** A tenant's settings, the defaults (weight 1, no quota) when `TENANTS` does not name it. */
export function tenantSettings(
  tenants: Readonly<Record<string, TenantSettings>>,
  tenant: string,
): TenantSettings {
  return tenants[tenant] ?? { weight: 1 };
}
