import { LIBLIB_OPERATIONS, sign } from '@genqueue/liblib';
import { ProviderError } from '@genqueue/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from './internal/scripted-server.ts';
import { createLiblibProvider } from './liblib.ts';

const SECRET_KEY = 'KppKsn7ezZxhi6lIDjbo7YyVYzanSu2d';
const ctx = { jobId: 'job-1' };

let server: ScriptedServer;
let answer: ScriptedAnswer = { body: { code: 0, msg: '', data: { generateUuid: 'task-1' } } };

beforeAll(async () => {
  server = await startScriptedServer(() => answer);
});
afterAll(async () => {
  await server.close();
});

function provider() {
  return createLiblibProvider({
    baseUrl: server.url,
    accessKey: 'KIQMFXjHaobx7wqo9XvYKA',
    secretKey: SECRET_KEY,
    now: () => 1_725_458_584_000,
    nonce: () => 'fixed-nonce',
  });
}

describe('createLiblibProvider', () => {
  it('exposes every generation operation', async () => {
    const p = provider();
    expect(p.name).toBe('liblib');
    expect(Object.keys(p.operations).sort()).toEqual(
      Object.keys(LIBLIB_OPERATIONS)
        .filter((name) => name !== 'model.version')
        .sort(),
    );
    expect(p.operations['kling.text2video']!.output).toBe('video');
    expect(p.operations['kontext.img2img']!.schema.safeParse({ prompt: 'a', image_list: [] }).success).toBe(
      false,
    );
    await p.close?.();
  });

  it('submits a signed task and answers its generateUuid as the task id', async () => {
    const p = provider();
    answer = { body: { code: 0, msg: '', data: { generateUuid: 'task-1' } } };
    const result = await p.submit('kontext.text2img', { prompt: 'a poster', imgCount: 1 }, ctx);
    await p.close?.();
    expect(result).toEqual({ taskId: 'task-1' });
    const req = server.requests.at(-1)!;
    const url = new URL(req.url, server.url);
    expect(url.pathname).toBe('/api/generate/kontext/text2img');
    expect(url.searchParams.get('Signature')).toBe(
      sign({ secretKey: SECRET_KEY, uri: url.pathname, timestamp: 1_725_458_584_000, nonce: 'fixed-nonce' }),
    );
    expect(req.body).toMatchObject({ generateParams: { prompt: 'a poster', imgCount: 1 } });
  });

  it('delegates status to the client and returns core TaskStatus', async () => {
    const p = provider();
    answer = {
      body: {
        code: 0,
        msg: '',
        data: { generateUuid: 'task-1', generateStatus: 6, generateMsg: 'template mismatch' },
      },
    };
    const status = await p.status('kontext.text2img', 'task-1', ctx);
    await p.close?.();
    expect(status).toEqual({
      state: 'failed',
      providerStatus: '6',
      error: { code: 'liblib_generate_failed', message: 'template mismatch' },
    });
    expect(new URL(server.requests.at(-1)!.url, server.url).pathname).toBe('/api/generate/status');
  });

  it('throws only ProviderError: invalid input and unknown operations become invalid_job', async () => {
    const p = provider();
    const before = server.requests.length;
    const invalid = await p
      .submit('kontext.text2img', { prompt: 'x'.repeat(2001) }, ctx)
      .catch((e: unknown) => e);
    const unknown = await p.status('nope.op', 'task-1', ctx).catch((e: unknown) => e);
    const lookup = await p
      .submit('model.version', { versionUuid: '21df5d84cca74f7a885ba672b5a80d19' }, ctx)
      .catch((e: unknown) => e);
    await p.close?.();
    for (const error of [invalid, unknown, lookup]) {
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).errorClass).toBe('invalid_job');
      expect((error as ProviderError).code).toBe('invalid_input');
    }
    expect((invalid as ProviderError).message).toContain('prompt');
    expect(server.requests.length).toBe(before);
  });

  it('passes provider errors through with their class', async () => {
    const p = provider();
    answer = { body: { code: 100054, msg: 'concurrency limit' }, headers: { 'retry-after': '2' } };
    const error = (await p
      .submit('kontext.text2img', { prompt: 'a' }, ctx)
      .catch((e: unknown) => e)) as ProviderError;
    await p.close?.();
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.errorClass).toBe('retry_later');
    expect(error.retryAfterMs).toBe(2000);
  });
});
