import { loadConfig } from '@genqueue/config';
import { silentLogger } from '@genqueue/core';
import { MissingCredentialsError } from '@genqueue/providers';
import { describe, expect, it } from 'vitest';
import { startWorker } from './worker.ts';

describe('startWorker', () => {
  it('refuses a provider that PROVIDERS enables without any account, naming where accounts go', async () => {
    const config = loadConfig({
      PROVIDERS: 'liblib,replicate',
      REPLICATE_API_TOKEN: 't',
      LOG_LEVEL: 'silent',
    });
    const refused = startWorker(config, { logger: silentLogger() });
    await expect(refused).rejects.toBeInstanceOf(MissingCredentialsError);
    await expect(refused).rejects.toThrow(
      'provider liblib is enabled but has no account (LIBLIB_ACCOUNTS or its credential variables)',
    );
  });

  it('refuses an account given without credentials (the API may know it so; a worker submits with it)', async () => {
    const config = loadConfig({
      LIBLIB_ACCOUNTS: JSON.stringify([{ id: 'main', accessKey: 'ak', secretKey: 'sk' }, { id: 'team2' }]),
      LOG_LEVEL: 'silent',
    });
    await expect(startWorker(config, { logger: silentLogger() })).rejects.toThrow(
      'provider liblib: account team2 has no credentials',
    );
  });
});
