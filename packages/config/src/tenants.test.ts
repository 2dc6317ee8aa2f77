import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { keyDigest } from './tenants.ts';

const SECRET = 'super-secret-key-value-0001';

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('API_KEYS and TENANTS', () => {
  it('reads keys by value or by SHA-256, and keeps only digests', () => {
    const config = loadConfig({
      API_TOKENS: 'legacy-token-0123456789',
      API_KEYS: JSON.stringify([
        { tenant: 'acme', key: SECRET, scopes: ['jobs:read', 'jobs:write'] },
        { tenant: 'ops', sha256: keyDigest('ops-key-0123456789abcdef').toUpperCase(), scopes: ['admin'] },
      ]),
      TENANTS: JSON.stringify({ acme: { weight: 3, maxQueuedJobs: 1000, dailyPoints: 5000 } }),
    });
    expect(config.apiKeys).toEqual([
      { tenant: 'acme', sha256: keyDigest(SECRET), scopes: ['jobs:read', 'jobs:write'] },
      { tenant: 'ops', sha256: keyDigest('ops-key-0123456789abcdef'), scopes: ['admin'] },
    ]);
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(config.tenants).toEqual({ acme: { weight: 3, maxQueuedJobs: 1000, dailyPoints: 5000 } });
    expect(config.apiTokens).toEqual(['legacy-token-0123456789']);
  });

  it('names the entry and the field at fault, and never prints a key', () => {
    const message = problems({
      API_KEYS: JSON.stringify([
        { tenant: 'acme', key: SECRET, scopes: ['jobs:read'] },
        { tenant: 'acme', key: SECRET, scopes: ['jobs:delete'] },
        { tenant: 'beta', key: SECRET, sha256: keyDigest(SECRET), scopes: ['admin'] },
        { tenant: 'has space', key: 'short', scopes: [] },
        { tenant: 'gamma', key: `${SECRET}-2`, scopes: ['admin'], extra: SECRET },
      ]),
      TENANTS: JSON.stringify({ acme: { weight: -1, maxQueuedJobs: 1.5 }, 'bad name': {} }),
    });
    expect(message).toContain(
      'API_KEYS: key #2 of tenant "acme", field scopes.0: must be one of jobs:write, jobs:read, admin',
    );
    expect(message).toContain('API_KEYS: key #1 of tenant "beta": give exactly one of key and sha256');
    expect(message).toContain('API_KEYS: entry #4, field tenant: must be 1 to 64 letters, digits, _ or -');
    expect(message).toContain('API_KEYS: entry #4, field key: must be at least 16 characters');
    expect(message).toContain('API_KEYS: entry #4, field scopes: must name at least one scope');
    expect(message).toContain('API_KEYS: key #1 of tenant "gamma", field extra: unknown field');
    expect(message).toContain('TENANTS: tenant "acme", field weight: must be a positive number');
    expect(message).toContain('TENANTS: tenant "acme", field maxQueuedJobs: must be an integer');
    expect(message).toContain('TENANTS: tenant #2: name must be 1 to 64 letters, digits, _ or -');
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('short');
    expect(problems({ API_KEYS: `[{"tenant":"a","key":"${SECRET}"` })).toContain(
      'API_KEYS: is not valid JSON',
    );
    expect(
      problems({
        API_KEYS: JSON.stringify([
          { tenant: 'a', key: SECRET, scopes: ['admin'] },
          { tenant: 'b', sha256: keyDigest(SECRET), scopes: ['admin'] },
        ]),
      }),
    ).toContain('API_KEYS: key #1 of tenant "b": the same key as key #1 of tenant "a"');
  });

  it('parses the API rate limits with their defaults', () => {
    expect(loadConfig({}).rateLimits).toEqual({
      perKeyPerSecond: 50,
      perKeyBurst: 500,
      authFailures: 30,
      authFailureWindowMs: 60_000,
    });
    expect(problems({ API_RATE_PER_SECOND: '-1', AUTH_FAILURES_MAX: '0' })).toMatch(
      /API_RATE_PER_SECOND: must be a number, 0 or more[\s\S]*AUTH_FAILURES_MAX: must be an integer/,
    );
  });
});
