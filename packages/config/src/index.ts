/**
 * `@genqueue/config`: the deployment's configuration, parsed once from the environment
 * (conventions §3). The per-provider variables derive from `@genqueue/providers`' catalog.
 */
export type { AccountConfig, Config, ProvidersConfig } from './config.ts';
export { ConfigError, hasCredentials, loadConfig, STANDARD_WEBHOOK_SCHEDULE_MS } from './config.ts';
export type { ApiKeyConfig, ApiRateLimits, Scope, TenantSettings } from './tenants.ts';
export { DEFAULT_TENANT, keyDigest, SCOPES, TENANT_NAME, tenantSettings, tenantWeights } from './tenants.ts';
