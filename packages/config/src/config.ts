/**
 * Configuration, parsed once from the environment at start-up (conventions §3).
 * `loadConfig` returns a frozen object or throws one `ConfigError` listing every bad variable.
 * Units are in the names (`_MS`, `_QPS`, `_SECONDS`, `_BYTES`).
 */

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  credentialVariable,
  type ProviderAccount,
  type ProviderSettings,
  type RedisSettings,
  redisKeyLayout,
} from '@genqueue/core';
import {
  type CatalogDescriptor,
  defaultAccount,
  isProviderName,
  PROVIDER_CATALOG,
  PROVIDER_NAMES,
  type ProviderName,
  type ProvidersSettings,
} from '@genqueue/providers';
import { z } from 'zod';
import { entryIssues } from './internal/entry-issues.ts';
import {
  type ApiKeyConfig,
  type ApiRateLimits,
  parseApiKeys,
  parseTenants,
  type TenantSettings,
} from './tenants.ts';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v === 'true' || v === '1'));

const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

const positive = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be a positive number' });
        return z.NEVER;
      }
      return n;
    });

const url = (fallback?: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v.trim() === '' ? fallback : v.trim();
      if (value === undefined) return undefined;
      try {
        const parsed = new URL(value);
        if (!['http:', 'https:', 'redis:', 'rediss:'].includes(parsed.protocol)) throw new Error();
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a URL' });
        return z.NEVER;
      }
      return value.replace(/\/+$/, '');
    });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Standard Webhooks' retry schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const STANDARD_WEBHOOK_SCHEDULE_MS = [
  0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** Comma-separated `host:port` seeds (Redis Cluster nodes, Sentinels). */
const hostPorts = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const nodes: { host: string; port: number }[] = [];
    for (const entry of (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not host:port` });
        return z.NEVER;
      }
      nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
    }
    return nodes;
  });

const redisEnv = {
  /** One Redis (`redis://` or `rediss://` for TLS, credentials in the URL). Ignored in Cluster or Sentinel mode. */
  REDIS_URL: url('redis://127.0.0.1:6379'),
  /** Redis Cluster seed nodes (`host:port,…`): when set, every process uses Redis Cluster. */
  REDIS_CLUSTER_NODES: hostPorts,
  /** Sentinels (`host:port,…`) and the master name they watch: when set, every process uses Sentinel. */
  REDIS_SENTINELS: hostPorts,
  REDIS_SENTINEL_NAME: optionalString,
  /** ACL user and password of the Redis data nodes (all modes; in single mode they override the URL's). */
  REDIS_USERNAME: optionalString,
  REDIS_PASSWORD: optionalString,
  /** ACL user and password of the Sentinels themselves, when they require one. */
  REDIS_SENTINEL_USERNAME: optionalString,
  REDIS_SENTINEL_PASSWORD: optionalString,
  /** TLS to every Redis node (and every Sentinel); `rediss://` implies it in single mode. */
  REDIS_TLS: bool(false),
  /** PEM file of the CA that signed the Redis servers' certificates (default: the system's CAs). */
  REDIS_TLS_CA_FILE: optionalString,
  QUEUE_PREFIX: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'genq' : v))
    .pipe(
      z
        .string()
        .regex(
          /^(\{[A-Za-z0-9_.-]+\}|[A-Za-z0-9_.-]+)$/,
          'a name of letters, digits, _ - . (braces optional)',
        ),
    ),
};

const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** Comma-separated host names, IP addresses and CIDR networks (`SINK_ALLOWED_HOSTS`). */
const hostAllowList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const hostnames: string[] = [];
    const networks: { address: string; prefix: number }[] = [];
    for (const entry of (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [address = '', prefixText, extra] = entry.replace(/^\[|\](?=\/|$)/g, '').split('/');
      const family = isIP(address);
      if (family !== 0 && extra === undefined) {
        const max = family === 4 ? 32 : 128;
        const prefix = prefixText === undefined ? max : Number(prefixText);
        if (/^\d{1,3}$/.test(prefixText ?? String(max)) && prefix <= max) {
          networks.push({ address, prefix });
          continue;
        }
      } else if (prefixText === undefined && HOSTNAME.test(entry)) {
        hostnames.push(entry.toLowerCase().replace(/\.$/, ''));
        continue;
      }
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not a host name, an IP address or a CIDR network (like 10.0.0.0/8)`,
      });
      return z.NEVER;
    }
    return { hostnames, networks };
  });

const envSchema = z.object({
  ...redisEnv,
  PORT: int(3000, 0, 65535),
  API_TOKENS: list,
  /** Keys of tenants with scopes, a JSON array (parsed by `parseApiKeys`, never echoed). */
  API_KEYS: z.string().optional(),
  /** Per-tenant quotas and weights, a JSON object (`parseTenants`). */
  TENANTS: z.string().optional(),
  /** Requests per second per API key (token bucket refill); 0 turns the limit off. */
  API_RATE_PER_SECOND: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return 50;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) {
        ctx.addIssue({ code: 'custom', message: 'must be a number, 0 or more' });
        return z.NEVER;
      }
      return n;
    }),
  /** Requests a key may make at once before `API_RATE_PER_SECOND` applies. */
  API_RATE_BURST: int(500, 1, 1_000_000),
  /** Failed authentications per source address per window; past it, attempts answer 429. */
  AUTH_FAILURES_MAX: int(30, 1, 1_000_000),
  AUTH_FAILURE_WINDOW_MS: int(60_000, 1_000, 86_400_000),
  ADMIN_USER: optionalString,
  ADMIN_PASSWORD: optionalString,
  /** Bearer tokens of the admin routes (`/v1/accounts`), comma-separated; not API tokens. */
  ADMIN_TOKENS: list,
  METRICS_TOKEN: optionalString,
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .optional()
    .default('info'),

  /**
   * The providers jobs may name, comma-separated (`liblib,replicate`). Needs no secret, so the API
   * can know them without any provider credential. Default: every provider whose credentials are
   * set. Workers need the credentials of every provider enabled here.
   */
  PROVIDERS: list,

  /** Extra length of the QPS window, because the provider measures it strictly (see the limiter). */
  SUBMIT_MARGIN_MS: int(10, 0, 10_000),
  /** A submission whose worker died mid-call stops holding the QPS window after this. */
  SUBMIT_TURN_TTL_MS: int(35_000, 1_000),
  /** A slot lease outlives a dead worker by the provider's 30-minute task timeout plus margin. */
  LEASE_TTL_MS: int(35 * 60_000, 1_000),
  /** The longest a provider's `Retry-After` is obeyed; longer answers are capped (and logged). */
  RETRY_AFTER_MAX_MS: int(600_000, 0),
  POLL_MIN_INTERVAL_MS: int(250, 10),
  POLL_MAX_INTERVAL_MS: int(1_000, 10),
  /** Shortest interval of the schedule learned from earlier tasks' durations, around their likely end. */
  POLL_DENSE_INTERVAL_MS: int(50, 10),
  /** Status queries the learned schedule spreads over the window in which earlier tasks ended. */
  POLL_WINDOW_QUERIES: int(24, 1, 1_000),
  /**
   * Waits between status queries up to this long are slept inside the poll processor rather than
   * through BullMQ's delayed set, which Redis wakes only on its `hz` tick (100 ms by default).
   * Below POLL_MIN_INTERVAL_MS by default, so only the dense queries near a task's end hold a
   * concurrency slot while they wait. 0 sends every wait through BullMQ.
   */
  POLL_HOLD_MAX_MS: int(200, 0, 1_000),
  /** Status queries per second per provider account, across all workers. */
  STATUS_QUERY_MAX_QPS: int(50, 1, 100_000),
  ACCOUNT_PROBE_INTERVAL_MS: int(60_000, 100),
  SUBMIT_ATTEMPTS: int(8, 1, 100),
  TRANSIENT_BACKOFF_MS: int(1_000, 1),
  JOB_RETENTION_SECONDS: int(7 * 86_400, 60),
  SHUTDOWN_GRACE_MS: int(10_000, 0),
  /** How long a worker's lock on an active job lasts; a killed worker's jobs come back after it. */
  WORKER_LOCK_MS: int(30_000, 500),
  /** When set, a healthy worker touches this file every 10 s (for container health checks). */
  WORKER_HEARTBEAT_FILE: optionalString,
  POLL_CONCURRENCY: int(50, 1, 1000),
  SINK_CONCURRENCY: int(4, 1, 100),
  /** How often one worker (under a Redis lock) looks for live jobs with nothing scheduled to move them. */
  RECONCILE_INTERVAL_MS: int(60_000, 100),
  /** A live job with no progress for this long is checked by the reconciler. */
  RECONCILE_STALE_MS: int(300_000, 1),
  /**
   * A task the provider still reports alive this long after its submission fails (and frees its
   * slot): LiblibAI times tasks out after 30 minutes (002 §4.3.1, status 7), plus 5 of margin.
   */
  TASK_DEADLINE_MS: int(35 * 60_000, 1_000),

  S3_ENDPOINT: url(),
  S3_REGION: z.string().optional().default('us-east-1'),
  S3_BUCKET: z.string().optional().default('genqueue'),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: bool(false),
  /** When set, output URLs are `${S3_PUBLIC_URL}/${key}`; otherwise they are presigned. */
  S3_PUBLIC_URL: url(),
  S3_PRESIGN_TTL_SECONDS: int(86_400, 1, 604_800),
  SINK_MAX_BYTES: int(512 * 1024 * 1024, 1),
  SINK_ATTEMPTS: int(10, 1, 100),
  /**
   * Private result hosts the sink may download from (a provider or proxy serving results from a
   * private address); every other private target is refused unless `WEBHOOK_ALLOW_PRIVATE`.
   */
  SINK_ALLOWED_HOSTS: hostAllowList,

  WEBHOOK_SECRET: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
    .refine((v) => v === undefined || /^whsec_[A-Za-z0-9+/=]+$/.test(v), 'must be whsec_ followed by base64'),
  WEBHOOK_ALLOW_PRIVATE: bool(false),
  WEBHOOK_TIMEOUT_MS: int(15_000, 1),
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return STANDARD_WEBHOOK_SCHEDULE_MS;
      const steps = v.split(',').map((s) => Number(s.trim()));
      if (steps.some((n) => !Number.isInteger(n) || n < 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be comma-separated non-negative integers' });
        return z.NEVER;
      }
      return steps;
    }),
});

export type Config = Readonly<ReturnType<typeof buildConfig>>;

/** What `loadConfig` parses beside the schema: tenants and their keys. */
interface ParsedTenants {
  apiKeys: ApiKeyConfig[];
  tenants: Record<string, TenantSettings>;
}

function buildConfig(env: z.infer<typeof envSchema>, providers: ParsedProviders, tenancy: ParsedTenants) {
  return {
    redis: redisSettings(env),
    /** The BullMQ and job-store prefix, hash-tagged (`{genq}`); see `redisKeyLayout`. */
    queuePrefix: redisKeyLayout(env.QUEUE_PREFIX).queues,
    port: env.PORT,
    apiTokens: env.API_TOKENS,
    /** `API_KEYS`: each key's tenant, SHA-256 and scopes (`API_TOKENS` are tenant `default`, every scope). */
    apiKeys: tenancy.apiKeys,
    /** `TENANTS`: quotas and weights by tenant name (absent tenants: weight 1, no quota). */
    tenants: tenancy.tenants,
    rateLimits: {
      perKeyPerSecond: env.API_RATE_PER_SECOND,
      perKeyBurst: env.API_RATE_BURST,
      authFailures: env.AUTH_FAILURES_MAX,
      authFailureWindowMs: env.AUTH_FAILURE_WINDOW_MS,
    } satisfies ApiRateLimits,
    /**
     * Operators: Bull Board's Basic credentials (`user`, `password`), also accepted on the admin
     * routes, and the bearer `tokens` of the admin routes (`ADMIN_TOKENS`).
     */
    admin: { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD, tokens: env.ADMIN_TOKENS },
    metricsToken: env.METRICS_TOKEN,
    logLevel: env.LOG_LEVEL,
    providers: providers.settings,
    /** Every provider's accounts (`<P>_ACCOUNTS`, `GENQUEUE_ACCOUNTS_FILE`, or the single-account variables as `default`). */
    accounts: providers.accounts,
    /** The providers jobs may name, in catalog order. */
    enabledProviders: providers.enabled,
    limits: {
      submitMarginMs: env.SUBMIT_MARGIN_MS,
      submitTurnTtlMs: env.SUBMIT_TURN_TTL_MS,
      leaseTtlMs: env.LEASE_TTL_MS,
      retryAfterMaxMs: env.RETRY_AFTER_MAX_MS,
    },
    worker: {
      pollMinIntervalMs: env.POLL_MIN_INTERVAL_MS,
      pollMaxIntervalMs: Math.max(env.POLL_MAX_INTERVAL_MS, env.POLL_MIN_INTERVAL_MS),
      pollDenseIntervalMs: Math.min(env.POLL_DENSE_INTERVAL_MS, env.POLL_MAX_INTERVAL_MS),
      pollWindowQueries: env.POLL_WINDOW_QUERIES,
      // Below the longest interval, so a task's sparse phase never holds a concurrency slot.
      pollHoldMaxMs: Math.min(
        env.POLL_HOLD_MAX_MS,
        Math.max(env.POLL_MAX_INTERVAL_MS, env.POLL_MIN_INTERVAL_MS) - 1,
      ),
      statusQueryMaxQps: env.STATUS_QUERY_MAX_QPS,
      accountProbeIntervalMs: env.ACCOUNT_PROBE_INTERVAL_MS,
      submitAttempts: env.SUBMIT_ATTEMPTS,
      transientBackoffMs: env.TRANSIENT_BACKOFF_MS,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
      lockMs: env.WORKER_LOCK_MS,
      heartbeatFile: env.WORKER_HEARTBEAT_FILE,
      pollConcurrency: env.POLL_CONCURRENCY,
      sinkConcurrency: env.SINK_CONCURRENCY,
      reconcileIntervalMs: env.RECONCILE_INTERVAL_MS,
      reconcileStaleMs: env.RECONCILE_STALE_MS,
      taskDeadlineMs: env.TASK_DEADLINE_MS,
    },
    jobRetentionSeconds: env.JOB_RETENTION_SECONDS,
    s3: {
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION,
      bucket: env.S3_BUCKET,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      publicUrl: env.S3_PUBLIC_URL,
      presignTtlSeconds: env.S3_PRESIGN_TTL_SECONDS,
      maxObjectBytes: env.SINK_MAX_BYTES,
      attempts: env.SINK_ATTEMPTS,
      /** Private hosts the sink downloads from even without `WEBHOOK_ALLOW_PRIVATE` (`SINK_ALLOWED_HOSTS`). */
      allowedHosts: env.SINK_ALLOWED_HOSTS,
    },
    webhooks: {
      secret: env.WEBHOOK_SECRET,
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      retryScheduleMs: env.WEBHOOK_RETRY_SCHEDULE_MS,
    },
  };
}

type RedisEnv = z.infer<z.ZodObject<typeof redisEnv>>;

function redisSettings(env: RedisEnv): RedisSettings {
  const common = {
    username: env.REDIS_USERNAME,
    password: env.REDIS_PASSWORD,
    tls: env.REDIS_TLS,
    tlsCaFile: env.REDIS_TLS_CA_FILE,
  };
  if (env.REDIS_CLUSTER_NODES.length > 0)
    return { mode: 'cluster', nodes: env.REDIS_CLUSTER_NODES, ...common };
  if (env.REDIS_SENTINELS.length > 0) {
    return {
      mode: 'sentinel',
      sentinels: env.REDIS_SENTINELS,
      name: env.REDIS_SENTINEL_NAME!,
      sentinelUsername: env.REDIS_SENTINEL_USERNAME,
      sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
      ...common,
    };
  }
  return {
    mode: 'single',
    url: env.REDIS_URL!,
    ...common,
    tls: env.REDIS_TLS || env.REDIS_URL!.startsWith('rediss:'),
  };
}

/** The Redis variables that only make sense together. */
function checkRedisModes(env: RedisEnv, ctx: z.RefinementCtx): void {
  if (env.REDIS_CLUSTER_NODES.length > 0 && env.REDIS_SENTINELS.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_SENTINELS'],
      message: 'set either REDIS_CLUSTER_NODES (Redis Cluster) or REDIS_SENTINELS (Sentinel), not both',
    });
  }
  if (env.REDIS_SENTINELS.length > 0 && !env.REDIS_SENTINEL_NAME) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_SENTINEL_NAME'],
      message: 'required with REDIS_SENTINELS: the master name the Sentinels watch',
    });
  }
}

/** Thrown by `loadConfig`; its message lists every variable at fault, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/**
 * The variables of one provider, from its descriptor (`P` is its `envPrefix`): `P_BASE_URL`,
 * `P_SUBMIT_QPS`, `P_MAX_IN_FLIGHT`, `P_TIMEOUT_MS` (the deadline of one call, headers and body; a
 * hung call is a transient error after this long), one variable per
 * credential field (`P_ACCESS_KEY`, `P_API_TOKEN`, ...) and one per option field
 * (`REPLICATE_SUBMIT_TIMEOUT_MS`).
 */
function providerVariables(descriptor: CatalogDescriptor) {
  const p = descriptor.envPrefix;
  const { baseUrl, limits, timeoutMs } = descriptor.defaults;
  return {
    baseUrl: [`${p}_BASE_URL`, url(baseUrl)],
    submitQps: [`${p}_SUBMIT_QPS`, positive(limits.submitQps)],
    maxInFlight: [`${p}_MAX_IN_FLIGHT`, int(limits.maxInFlight, 1, 1000)],
    timeoutMs: [`${p}_TIMEOUT_MS`, int(timeoutMs, 100, 600_000)],
  } as const;
}

/**
 * One configured account of a provider: what its adapter takes, plus how the pool prefers it.
 * `credentials` is empty for an entry given without any credential field (see `hasCredentials`).
 */
export interface AccountConfig extends ProviderAccount {
  /** Ties between accounts with as many free slots go to the higher weight. */
  weight: number;
  /** Labels a job can require (`accountTags`), e.g. the private models or LoRAs the account owns. */
  tags: string[];
}

/** The providers section: each provider's settings, its accounts and which ones jobs may name. */
export interface ProvidersConfig {
  settings: ProvidersSettings;
  accounts: Readonly<Record<ProviderName, AccountConfig[]>>;
  enabled: ProviderName[];
}
type ParsedProviders = ProvidersConfig;
type Problem = { variable: string; message: string };

function parseProviders(env: Record<string, string | undefined>, problems: Problem[]): ParsedProviders {
  const settings: Record<string, ProviderSettings> = {};
  for (const descriptor of PROVIDER_CATALOG) {
    const values: Record<string, unknown> = {};
    for (const [key, [variable, schema]] of Object.entries(providerVariables(descriptor))) {
      const parsed = schema.safeParse(env[variable]);
      if (parsed.success) values[key] = parsed.data;
      else for (const issue of parsed.error.issues) problems.push({ variable, message: issue.message });
    }
    settings[descriptor.name] = {
      baseUrl: values.baseUrl as string,
      credentials: parseCredentials(descriptor, env, problems),
      options: parseOptions(descriptor, env, problems),
      limits: { submitQps: values.submitQps as number, maxInFlight: values.maxInFlight as number },
      timeoutMs: values.timeoutMs as number,
    };
  }
  const accounts = parseAccounts(env, settings as ProvidersSettings, problems);
  const listed = list.parse(env.PROVIDERS);
  for (const name of listed) {
    if (!isProviderName(name)) {
      problems.push({
        variable: 'PROVIDERS',
        message: `unknown provider "${name}"; known providers: ${PROVIDER_NAMES.join(', ')}`,
      });
    }
  }
  const enabled = PROVIDER_NAMES.filter((name) =>
    listed.length > 0 ? listed.includes(name) : accounts[name].length > 0,
  );
  return { settings: settings as ProvidersSettings, accounts, enabled };
}

/**
 * A provider's credentials: undefined when none of its credential variables is set, parsed by the
 * descriptor's schema when any is (so half a key pair is an error, not a silently absent provider).
 */
function parseCredentials(
  descriptor: CatalogDescriptor,
  env: Record<string, string | undefined>,
  problems: Problem[],
): Record<string, string> | undefined {
  const fields = Object.keys(descriptor.credentials.shape);
  const raw = Object.fromEntries(
    fields.map((field) => [
      field,
      optionalString.parse(env[credentialVariable(descriptor.envPrefix, field)]),
    ]),
  );
  if (Object.values(raw).every((v) => v === undefined)) return undefined;
  const parsed = descriptor.credentials.safeParse(raw);
  if (parsed.success) return parsed.data;
  const given = fields
    .filter((f) => raw[f] !== undefined)
    .map((f) => credentialVariable(descriptor.envPrefix, f));
  for (const issue of parsed.error.issues) {
    problems.push({
      variable: credentialVariable(descriptor.envPrefix, String(issue.path[0])),
      message:
        raw[String(issue.path[0])] === undefined ? `required when ${given.join(', ')} is set` : issue.message,
    });
  }
  return undefined;
}

/** A provider's own options (`<PREFIX>_<FIELD>`), each defaulted by the descriptor's schema. */
function parseOptions(
  descriptor: CatalogDescriptor,
  env: Record<string, string | undefined>,
  problems: Problem[],
): Record<string, unknown> {
  const variable = (field: string) => credentialVariable(descriptor.envPrefix, field);
  const raw = Object.fromEntries(
    Object.keys(descriptor.options.shape).map((field) => [field, optionalString.parse(env[variable(field)])]),
  );
  const parsed = descriptor.options.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    problems.push({ variable: variable(String(issue.path[0])), message: issue.message });
  }
  return {};
}

const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,32}$/;
const ACCOUNTS_FILE = 'GENQUEUE_ACCOUNTS_FILE';

/** The keys of an account entry besides the descriptor's credential fields. */
const accountFields = {
  id: z.string().regex(ACCOUNT_ID, 'must be 1 to 32 letters, digits, _ or -'),
  submitQps: z.number().positive().optional(),
  maxInFlight: z.number().int().min(1).max(1000).optional(),
  baseUrl: z.string().url().optional(),
  weight: z.number().positive().optional(),
  tags: z.array(z.string().min(1)).optional(),
};

/**
 * Each provider's accounts, from `<P>_ACCOUNTS` (a JSON array), from `GENQUEUE_ACCOUNTS_FILE` (the
 * same arrays keyed by provider) or, for the single-account variables, one account `default`. Two
 * sources for one provider are an error naming both. Messages name the account and the field and
 * never quote a value: the entries hold secrets.
 */
function parseAccounts(
  env: Record<string, string | undefined>,
  settings: ProvidersSettings,
  problems: Problem[],
): Record<ProviderName, AccountConfig[]> {
  const fromFile = readAccountsFile(env[ACCOUNTS_FILE]?.trim(), problems);
  const accounts = {} as Record<ProviderName, AccountConfig[]>;
  for (const descriptor of PROVIDER_CATALOG) {
    const name = descriptor.name;
    const variable = `${descriptor.envPrefix}_ACCOUNTS`;
    const single = defaultAccount(settings[name]);
    const sources: { label: string; raw: unknown }[] = [];
    const inline = env[variable]?.trim();
    if (inline) {
      try {
        sources.push({ label: variable, raw: JSON.parse(inline) });
      } catch {
        problems.push({ variable, message: 'is not valid JSON (expected an array of accounts)' });
        sources.push({ label: variable, raw: [] });
      }
    }
    if (fromFile && name in fromFile)
      sources.push({ label: `${ACCOUNTS_FILE} (${name})`, raw: fromFile[name] });
    const singleVariables = Object.keys(descriptor.credentials.shape)
      .map((field) => credentialVariable(descriptor.envPrefix, field))
      .filter((v) => optionalString.parse(env[v]) !== undefined);
    if (singleVariables.length > 0) sources.push({ label: singleVariables.join(', '), raw: undefined });
    if (sources.length > 1) {
      problems.push({
        variable: sources[0]!.label.split(' ')[0]!,
        message: `${name}'s accounts are set twice: ${sources.map((s) => s.label).join(' and ')}; use one form`,
      });
      accounts[name] = [];
      continue;
    }
    const source = sources[0];
    if (!source || source.raw === undefined) {
      accounts[name] = single ? [{ ...single, weight: 1, tags: [] }] : [];
      continue;
    }
    accounts[name] = parseAccountList(descriptor, settings[name], source.label, source.raw, problems);
  }
  return accounts;
}

function readAccountsFile(
  path: string | undefined,
  problems: Problem[],
): Record<string, unknown> | undefined {
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push({
      variable: ACCOUNTS_FILE,
      message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    });
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    problems.push({ variable: ACCOUNTS_FILE, message: `${path} is not valid JSON` });
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push({
      variable: ACCOUNTS_FILE,
      message: 'must hold an object of account arrays keyed by provider',
    });
    return undefined;
  }
  for (const key of Object.keys(parsed)) {
    if (!isProviderName(key)) {
      problems.push({
        variable: ACCOUNTS_FILE,
        message: `unknown provider "${key}"; known providers: ${PROVIDER_NAMES.join(', ')}`,
      });
    }
  }
  return parsed as Record<string, unknown>;
}

function parseAccountList(
  descriptor: CatalogDescriptor,
  settings: ProviderSettings,
  label: string,
  raw: unknown,
  problems: Problem[],
): AccountConfig[] {
  const variable = label.split(' ')[0]!;
  const where = label === variable ? '' : `${label.slice(variable.length + 1)}: `;
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push({ variable, message: `${label} must be a non-empty array of accounts` });
    return [];
  }
  const credentialFields = Object.keys(descriptor.credentials.shape);
  const withCredentials = z.object({ ...descriptor.credentials.shape, ...accountFields }).strict();
  // An entry with no credential field at all describes the account for a process that submits
  // nothing (the API: ids, limits and tags, for pins and the accounts routes); a worker refuses it.
  const withoutCredentials = z.object(accountFields).strict();
  const seen = new Set<string>();
  const accounts: AccountConfig[] = [];
  raw.forEach((item, index) => {
    const id =
      item && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string'
        ? (item as { id: string }).id
        : undefined;
    const who = id !== undefined && ACCOUNT_ID.test(id) ? `account "${id}"` : `account #${index + 1}`;
    const duplicate = id !== undefined && seen.has(id);
    if (id !== undefined) seen.add(id);
    if (duplicate) problems.push({ variable, message: `${where}${who}, field id: used by two accounts` });
    const described =
      item !== null &&
      typeof item === 'object' &&
      credentialFields.every((field) => !(field in (item as Record<string, unknown>)));
    const parsed = (described ? withoutCredentials : withCredentials).safeParse(item);
    if (!parsed.success) {
      for (const { field, message } of entryIssues(parsed.error)) {
        problems.push({ variable, message: `${where}${who}, field ${field}: ${message}` });
      }
      return;
    }
    const {
      id: accountId,
      submitQps,
      maxInFlight,
      baseUrl,
      weight,
      tags,
      ...credentials
    } = parsed.data as {
      id: string;
      submitQps?: number;
      maxInFlight?: number;
      baseUrl?: string;
      weight?: number;
      tags?: string[];
    } & Record<string, string>;
    if (duplicate) return;
    accounts.push({
      id: accountId,
      baseUrl: baseUrl?.replace(/\/+$/, '') ?? settings.baseUrl,
      credentials,
      limits: {
        submitQps: submitQps ?? settings.limits.submitQps,
        maxInFlight: maxInFlight ?? settings.limits.maxInFlight,
      },
      timeoutMs: settings.timeoutMs,
      options: settings.options,
      weight: weight ?? 1,
      tags: tags ?? [],
    });
  });
  return accounts;
}

/**
 * Whether an account can submit: an `<PREFIX>_ACCOUNTS` entry may leave out every credential field
 * for processes that only need to know the account (the API); workers refuse such an account.
 */
export function hasCredentials(account: Pick<ProviderAccount, 'credentials'>): boolean {
  return Object.keys(account.credentials).length > 0;
}

/** Parses the environment once. Throws `ConfigError` listing each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: Problem[] = [];
  const parsed = envSchema.superRefine(checkRedisModes).safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ variable: String(issue.path[0] ?? '?'), message: issue.message });
    }
  }
  const providers = parseProviders(env, problems);
  const tenancy = {
    apiKeys: parseApiKeys(env.API_KEYS, problems),
    tenants: parseTenants(env.TENANTS, problems),
  };
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(buildConfig(parsed.data, providers, tenancy));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
