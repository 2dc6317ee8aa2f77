import type { Provider } from '@genqueue/model';
import { afterEach, describe, expect, it } from 'vitest';
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from './internal/scripted-server.ts';
import { createLiblibV1Provider, liblibV1ErrorFor, liblibV1Operations } from './liblib-v1.ts';
import { providerError } from './testing.ts';

const API_KEY = 'sk-liblib-v1-secret-value';
const ctx = { jobId: 'job-1' };

let server: ScriptedServer | undefined;
let provider: Provider | undefined;

afterEach(async () => {
  await provider?.close?.();
  await server?.close();
  provider = undefined;
  server = undefined;
});

async function setup(script: (req: { method: string; url: string }) => ScriptedAnswer) {
  server = await startScriptedServer(script);
  provider = createLiblibV1Provider({
    baseUrl: `${server.url}/`,
    apiKey: API_KEY,
    timeouts: { requestMs: 2_000 },
  });
  return { server, provider };
}

describe('liblib-v1 schemas', () => {
  const t2i = liblibV1Operations.text2img.schema;
  const i2i = liblibV1Operations.img2img.schema;
  const ok = { prompt: 'a cat', model_id: 'm1' };
  it.each([
    ['minimal text2img', t2i, ok, true],
    [
      'all documented fields',
      t2i,
      {
        ...ok,
        negative_prompt: 'blur',
        width: 768,
        height: 1024,
        steps: 25,
        sampler: 'Euler a',
        cfg_scale: 8,
        seed: 12345,
        n_iter: 4,
        additionalNetwork: { lora: [{ model_id: 'l', weight: 0.7 }] },
        hiResFixInfo: { upscaler: 'ESRGAN_4x' },
      },
      true,
    ],
    [
      '002-style additionalNetwork array and integer sampler',
      t2i,
      { ...ok, additionalNetwork: [{ modelId: 'x', weight: 0.3 }], sampler: 15 },
      true,
    ],
    ['seed -1 (random)', t2i, { ...ok, seed: -1 }, true],
    ['missing model_id', t2i, { prompt: 'a cat' }, false],
    ['missing prompt', t2i, { model_id: 'm1' }, false],
    ['blank prompt', t2i, { ...ok, prompt: '   ' }, false],
    // 000/001 state no ranges: values 002 would refuse for its own endpoints pass through.
    ['prompt over 2000 characters', t2i, { ...ok, prompt: 'x'.repeat(2001) }, true],
    ['width 64 and height 2048', t2i, { ...ok, width: 64, height: 2048 }, true],
    ['steps 61, cfg_scale 16, n_iter 5', t2i, { ...ok, steps: 61, cfg_scale: 16, n_iter: 5 }, true],
    ['seed 2^40', t2i, { ...ok, seed: 2 ** 40 }, true],
    ['fractional seed', t2i, { ...ok, seed: 1.5 }, false],
    ['img2img with URL image', i2i, { ...ok, image: 'https://example.com/a.png', strength: 0.7 }, true],
    [
      'img2img with mask and controlnet',
      i2i,
      { ...ok, image: 'iVBORw0KGgo=', mask: 'https://x/m.png', controlnet: [{ controlnet_model: 'canny' }] },
      true,
    ],
    ['img2img without image', i2i, ok, false],
    ['strength over 1', i2i, { ...ok, image: 'https://x/a.png', strength: 1.2 }, false],
    ['strength under 0', i2i, { ...ok, image: 'https://x/a.png', strength: -0.1 }, false],
  ] as const)('%s', (_name, schema, input, valid) => {
    expect(schema.safeParse(input).success).toBe(valid);
  });

  it('passes unknown fields through', () => {
    const parsed = t2i.parse({ ...ok, new_param: 3 });
    expect(parsed.new_param).toBe(3);
  });
});

describe('liblib-v1 adapter', () => {
  it('names its operations', () => {
    const p = createLiblibV1Provider({ baseUrl: 'http://127.0.0.1:1', apiKey: API_KEY });
    expect(p.name).toBe('liblib-v1');
    expect(Object.keys(p.operations)).toEqual(['text2img', 'img2img']);
  });

  it('submits with a Bearer token and the input as the body, then answers data.task_id', async () => {
    const { server, provider } = await setup(() => ({
      body: { code: 0, msg: '', data: { task_id: 'task-42' } },
    }));
    const input = { prompt: 'a cat', model_id: 'm1', width: 768 };
    await expect(provider.submit('text2img', input, ctx)).resolves.toEqual({ taskId: 'task-42' });
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/workflows/run');
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual(input);
  });

  it('polls GET /v1/tasks/{id} and normalizes the three kinds of status', async () => {
    const answers: Record<string, unknown> = {
      '/v1/tasks/running': { data: { status: 'processing' } },
      '/v1/tasks/done': {
        data: {
          status: 'success',
          output: { images: [{ url: 'https://cdn/a.png', seed: 7 }, { url: 'https://cdn/b.png' }] },
        },
      },
      '/v1/tasks/bad': { data: { status: 'failed', error_message: 'prompt blocked' } },
      '/v1/tasks/empty': { data: { status: 'success', output: { images: [] } } },
      '/v1/tasks/a%2Fb': { data: { status: 'queued' } },
    };
    const { server, provider } = await setup((req) => ({
      body: answers[req.url] ?? {},
      status: answers[req.url] ? 200 : 404,
    }));
    await expect(provider.status('text2img', 'running', ctx)).resolves.toEqual({
      state: 'running',
      providerStatus: 'processing',
    });
    await expect(provider.status('text2img', 'done', ctx)).resolves.toEqual({
      state: 'succeeded',
      providerStatus: 'success',
      outputs: [
        { url: 'https://cdn/a.png', kind: 'image', seed: 7 },
        { url: 'https://cdn/b.png', kind: 'image' },
      ],
    });
    await expect(provider.status('img2img', 'bad', ctx)).resolves.toEqual({
      state: 'failed',
      providerStatus: 'failed',
      error: { code: 'failed', message: 'prompt blocked' },
    });
    const empty = await provider.status('text2img', 'empty', ctx);
    expect(empty.state).toBe('failed');
    // Task ids are path-encoded: an id cannot walk to another endpoint.
    await expect(provider.status('text2img', 'a/b', ctx)).resolves.toMatchObject({ state: 'running' });
    expect(
      server.requests.every((r) => r.method === 'GET' && r.headers.authorization === `Bearer ${API_KEY}`),
    ).toBe(true);
  });

  it.each([
    ['401 bad key', { status: 401, body: { message: 'invalid api key' } }, 'account', false],
    ['403 no entitlement', { status: 403, body: { code: 403, msg: 'forbidden' } }, 'account', false],
    ['400 bad parameters', { status: 400, body: { message: 'width invalid' } }, 'invalid_job', false],
    ['500 internal', { status: 500, body: { message: 'oops' } }, 'transient', false],
    ['502 HTML from a proxy', { status: 502, body: '<html>bad gateway</html>' }, 'transient', false],
    [
      '429 over QPS',
      { status: 429, headers: { 'retry-after': '2' }, body: { message: 'slow down' } },
      'retry_later',
      false,
    ],
    [
      '200 with code 100054 (concurrency)',
      { body: { code: 100054, msg: 'too many tasks' } },
      'retry_later',
      false,
    ],
    [
      '200 with code 100021 (no points)',
      { body: { code: 100021, msg: 'insufficient points' } },
      'account',
      false,
    ],
    [
      '200 with code 100052 (sensitive prompt)',
      { body: { code: 100052, msg: 'sensitive' } },
      'invalid_job',
      false,
    ],
    ['200 without task_id', { body: { code: 0, data: {} } }, 'transient', true],
    ['200 with malformed JSON', { body: '{"data":' }, 'transient', true],
  ] as const)('classifies a submission answered %s', async (_name, answer, errorClass, ambiguous) => {
    const { provider } = await setup(() => answer as ScriptedAnswer);
    const error = await providerError(provider.submit('text2img', { prompt: 'a', model_id: 'm' }, ctx));
    expect(error.errorClass).toBe(errorClass);
    expect(error.ambiguous).toBe(ambiguous);
    expect(error.message).not.toContain(API_KEY);
    if (errorClass === 'retry_later' && 'headers' in answer) expect(error.retryAfterMs).toBe(2_000);
  });

  it('keeps the provider message and code for the job view', async () => {
    const { provider } = await setup(() => ({
      status: 400,
      body: { code: 100000, msg: 'steps out of range' },
    }));
    const error = await providerError(provider.submit('text2img', { prompt: 'a', model_id: 'm' }, ctx));
    expect(error.toJobError()).toEqual({ code: '100000', message: 'steps out of range' });
    expect(error.status).toBe(400);
  });

  it('marks a lost submission answer ambiguous, but not a refused connection', async () => {
    const { provider } = await setup(() => ({ destroy: true }));
    const reset = await providerError(provider.submit('text2img', { prompt: 'a', model_id: 'm' }, ctx));
    expect(reset).toMatchObject({ errorClass: 'transient', ambiguous: true });
    const poll = await providerError(provider.status('text2img', 't', ctx));
    expect(poll).toMatchObject({ errorClass: 'transient', ambiguous: false });

    const closed = createLiblibV1Provider({ baseUrl: 'http://127.0.0.1:1', apiKey: API_KEY });
    const refused = await providerError(closed.submit('text2img', { prompt: 'a', model_id: 'm' }, ctx));
    expect(refused).toMatchObject({ errorClass: 'transient', ambiguous: false, code: 'ECONNREFUSED' });
    await closed.close?.();
  });

  it('times out a hanging request as transient', async () => {
    server = await startScriptedServer(() => ({ delayMs: 1_500, body: {} }));
    provider = createLiblibV1Provider({ baseUrl: server.url, apiKey: API_KEY, timeouts: { requestMs: 200 } });
    const error = await providerError(provider.submit('text2img', { prompt: 'a', model_id: 'm' }, ctx));
    expect(error).toMatchObject({ errorClass: 'transient', ambiguous: true });
    expect(error.message).toMatch(/timed out/);
  });

  it('refuses an unknown operation as invalid_job without calling the provider', async () => {
    const { server, provider } = await setup(() => ({ body: {} }));
    const error = await providerError(provider.submit('upscale', { prompt: 'a' }, ctx));
    expect(error.errorClass).toBe('invalid_job');
    expect(server.requests).toHaveLength(0);
  });

  it('maps statuses without a body by HTTP status (pure mapper)', () => {
    expect(liblibV1ErrorFor({ status: 404, headers: {}, body: undefined, text: '' }).errorClass).toBe(
      'invalid_job',
    );
    expect(liblibV1ErrorFor({ status: 503, headers: {}, body: undefined, text: '' }).errorClass).toBe(
      'transient',
    );
    const dated = liblibV1ErrorFor(
      { status: 429, headers: { 'retry-after': new Date(10_000).toUTCString() }, body: undefined, text: '' },
      4_000,
    );
    expect(dated.retryAfterMs).toBe(6_000);
  });
});
