import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, hasCredentials, loadConfig } from './config.ts';

const SECRET = 'sk-very-secret-value';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('provider accounts', () => {
  it('reads <PROVIDER>_ACCOUNTS, defaulting limits to the provider variables', () => {
    const config = loadConfig({
      LIBLIB_MAX_IN_FLIGHT: '3',
      LIBLIB_ACCOUNTS: JSON.stringify([
        { id: 'main', accessKey: 'a1', secretKey: 's1', submitQps: 2, maxInFlight: 5 },
        {
          id: 'team2',
          accessKey: 'a2',
          secretKey: 's2',
          weight: 2,
          tags: ['lora-x'],
          baseUrl: 'http://127.0.0.1:9/',
        },
      ]),
    });
    expect(config.accounts.liblib).toEqual([
      {
        id: 'main',
        baseUrl: 'https://openapi.liblibai.cloud',
        credentials: { accessKey: 'a1', secretKey: 's1' },
        limits: { submitQps: 2, maxInFlight: 5 },
        timeoutMs: 30_000,
        options: {},
        weight: 1,
        tags: [],
      },
      {
        id: 'team2',
        baseUrl: 'http://127.0.0.1:9',
        credentials: { accessKey: 'a2', secretKey: 's2' },
        limits: { submitQps: 1, maxInFlight: 3 },
        timeoutMs: 30_000,
        options: {},
        weight: 2,
        tags: ['lora-x'],
      },
    ]);
    expect(config.enabledProviders).toEqual(['liblib']);
  });

  it('makes the single-account variables the account "default"', () => {
    const config = loadConfig({ REPLICATE_API_TOKEN: 'r8_x' });
    expect(config.accounts.replicate).toMatchObject([
      { id: 'default', credentials: { apiToken: 'r8_x' }, weight: 1, tags: [] },
    ]);
    expect(config.accounts.liblib).toEqual([]);
    expect(config.enabledProviders).toEqual(['replicate']);
  });

  it('reads GENQUEUE_ACCOUNTS_FILE keyed by provider', () => {
    const dir = mkdtempSync(join(tmpdir(), 'genq-accounts-'));
    const file = join(dir, 'accounts.json');
    writeFileSync(
      file,
      JSON.stringify({
        modelverse: [
          { id: 'a', apiKey: 'k1' },
          { id: 'b', apiKey: 'k2' },
        ],
      }),
    );
    const config = loadConfig({ GENQUEUE_ACCOUNTS_FILE: file });
    expect(config.accounts.modelverse.map((a) => a.id)).toEqual(['a', 'b']);
    expect(config.accounts.modelverse[1]!.credentials).toEqual({ apiKey: 'k2' });

    writeFileSync(file, JSON.stringify({ nope: [] }));
    expect(problemsOf({ GENQUEUE_ACCOUNTS_FILE: file })).toMatch(
      /GENQUEUE_ACCOUNTS_FILE: unknown provider "nope"/,
    );
    expect(problemsOf({ GENQUEUE_ACCOUNTS_FILE: join(dir, 'missing.json') })).toMatch(/cannot read .*ENOENT/);
    writeFileSync(file, `{"liblib": [{"id":"x","accessKey":"${SECRET}"`);
    const message = problemsOf({ GENQUEUE_ACCOUNTS_FILE: file });
    expect(message).toMatch(/is not valid JSON/);
    expect(message).not.toContain(SECRET);
  });

  it('refuses two forms for one provider, naming both', () => {
    const accounts = JSON.stringify([{ id: 'main', apiKey: 'k' }]);
    expect(problemsOf({ MODELVERSE_ACCOUNTS: accounts, MODELVERSE_API_KEY: 'k' })).toMatch(
      /MODELVERSE_ACCOUNTS and MODELVERSE_API_KEY/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'genq-accounts-'));
    const file = join(dir, 'accounts.json');
    writeFileSync(file, JSON.stringify({ modelverse: [{ id: 'f', apiKey: 'k' }] }));
    expect(problemsOf({ MODELVERSE_ACCOUNTS: accounts, GENQUEUE_ACCOUNTS_FILE: file })).toMatch(
      /MODELVERSE_ACCOUNTS and GENQUEUE_ACCOUNTS_FILE \(modelverse\)/,
    );
  });

  it('takes entries without any credential field, for a process that submits nothing (the API)', () => {
    const config = loadConfig({
      LIBLIB_ACCOUNTS: JSON.stringify([{ id: 'main' }, { id: 'team2', maxInFlight: 2, tags: ['lora-x'] }]),
    });
    expect(config.accounts.liblib.map((a) => [a.id, a.credentials, a.limits.maxInFlight, a.tags])).toEqual([
      ['main', {}, 5, []],
      ['team2', {}, 2, ['lora-x']],
    ]);
    expect(config.accounts.liblib.map(hasCredentials)).toEqual([false, false]);
    expect(config.enabledProviders).toEqual(['liblib']);
    // A misspelt credential field is not taken for "no credentials".
    expect(problemsOf({ LIBLIB_ACCOUNTS: JSON.stringify([{ id: 'main', acessKey: SECRET }]) })).toMatch(
      /account "main", field acessKey: unknown field/,
    );
  });

  it('names the account and the field at fault, and never prints a secret', () => {
    const message = problemsOf({
      LIBLIB_ACCOUNTS: JSON.stringify([
        { id: 'main', accessKey: SECRET },
        { id: 'bad id!', accessKey: SECRET, secretKey: SECRET },
        { id: 'q', accessKey: SECRET, secretKey: SECRET, submitQps: -1, maxInFlight: 1.5, tags: [1] },
        { id: 'dup', accessKey: SECRET, secretKey: SECRET, token: SECRET },
        { id: 'dup', accessKey: SECRET, secretKey: SECRET },
        { id: 'dup2', accessKey: 7, secretKey: SECRET },
      ]),
    });
    expect(message).toMatch(/LIBLIB_ACCOUNTS: account "main", field secretKey: Required/);
    expect(message).toMatch(/account #2, field id: must be 1 to 32 letters/);
    expect(message).toMatch(/account "q", field submitQps/);
    expect(message).toMatch(/account "q", field maxInFlight/);
    expect(message).toMatch(/account "q", field tags\.0/);
    expect(message).toMatch(/account "dup", field token: unknown field/);
    expect(message).toMatch(/account "dup", field id: used by two accounts/);
    expect(message).toMatch(/account "dup2", field accessKey/);
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('bad id!');

    const broken = problemsOf({ LIBLIB_ACCOUNTS: `[{"id":"a","accessKey":"${SECRET}"` });
    expect(broken).toMatch(/LIBLIB_ACCOUNTS: is not valid JSON/);
    expect(broken).not.toContain(SECRET);
    expect(problemsOf({ LIBLIB_ACCOUNTS: '[]' })).toMatch(/must be a non-empty array/);
    expect(problemsOf({ LIBLIB_ACCOUNTS: `{"id":"a"}` })).toMatch(/must be a non-empty array/);
  });
});
