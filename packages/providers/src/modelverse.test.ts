import type { Provider } from '@genqueue/model';
import { afterEach, describe, expect, it } from 'vitest';
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from './internal/scripted-server.ts';
import {
  createModelverseProvider,
  MODELVERSE_MODELS,
  modelverseErrorFor,
  modelverseOperations,
} from './modelverse.ts';
import { providerError } from './testing.ts';

const KEY = 'mv-secret-api-key-value';
const ctx = { jobId: 'job-1' };
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let server: ScriptedServer | undefined;
let provider: Provider | undefined;

afterEach(async () => {
  await provider?.close?.();
  await server?.close();
  provider = undefined;
  server = undefined;
});

async function setup(script: () => ScriptedAnswer) {
  server = await startScriptedServer(script);
  let n = 0;
  provider = createModelverseProvider({
    baseUrl: server.url,
    apiKey: KEY,
    timeouts: { requestMs: 2_000 },
    generateId: () => `mv-test-${++n}`,
  });
  return { server, provider };
}

describe('modelverse schemas', () => {
  const DEV = 'black-forest-labs/flux.1-dev';
  const PRO = 'black-forest-labs/flux-kontext-pro';
  const MAX = 'black-forest-labs/flux-kontext-max';
  const PRO_MULTI = 'black-forest-labs/flux-kontext-pro/multi';
  const MAX_T2I = 'black-forest-labs/flux-kontext-max/text-to-image';
  const STEP = 'stepfun-ai/step1x-edit';
  const img = 'https://example.com/a.png';
  it.each([
    [DEV, { prompt: 'p' }, true],
    [
      DEV,
      {
        prompt: 'p',
        n: 4,
        size: '256x1536',
        strength: 0,
        steps: 28,
        seed: -1,
        guidance_scale: 1,
        response_format: 'b64_json',
        image: img,
      },
      true,
    ],
    [DEV, { prompt: 'p', n: 5 }, false],
    [DEV, { prompt: 'p', n: 0 }, false],
    [DEV, { prompt: 'p', size: '255x1024' }, false],
    [DEV, { prompt: 'p', size: '1024x1537' }, false],
    [DEV, { prompt: 'p', size: '1024*1024' }, false],
    [DEV, { prompt: 'p', strength: 1.1 }, false],
    [DEV, { prompt: 'p', steps: 2.5 }, false],
    [DEV, { prompt: 'p', seed: 10_000_000_000 }, false],
    [DEV, { prompt: 'p', seed: -2 }, false],
    [DEV, { prompt: 'p', guidance_scale: 0.5 }, false],
    [DEV, { prompt: 'p', guidance_scale: 10.5 }, false],
    [DEV, { prompt: 'p', response_format: 'png' }, false],
    [DEV, { prompt: 'p', negative_prompt: 'blur' }, false],
    [DEV, {}, false],
    [PRO, { prompt: 'p', image: img }, true],
    [PRO, { prompt: 'p' }, false],
    [MAX, { prompt: 'p' }, false],
    [MAX, { prompt: 'p', image: img, n: 2 }, false],
    [PRO_MULTI, { prompt: 'p', images: [img, img] }, true],
    [PRO_MULTI, { prompt: 'p', images: [] }, false],
    [PRO_MULTI, { prompt: 'p', image: img }, false],
    [MAX_T2I, { prompt: 'p', aspect_ratio: '9:21', n: 2 }, true],
    [MAX_T2I, { prompt: 'p', aspect_ratio: '5:4' }, false],
    [MAX_T2I, { prompt: 'p', image: img }, false],
    [STEP, { prompt: 'p', image: img, negative_prompt: 'blur', steps: 30 }, true],
    [STEP, { prompt: 'p', negative_prompt: 'blur' }, false],
    [STEP, { prompt: 'p', image: img, n: 2 }, false],
    // 004 gives steps no range and multi no maximum: not refused here.
    [DEV, { prompt: 'p', steps: 150 }, true],
    [STEP, { prompt: 'p', image: img, steps: 200, negative_prompt: 'x'.repeat(3000) }, true],
    [PRO_MULTI, { prompt: 'p', images: Array(12).fill(img) }, true],
    // 004's "支持模型" column: size, strength, response_format are flux.1-dev's; steps dev's and step1x's.
    [PRO, { prompt: 'p', image: img, size: '1024x1024' }, false],
    [PRO, { prompt: 'p', image: img, steps: 28 }, false],
    [MAX, { prompt: 'p', image: img, response_format: 'b64_json' }, false],
    [PRO_MULTI, { prompt: 'p', images: [img], strength: 0.5 }, false],
    [MAX_T2I, { prompt: 'p', steps: 28 }, false],
    [MAX_T2I, { prompt: 'p', size: '1024x1024' }, false],
    [STEP, { prompt: 'p', image: img, strength: 0.5 }, false],
    [STEP, { prompt: 'p', image: img, response_format: 'url' }, false],
  ] as const)('%s %j valid=%s', (model, input, valid) => {
    expect(modelverseOperations[model]!.schema.safeParse(input).success).toBe(valid);
  });

  it('lists exactly the models of 004 and passes unknown fields through', () => {
    expect(MODELVERSE_MODELS).toEqual([
      'black-forest-labs/flux.1-dev',
      'black-forest-labs/flux-kontext-pro',
      'black-forest-labs/flux-kontext-pro/multi',
      'black-forest-labs/flux-kontext-pro/text-to-image',
      'black-forest-labs/flux-kontext-max',
      'black-forest-labs/flux-kontext-max/multi',
      'black-forest-labs/flux-kontext-max/text-to-image',
      'stepfun-ai/step1x-edit',
    ]);
    const parsed = modelverseOperations['black-forest-labs/flux.1-dev']!.schema.parse({
      prompt: 'p',
      user: 'u1',
    });
    expect(parsed.user).toBe('u1');
  });
});

describe('modelverse adapter', () => {
  it('answers the ended task at once, with the model taken from the operation', async () => {
    const { server, provider } = await setup(() => ({
      body: {
        created: 1750667997,
        data: [{ url: 'https://api.modelverse.cn/image/1' }, { url: 'https://api.modelverse.cn/image/2' }],
      },
    }));
    const result = await provider.submit(
      'black-forest-labs/flux-kontext-pro',
      { prompt: 'p', image: PNG_B64, model: 'black-forest-labs/flux-kontext-max' },
      ctx,
    );
    expect(result).toEqual({
      taskId: 'mv-test-1',
      status: {
        state: 'succeeded',
        providerStatus: 'succeeded',
        outputs: [
          { url: 'https://api.modelverse.cn/image/1', kind: 'image' },
          { url: 'https://api.modelverse.cn/image/2', kind: 'image' },
        ],
      },
    });
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/v1/images/generations' });
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    // 004: base64 images go as data URLs; the input cannot switch the job to another model.
    expect(request?.body).toEqual({
      prompt: 'p',
      image: `data:image/png;base64,${PNG_B64}`,
      model: 'black-forest-labs/flux-kontext-pro',
    });
  });

  it('calls requestSent once, when the request has been written, before submit returns', async () => {
    const calls: number[] = [];
    const { server, provider } = await setup(() => ({
      body: { created: 1, data: [{ url: 'https://api.modelverse.cn/image/1' }] },
    }));
    const requestSent = async () => {
      calls.push(server.requests.length);
    };
    await provider.submit('black-forest-labs/flux.1-dev', { prompt: 'p' }, { ...ctx, requestSent });
    expect(calls.length).toBe(1);
    expect(server.requests.length).toBe(1);
  });

  it('turns b64_json outputs (raw or already data URLs) into data URLs', async () => {
    const { provider } = await setup(() => ({
      body: {
        created: 1,
        data: [{ b64_json: PNG_B64 }, { b64_json: `data:image/png;base64,${PNG_B64}`, url: 'https://x/1' }],
      },
    }));
    const result = await provider.submit(
      'black-forest-labs/flux.1-dev',
      { prompt: 'p', response_format: 'b64_json', n: 2 },
      ctx,
    );
    expect(result.status).toEqual({
      state: 'succeeded',
      providerStatus: 'succeeded',
      outputs: [
        { url: `data:image/png;base64,${PNG_B64}`, kind: 'image' },
        { url: `data:image/png;base64,${PNG_B64}`, kind: 'image' },
      ],
    });
  });

  it('refuses to poll: the provider is synchronous', async () => {
    const p = createModelverseProvider({ baseUrl: 'http://127.0.0.1:1', apiKey: KEY });
    const error = await providerError(p.status('black-forest-labs/flux.1-dev', 'mv-1', ctx));
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: 'synchronous' });
    await p.close?.();
  });

  it.each([
    [
      '400 moderation',
      {
        status: 400,
        body: { error: { code: 'content_moderation', message: 'prompt rejected', param: 'req-1', type: '' } },
      },
      'invalid_job',
    ],
    [
      '400 invalid parameter',
      { status: 400, body: { error: { code: 'invalid_parameter', message: 'size', param: 'req-2' } } },
      'invalid_job',
    ],
    [
      '401 bad key',
      { status: 401, body: { error: { code: 'invalid_api_key', message: 'bad key' } } },
      'account',
    ],
    [
      '403 forbidden',
      { status: 403, body: { error: { code: 'forbidden', message: 'no access' } } },
      'account',
    ],
    [
      '429 rate limited',
      {
        status: 429,
        headers: { 'retry-after': '1' },
        body: { error: { code: 'rate_limit_exceeded', message: 'slow' } },
      },
      'retry_later',
    ],
    [
      '429 quota exhausted',
      { status: 429, body: { error: { code: 'insufficient_quota', message: 'no balance' } } },
      'account',
    ],
    ['500', { status: 500, body: { error: { code: 'internal_error', message: 'boom' } } }, 'transient'],
    ['502 HTML', { status: 502, body: '<html></html>' }, 'transient'],
    [
      '200 with an error object',
      { body: { error: { code: 'sensitive_content', message: 'blocked', param: 'r' } } },
      'invalid_job',
    ],
    ['200 without data', { body: { created: 1 } }, 'transient'],
  ] as const)('classifies %s', async (_name, answer, errorClass) => {
    const { provider } = await setup(() => answer as ScriptedAnswer);
    const error = await providerError(provider.submit('black-forest-labs/flux.1-dev', { prompt: 'p' }, ctx));
    expect(error.errorClass).toBe(errorClass);
    expect(error.message).not.toContain(KEY);
    if (_name === '429 rate limited') expect(error.retryAfterMs).toBe(1_000);
  });

  it('keeps the provider code, message and request id for the job view', () => {
    const error = modelverseErrorFor({
      status: 400,
      headers: {},
      body: { error: { code: 'content_moderation', message: 'prompt rejected', param: 'req-9' } },
      text: '',
    });
    expect(error.toJobError()).toEqual({
      code: 'content_moderation',
      message: 'prompt rejected (request req-9)',
    });
  });

  it('marks a lost answer ambiguous: the image may have been generated and billed', async () => {
    const { provider } = await setup(() => ({ destroy: true }));
    const error = await providerError(provider.submit('black-forest-labs/flux.1-dev', { prompt: 'p' }, ctx));
    expect(error).toMatchObject({ errorClass: 'transient', ambiguous: true });
  });
});
