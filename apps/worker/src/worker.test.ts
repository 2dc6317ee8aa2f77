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
});
