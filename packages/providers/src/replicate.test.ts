import type { Provider } from '@genqueue/model';
import { afterEach, describe, expect, it } from 'vitest';
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from './internal/scripted-server.ts';
import {
  createReplicateProvider,
  fluxKontextDevSchema,
  predictionStatus,
  type ReplicateProviderOptions,
  replicateErrorFor,
} from './replicate.ts';
import { providerError } from './testing.ts';

const TOKEN = 'r8_replicate_secret_token';
const MODEL = 'black-forest-labs/flux-kontext-dev';
const ctx = { jobId: 'job-1' };
const PNG_1PX = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const input = { prompt: 'make it red', input_image: 'https://example.com/car.jpg' };

let server: ScriptedServer | undefined;
let provider: Provider | undefined;

afterEach(async () => {
  await provider?.close?.();
  await server?.close();
  provider = undefined;
  server = undefined;
});

async function setup(
  script: (req: { method: string; url: string; body: unknown }) => ScriptedAnswer,
  options: Partial<ReplicateProviderOptions> = {},
  prefix = '',
) {
  server = await startScriptedServer(script);
  provider = createReplicateProvider({
    baseUrl: `${server.url}${prefix}`,
    apiToken: TOKEN,
    timeouts: { requestMs: 2_000 },
    ...options,
  });
  return { server, provider };
}

const prediction = (status: string, extra: Record<string, unknown> = {}) => ({
  id: 'p1',
  status,
  // A hostile or misconfigured proxy could point urls.get anywhere: the adapter must not follow it.
  urls: { get: 'https://evil.example/v1/predictions/p1', cancel: 'https://evil.example/cancel' },
  output: null,
  error: null,
  ...extra,
});

describe('flux-kontext-dev schema', () => {
  it.each([
    ['prompt and image', input, true],
    [
      'all documented fields',
      {
        ...input,
        aspect_ratio: 'match_input_image',
        guidance: 2.5,
        num_inference_steps: 30,
        output_format: 'jpg',
        output_quality: 80,
        go_fast: true,
        seed: 3,
      },
      true,
    ],
    ['guidance 0 and 10', { ...input, guidance: 10 }, true],
    ['missing prompt', { input_image: input.input_image }, false],
    ['missing input_image (required by 003)', { prompt: 'x' }, false],
    ['guidance over 10', { ...input, guidance: 10.5 }, false],
    ['steps under 4', { ...input, num_inference_steps: 3 }, false],
    ['steps over 50', { ...input, num_inference_steps: 51 }, false],
    ['output_format gif', { ...input, output_format: 'gif' }, false],
    ['output_quality 101', { ...input, output_quality: 101 }, false],
    ['unknown aspect ratio', { ...input, aspect_ratio: '7:5' }, false],
    ['go_fast as string', { ...input, go_fast: 'yes' }, false],
  ] as const)('%s', (_name, value, valid) => {
    expect(fluxKontextDevSchema.safeParse(value).success).toBe(valid);
  });

  it('passes unknown fields through', () => {
    expect(
      fluxKontextDevSchema.parse({ ...input, disable_safety_checker: true }).disable_safety_checker,
    ).toBe(true);
  });
});

describe('replicate adapter', () => {
  it('names operations by model', () => {
    const p = createReplicateProvider({ apiToken: TOKEN });
    expect(p.name).toBe('replicate');
    expect(Object.keys(p.operations)).toEqual([MODEL]);
  });

  it('creates a prediction under a proxy prefix and polls it on our own base, never on urls.get', async () => {
    let polls = 0;
    const { server, provider } = await setup(
      (req) => {
        if (req.method === 'POST') return { status: 201, body: prediction('starting') };
        polls += 1;
        return polls === 1
          ? { body: prediction('processing') }
          : { body: prediction('succeeded', { output: 'https://replicate.delivery/out.webp' }) };
      },
      {},
      '/replicate',
    );
    await expect(provider.submit(MODEL, input, ctx)).resolves.toEqual({ taskId: 'p1' });
    await expect(provider.status(MODEL, 'p1', ctx)).resolves.toEqual({
      state: 'running',
      providerStatus: 'processing',
    });
    await expect(provider.status(MODEL, 'p1', ctx)).resolves.toEqual({
      state: 'succeeded',
      providerStatus: 'succeeded',
      outputs: [{ url: 'https://replicate.delivery/out.webp', kind: 'image' }],
    });
    const [create, poll] = server.requests;
    expect(create).toMatchObject({
      method: 'POST',
      url: `/replicate/v1/models/${MODEL}/predictions`,
      body: { input },
    });
    expect(create?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(create?.headers.prefer).toBeUndefined();
    expect(poll).toMatchObject({ method: 'GET', url: '/replicate/v1/predictions/p1' });
  });

  it('sends Prefer: wait and answers a prediction that ended within the wait at once', async () => {
    const { server, provider } = await setup(
      () => ({
        status: 201,
        body: prediction('succeeded', { output: ['https://cdn/a.png', 'https://cdn/b.png'] }),
      }),
      { preferWait: 5 },
    );
    await expect(provider.submit(MODEL, input, ctx)).resolves.toEqual({
      taskId: 'p1',
      status: {
        state: 'succeeded',
        providerStatus: 'succeeded',
        outputs: [
          { url: 'https://cdn/a.png', kind: 'image' },
          { url: 'https://cdn/b.png', kind: 'image' },
        ],
      },
    });
    expect(server.requests[0]?.headers.prefer).toBe('wait=5');
  });

  it("accepts spec 003's OpenAI-style example answer as an immediate success", async () => {
    const { provider } = await setup(() => ({
      body: { created: 1589478378, data: [{ url: 'https://cdn/1.png' }, { url: 'https://cdn/2.png' }] },
    }));
    const result = await provider.submit(MODEL, input, ctx);
    expect(result.taskId).toMatch(/^immediate-/);
    expect(result.status).toEqual({
      state: 'succeeded',
      providerStatus: 'succeeded',
      outputs: [
        { url: 'https://cdn/1.png', kind: 'image' },
        { url: 'https://cdn/2.png', kind: 'image' },
      ],
    });
    const error = await providerError(provider.status(MODEL, result.taskId, ctx));
    expect(error.errorClass).toBe('invalid_job');
    await expect(provider.cancel?.(MODEL, result.taskId, ctx)).resolves.toBeUndefined();
  });

  it("follows the prediction's own urls.get and urls.cancel on the base URL's origin", async () => {
    const { server, provider } = await setup(
      (req) => {
        const own = (status: string, extra: Record<string, unknown> = {}) =>
          prediction(status, {
            urls: { get: `${server!.url}/proxy/tasks/p1?x=1`, cancel: `${server!.url}/proxy/tasks/p1/stop` },
            ...extra,
          });
        if (req.method === 'POST' && req.url.endsWith('/predictions'))
          return { status: 201, body: own('starting') };
        if (req.method === 'POST') return { body: own('canceled') };
        return { body: own('succeeded', { output: 'https://replicate.delivery/out.png' }) };
      },
      {},
      '/replicate',
    );
    const { taskId } = await provider.submit(MODEL, input, ctx);
    expect(taskId.startsWith('p1;')).toBe(true);
    await expect(provider.status(MODEL, taskId, ctx)).resolves.toMatchObject({ state: 'succeeded' });
    await provider.cancel?.(MODEL, taskId, ctx);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `POST /replicate/v1/models/${MODEL}/predictions`,
      'GET /proxy/tasks/p1?x=1',
      'POST /proxy/tasks/p1/stop',
    ]);
  });

  it.each([
    ['no answer within submitTimeoutMs', { status: 201, body: prediction('starting'), delayMs: 1_500 }],
    ['a reset after the request was sent', { destroy: true }],
  ] as const)(
    'fails a submission with %s as unconfirmed, without sending it again',
    async (_name, answer) => {
      const { server, provider } = await setup(() => answer as ScriptedAnswer, { submitTimeoutMs: 500 });
      const error = await providerError(provider.submit(MODEL, input, ctx));
      expect(error).toMatchObject({
        errorClass: 'invalid_job',
        code: 'submission_unconfirmed',
        ambiguous: true,
      });
      expect(error.message).toMatch(/not submitted again/);
      expect(server.requests).toHaveLength(1);
    },
  );

  it('gives the submission its own deadline, longer than the status timeout', async () => {
    // timeouts.requestMs is 2 s here; a synchronous answer after 2.5 s still arrives.
    const { provider } = await setup(
      () => ({ body: { created: 1, data: [{ url: 'https://cdn/1.png' }] }, delayMs: 2_500 }),
      { submitTimeoutMs: 10_000 },
    );
    await expect(provider.submit(MODEL, input, ctx)).resolves.toMatchObject({
      status: { state: 'succeeded' },
    });
  });

  it('cancels by POSTing /v1/predictions/{id}/cancel on our own base', async () => {
    const { server, provider } = await setup(() => ({ body: prediction('canceled') }));
    await provider.cancel?.(MODEL, 'p/1', ctx);
    expect(server.requests[0]).toMatchObject({ method: 'POST', url: '/v1/predictions/p%2F1/cancel' });
  });

  it('sends raw base64 as a data URL', async () => {
    const { server, provider } = await setup(() => ({ status: 201, body: prediction('starting') }));
    await provider.submit(MODEL, { prompt: 'x', input_image: PNG_1PX.toString('base64') }, ctx);
    expect((server.requests[0]!.body as { input: { input_image: string } }).input.input_image).toBe(
      `data:image/png;base64,${PNG_1PX.toString('base64')}`,
    );
  });

  it("refuses local paths: it never reads files on a job's behalf", async () => {
    const { server, provider } = await setup(() => ({ status: 201, body: prediction('starting') }));
    const error = await providerError(
      provider.submit(MODEL, { prompt: 'x', input_image: '/tmp/a.png' }, ctx),
    );
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: 'invalid_image' });
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    [
      '401 bad token',
      { status: 401, body: { title: 'Unauthenticated', detail: 'Invalid token.', status: 401 } },
      'account',
    ],
    ['402 no credit', { status: 402, body: { detail: 'Payment required' } }, 'account'],
    [
      '404 unknown model',
      { status: 404, body: { detail: 'The requested resource could not be found.' } },
      'invalid_job',
    ],
    [
      '422 invalid input',
      { status: 422, body: { title: 'Input validation failed', detail: 'guidance: must be <= 10' } },
      'invalid_job',
    ],
    [
      '429 throttled',
      { status: 429, headers: { 'retry-after': '3' }, body: { detail: 'Request was throttled.' } },
      'retry_later',
    ],
    ['500', { status: 500, body: { detail: 'internal' } }, 'transient'],
    ['503 HTML', { status: 503, body: '<html>down</html>' }, 'transient'],
    // A 2xx without an id may hide a created prediction: failed, never sent again.
    ['200 without id', { body: { status: 'starting' } }, 'invalid_job'],
    // A gateway that gave up waiting for a synchronous answer: the prediction may exist.
    ['504 gateway timeout', { status: 504, body: { detail: 'upstream timed out' } }, 'invalid_job'],
  ] as const)('classifies a submission answered %s', async (_name, answer, errorClass) => {
    const { provider } = await setup(() => answer as ScriptedAnswer);
    const error = await providerError(provider.submit(MODEL, input, ctx));
    expect(error.errorClass).toBe(errorClass);
    expect(error.message).not.toContain(TOKEN);
    if (errorClass === 'retry_later') expect(error.retryAfterMs).toBe(3_000);
  });

  it('shows the problem detail as the job error', () => {
    const error = replicateErrorFor({
      status: 422,
      headers: {},
      body: { title: 'Input validation failed', detail: 'input_image is required' },
      text: '',
    });
    expect(error.toJobError()).toEqual({ code: 'http_422', message: 'input_image is required' });
  });

  it.each([
    [prediction('starting'), { state: 'queued', providerStatus: 'starting' }],
    [prediction('processing'), { state: 'running', providerStatus: 'processing' }],
    [
      prediction('failed', { error: 'NSFW content detected' }),
      {
        state: 'failed',
        providerStatus: 'failed',
        error: { code: 'failed', message: 'NSFW content detected' },
      },
    ],
    [
      prediction('aborted'),
      {
        state: 'failed',
        providerStatus: 'aborted',
        error: { code: 'aborted', message: 'the prediction was aborted' },
      },
    ],
    [prediction('canceled'), { state: 'canceled', providerStatus: 'canceled' }],
    [
      prediction('succeeded', { output: null }),
      {
        state: 'failed',
        providerStatus: 'succeeded',
        error: { code: 'no_outputs', message: 'the prediction succeeded without any output URL' },
      },
    ],
  ])('normalizes prediction %#', (value, expected) => {
    expect(predictionStatus(value)).toEqual(expected);
  });

  it('rejects an invalid preferWait at construction', () => {
    expect(() => createReplicateProvider({ apiToken: TOKEN, preferWait: 61 })).toThrow(RangeError);
  });
});
