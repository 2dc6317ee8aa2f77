import { type Config, loadConfig } from '@genqueue/config';
import { type Provider, ProviderError } from '@genqueue/model';
import { describe, expect, it } from 'vitest';
import { createAdapter, descriptorOf, type ProviderName } from './index.ts';
import { startScriptedServer } from './internal/scripted-server.ts';

/** The adapter of the provider's first configured account, as a worker builds it. */
function adapterOf(config: Config, name: ProviderName): Provider {
  const account = config.accounts[name][0];
  if (!account) throw new Error(`no ${name} account configured`);
  return createAdapter(descriptorOf(name)!, account);
}

describe('createAdapter', () => {
  it('gives up on a hung LiblibAI call after LIBLIB_TIMEOUT_MS, as a transient error', async () => {
    const hung = await startScriptedServer(() => ({ delayMs: 5_000, body: {} }));
    const config = loadConfig({
      LIBLIB_BASE_URL: hung.url,
      LIBLIB_ACCESS_KEY: 'access',
      LIBLIB_SECRET_KEY: 'secret',
      LIBLIB_TIMEOUT_MS: '300',
    });
    const liblib = adapterOf(config, 'liblib');
    try {
      const error = await liblib
        .submit('kontext.text2img', { prompt: 'a hung call' }, { jobId: 'j_1' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ errorClass: 'transient', ambiguous: true });
      expect((error as Error).message).toMatch(/300 ms/);
    } finally {
      await liblib.close?.();
      await hung.close();
    }
  });

  // Replicate's submission has its own, longer deadline (REPLICATE_SUBMIT_TIMEOUT_MS); its status
  // queries are bound by REPLICATE_TIMEOUT_MS.
  const OPERATIONS = {
    'liblib-v1': 'text2img',
    replicate: 'black-forest-labs/flux-kontext-dev',
    modelverse: 'black-forest-labs/flux.1-dev',
  } as const;
  it.each([
    [
      'liblib-v1',
      'LIBLIB_V1',
      { LIBLIB_V1_API_KEY: 'k' },
      (p: Provider) => p.submit(OPERATIONS['liblib-v1'], { prompt: 'p', model_id: 'm' }, { jobId: 'j_1' }),
    ],
    [
      'replicate',
      'REPLICATE',
      { REPLICATE_API_TOKEN: 't' },
      (p: Provider) => p.status(OPERATIONS.replicate, 'prediction-1', { jobId: 'j_1' }),
    ],
    [
      'modelverse',
      'MODELVERSE',
      { MODELVERSE_API_KEY: 'k' },
      (p: Provider) => p.submit(OPERATIONS.modelverse, { prompt: 'p' }, { jobId: 'j_1' }),
    ],
  ] as const)('gives up on a hung %s call after %s_TIMEOUT_MS', async (name, prefix, credentials, call) => {
    const hung = await startScriptedServer(() => ({ delayMs: 5_000, body: {} }));
    const config = loadConfig({
      ...credentials,
      [`${prefix}_BASE_URL`]: hung.url,
      [`${prefix}_TIMEOUT_MS`]: '300',
    });
    const provider = adapterOf(config, name);
    try {
      const error = await call(provider).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ errorClass: 'transient', code: 'timeout' });
      expect((error as Error).message).toMatch(/300 ms/);
    } finally {
      await provider.close?.();
      await hung.close();
    }
  });
});
