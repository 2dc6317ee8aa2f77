import { loadConfig, ProviderError } from '@genqueue/core';
import { startSimulator } from '@genqueue/simulator';
import { describe, expect, it } from 'vitest';
import { createProviders } from './index.ts';

describe('createProviders', () => {
  it('builds only the configured adapters', () => {
    expect([...createProviders(loadConfig({})).keys()]).toEqual([]);
    const config = loadConfig({ LIBLIB_ACCESS_KEY: 'ak', LIBLIB_SECRET_KEY: 'sk', REPLICATE_API_TOKEN: 't' });
    expect([...createProviders(config).keys()].sort()).toEqual(['liblib', 'replicate']);
  });

  it('gives up on a hung LiblibAI call after LIBLIB_TIMEOUT_MS, as a transient error', async () => {
    const sim = await startSimulator({ latencyMs: { min: 100, max: 100 } });
    const config = loadConfig({
      LIBLIB_BASE_URL: sim.url,
      LIBLIB_ACCESS_KEY: sim.options.accessKey,
      LIBLIB_SECRET_KEY: sim.options.secretKey,
      LIBLIB_TIMEOUT_MS: '300',
    });
    const liblib = createProviders(config).get('liblib')!;
    try {
      sim.inject({ kind: 'hang', endpoint: 'submit' });
      const error = await liblib
        .submit('kontext.text2img', { prompt: 'a hung call' }, { jobId: 'j_1' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ errorClass: 'transient', ambiguous: true });
      expect((error as Error).message).toMatch(/300 ms/);
    } finally {
      await liblib.close?.();
      await sim.close();
    }
  });
});
