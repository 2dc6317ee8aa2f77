/**
 * Conformance: the liblib adapter (and the `LiblibClient` under it) against the simulator's
 * `liblib` mode over real HTTP: signing (002 §2.4), every generation operation run to its end on
 * its own status endpoint with real uploads, status normalization, and error classification.
 * The simulator is strict where the provider is (signatures, nonces, status endpoints, image URLs),
 * so a client that drifts from the wire format fails here rather than in production.
 */

import {
  LIBLIB_OPERATIONS,
  LIBLIB_TEMPLATES,
  LiblibClient,
  type LiblibClientOptions,
} from '@genqueue/liblib';
import { isTaskEnded, type TaskStatus } from '@genqueue/model';
import { createLiblibProvider, descriptorOf } from '@genqueue/providers';
import { outputBytes, providerError, runToEnd } from '@genqueue/providers/testing';
import {
  INITIAL_BALANCE,
  OSS_BUCKET_PATH,
  renderPng,
  type Simulator,
  type SimulatorOptions,
} from '@genqueue/simulator';
import { describe, expect, it } from 'vitest';
import { simulatorFixture } from './fixture.ts';
import { describeProviderConformance } from './suite.ts';

const liblib = descriptorOf('liblib');

const ACCESS_KEY = 'sim-access-key';
const SECRET_KEY = 'sim-secret-key';
const ctx = { jobId: 'job-c' };
const REMOTE = 'https://liblibai-online.liblib.cloud/img/remote.png';
const CONTROLNET_MODEL = '6349e9dae8814084bd9c1585d335c24c';
const MINUTE = 60_000;

/** Distinct real PNGs, one per image field, so each uploaded object can be matched to its input. */
const PNGS = Array.from({ length: 6 }, (_, i) => renderPng(`conformance-input-${i}`, 8, 8));
const dataUrl = (i: number) => `data:image/png;base64,${PNGS[i]!.toString('base64')}`;
const base64 = (i: number) => PNGS[i]!.toString('base64');

/**
 * A simulator with fast tasks and loose limits (each test that needs the account's real limits sets
 * them), plus an adapter and a bare client on it with short timeouts.
 */
const fixture = simulatorFixture({ mode: 'liblib', seed: 11, latencyMs: { min: 20, max: 80 } });

async function setup(options: SimulatorOptions = {}, clientOptions: Partial<LiblibClientOptions> = {}) {
  const sim = await fixture.start(options);
  const base: LiblibClientOptions = {
    baseUrl: sim.url,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    timeouts: { connectMs: 2_000, requestMs: 3_000 },
    ...clientOptions,
  };
  const provider = fixture.own(createLiblibProvider(base));
  const client = fixture.own(new LiblibClient(base));
  return { sim, provider, client };
}

/** A clock both sides share, moved by hand, so lifecycles are read at exact points. */
function manualClock(start = Date.UTC(2025, 8, 1)) {
  let at = start;
  return {
    now: () => at,
    set: (ms: number) => {
      at = start + ms;
    },
  };
}

type Case = {
  op: string;
  input: Record<string, unknown>;
  /** Outputs the task should produce. */
  outputs: number;
  /** Points per output (Kontext max 58, others 10 in the simulator's price list). */
  pointsEach: number;
  /** An input the schema refuses; default `{}`, which is valid where nothing is required. */
  invalid?: Record<string, unknown>;
};

/**
 * One minimal valid input per generation operation (after the valid rows of operations.test.ts),
 * with every image field given inline — a data URL or bare base64 — so the upload flow runs for
 * real, and one public URL that must pass through untouched.
 */
const CASES: Case[] = [
  {
    op: 'star3.text2img',
    input: {
      prompt: 'a cat',
      aspectRatio: 'portrait',
      imgCount: 2,
      controlnet: { controlType: 'subject', controlImage: dataUrl(0) },
    },
    outputs: 2,
    pointsEach: 10,
  },
  {
    op: 'star3.img2img',
    input: { prompt: 'a cat', sourceImage: base64(1), imgCount: 1 },
    outputs: 1,
    pointsEach: 10,
  },
  {
    op: 'custom.text2img',
    input: {
      prompt: 'a lighthouse',
      width: 768,
      height: 1024,
      imgCount: 1,
      controlNet: [{ sourceImage: dataUrl(2), preprocessor: 3, model: CONTROLNET_MODEL, maskImage: '' }],
    },
    outputs: 1,
    pointsEach: 10,
    // The prompt is optional here (002 §4.1.3.1's 选填), so {} is valid.
    invalid: { width: 4096 },
  },
  {
    op: 'custom.img2img',
    input: {
      templateUuid: LIBLIB_TEMPLATES.customSdImg2img,
      prompt: 'a lighthouse at dusk',
      sourceImage: dataUrl(3),
      mode: 4,
      inpaintParam: { maskImage: base64(4), maskBlur: 4 },
    },
    outputs: 1,
    pointsEach: 10,
  },
  { op: 'kontext.text2img', input: { prompt: 'a red fox', imgCount: 2 }, outputs: 2, pointsEach: 58 },
  {
    op: 'kontext.img2img',
    input: { prompt: 'make it snow', image_list: [dataUrl(0), REMOTE, base64(5)] },
    outputs: 1,
    pointsEach: 58,
  },
  {
    op: 'img1.generate',
    input: { prompt: 'a teapot', imgCount: 1, image_list: [base64(2)] },
    outputs: 1,
    pointsEach: 10,
  },
  {
    op: 'img1.inpaint',
    input: { prompt: 'a teapot', imgCount: 1, image: dataUrl(1), mask: dataUrl(4) },
    outputs: 1,
    pointsEach: 10,
  },
  {
    op: 'libdream.text2img',
    input: { prompt: 'a harbour', width: 1024, height: 768 },
    outputs: 1,
    pointsEach: 10,
  },
  {
    op: 'libedit.img2img',
    input: { prompt: 'add a hat', image_urls: [dataUrl(3)] },
    outputs: 1,
    pointsEach: 10,
  },
  {
    op: 'libeditv2.img2img',
    input: { prompt: 'add a scarf', image_urls: [base64(0)], width: 1024, height: 1024 },
    outputs: 1,
    pointsEach: 10,
  },
  {
    op: 'seedream.generate',
    // The manual's group-mode example (002 §9.4): up to 15 images, references included.
    input: {
      prompt: 'a storyboard',
      imgCount: 5,
      sequentialImageGeneration: 'auto',
      referenceImages: [dataUrl(5), REMOTE],
    },
    outputs: 5,
    pointsEach: 10,
  },
  {
    op: 'comfyui.run',
    input: {
      workflowUuid: '2f22ab7ce4c044afb6d5eee2e61547f3',
      '12': { class_type: 'LoadImage', inputs: { image: dataUrl(2) } },
      '136': { class_type: 'RepeatLatentBatch', inputs: { amount: 1 } },
    },
    outputs: 1,
    pointsEach: 10,
  },
  { op: 'kling.text2video', input: { prompt: 'a band on stage', duration: 5 }, outputs: 1, pointsEach: 10 },
  {
    op: 'kling.img2video',
    input: { prompt: 'waves', model: 'kling-v1-6', mode: 'pro', startFrame: dataUrl(1), endFrame: base64(3) },
    outputs: 1,
    pointsEach: 10,
  },
  {
    op: 'kling.multiimg2video',
    input: { prompt: 'a dance', referenceImages: [dataUrl(4), base64(5)], aspectRatio: '16:9' },
    outputs: 1,
    pointsEach: 10,
  },
  {
    op: 'qwen.text2img',
    input: {
      prompt: 'a poster',
      width: 1024,
      height: 1024,
      controlNet: [{ sourceImage: base64(0), preprocessor: 1, model: CONTROLNET_MODEL }],
    },
    outputs: 1,
    pointsEach: 10,
    // The prompt is optional here (002 §11.1.2's 选填), so {} is valid.
    invalid: { width: 4096 },
  },
];

/** The bytes each inline image string stands for. */
const INLINE = new Map<string, Buffer>(
  PNGS.flatMap((png, i) => [
    [dataUrl(i), png],
    [base64(i), png],
  ]),
);

describeProviderConformance(liblib, 'liblib', {
  simulator: { seed: 11 },
  examples: Object.fromEntries(
    CASES.map((c) => [
      c.op,
      { valid: c.input, outputs: c.outputs, ...(c.invalid ? { invalid: c.invalid } : {}) },
    ]),
  ),
  // 002 §13: 429 is the QPS limit, 100054 the in-flight one; either may come as the HTTP status
  // or as the code of a 200 envelope.
  retryLater: [
    { cause: { kind: 'rate-limit', form: 'http' }, expect: { status: 429, code: '429', limit: 'qps' } },
    { cause: { kind: 'rate-limit', form: 'body' }, expect: { status: 200, code: '429', limit: 'qps' } },
    {
      cause: { kind: 'concurrency-limit', form: 'http' },
      expect: { status: 429, code: '100054', limit: 'in_flight' },
    },
    {
      cause: { kind: 'concurrency-limit', form: 'body' },
      expect: { status: 200, code: '100054', limit: 'in_flight' },
    },
    { cause: 'outrun-qps', expect: { status: 429, code: '429', limit: 'qps' } },
    { cause: 'outrun-in-flight', expect: { status: 200, code: '100054', limit: 'in_flight' } },
  ],
});

/**
 * Walks `original` and `prepared` side by side: every inline image must have become a URL on the
 * simulator's OSS bucket serving exactly its bytes, everything else must be unchanged. Answers
 * the number of uploads seen.
 */
function checkUploads(simulator: Simulator, original: unknown, prepared: unknown, path = ''): number {
  if (typeof original === 'string' && INLINE.has(original)) {
    const prefix = `${simulator.url}${OSS_BUCKET_PATH}/`;
    expect(typeof prepared === 'string' && prepared.startsWith(prefix), path).toBe(true);
    expect((prepared as string).slice(prefix.length), path).toMatch(/^img\/[0-9a-f]+\/[0-9a-f]+\.png$/);
    expect(simulator.imageBytes(prepared as string)?.equals(INLINE.get(original)!), path).toBe(true);
    return 1;
  }
  if (original === null || typeof original !== 'object') {
    expect(prepared, path).toEqual(original);
    return 0;
  }
  expect(Object.keys(prepared as object).sort(), path).toEqual(Object.keys(original).sort());
  let uploads = 0;
  for (const [key, value] of Object.entries(original)) {
    uploads += checkUploads(simulator, value, (prepared as Record<string, unknown>)[key], `${path}.${key}`);
  }
  return uploads;
}

const inlineCount = (value: unknown): number =>
  typeof value === 'string'
    ? Number(INLINE.has(value))
    : value !== null && typeof value === 'object'
      ? Object.values(value).reduce<number>((n, v) => n + inlineCount(v), 0)
      : 0;

describe('liblib adapter ↔ simulator: signing (002 §2.4)', () => {
  it('passes with the right secret and a clock 4 minutes off, each call with a fresh nonce', async () => {
    const { sim, provider } = await setup({}, { now: () => Date.now() - 4 * MINUTE });
    const { taskId } = await provider.submit('kontext.text2img', { prompt: 'a fox' }, ctx);
    await provider.status('kontext.text2img', taskId, ctx);
    await provider.status('kontext.text2img', taskId, ctx);
    expect(sim.stats()).toMatchObject({ accepted: 1, statusQueries: 2, authFailures: 0 });
  });

  it.each([
    ['the wrong secret', { secretKey: 'wrong-secret-key' }],
    ['an unknown access key', { accessKey: 'someone-else' }],
    ['a clock 6 minutes fast', { now: () => Date.now() + 6 * MINUTE }],
    ['a clock 6 minutes slow', { now: () => Date.now() - 6 * MINUTE }],
  ] as const)(
    'answers a client with %s 401, classified account, with nothing secret in the message',
    async (_name, options) => {
      const { sim, provider } = await setup({}, options);
      const error = await providerError(provider.submit('kontext.text2img', { prompt: 'a fox' }, ctx));
      expect(error).toMatchObject({ errorClass: 'account', status: 401, code: '401', ambiguous: false });
      expect(error.message).not.toContain('wrong-secret-key');
      expect(error.message).not.toContain(SECRET_KEY);
      const status = await providerError(provider.status('kontext.text2img', 'f'.repeat(32), ctx));
      expect(status).toMatchObject({ errorClass: 'account', status: 401 });
      expect(sim.stats()).toMatchObject({ authFailures: 2, submissions: 0, accepted: 0 });
    },
  );

  it('is refused when a nonce is reused (replay), so the default random nonce matters', async () => {
    const { sim, provider } = await setup({}, { nonce: () => 'the-same-nonce' });
    await provider.submit('kontext.text2img', { prompt: 'a fox' }, ctx);
    const error = await providerError(provider.submit('kontext.text2img', { prompt: 'a fox' }, ctx));
    expect(error).toMatchObject({ errorClass: 'account', status: 401 });
    expect(sim.stats()).toMatchObject({ accepted: 1, authFailures: 1 });
  });
});

describe('liblib adapter ↔ simulator: every generation operation', () => {
  // Image inputs run under both spellings of the upload signature; text-only ones once.
  const runs = CASES.flatMap((c) =>
    inlineCount(c.input) > 0
      ? (['camel', 'lower'] as const).map((spelling) => [c.op, spelling, c] as const)
      : [[c.op, 'camel', c] as const],
  );

  it.each(runs)(
    '%s (%s upload spelling): uploads, submits, polls its own status endpoint to success, outputs byte-equal',
    async (op, spelling, { input, outputs, pointsEach }) => {
      const { sim, provider } = await setup({ uploadSpelling: spelling });
      const parsed = provider.operations[op]!.schema.parse(input);

      // The worker's order: uploads first (signature → OSS PostObject with file last), then submit.
      const prepared = await provider.prepare!(op, parsed, ctx);
      expect(checkUploads(sim, parsed, prepared)).toBe(inlineCount(input));

      const { taskId, status, polls } = await runToEnd(provider, op, prepared);
      expect(status, JSON.stringify(status)).toMatchObject({
        state: 'succeeded',
        providerStatus: '5',
        pointsCost: pointsEach * outputs,
        accountBalance: INITIAL_BALANCE - pointsEach * outputs,
      });
      if (status.state !== 'succeeded') return;
      expect(status.outputs).toHaveLength(outputs);
      for (const output of status.outputs) {
        expect(output.kind).toBe(LIBLIB_OPERATIONS[op]!.output);
        const bytes = await outputBytes(output.url);
        expect(bytes.equals(sim.imageBytes(output.url)!)).toBe(true);
        if (output.kind === 'video') expect(bytes.toString('latin1', 4, 8)).toBe('ftyp');
        else expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
      }

      // Every poll reached the task: the simulator answers it only on the operation's own endpoint.
      const [task] = sim.tasks();
      expect(task).toMatchObject({
        id: taskId,
        operation: LIBLIB_OPERATIONS[op]!.path,
        statusQueries: polls,
        state: 'succeeded',
      });
      expect(sim.stats()).toMatchObject({
        submissions: 1,
        accepted: 1,
        qpsBreaches: 0,
        inFlightBreaches: 0,
        authFailures: 0,
        duplicatePrompts: 0,
      });
    },
  );

  it.each(['camel', 'lower'] as const)(
    'client.upload takes a data URL, bare base64 and raw bytes (%s spelling) and leaves http(s) URLs alone',
    async (spelling) => {
      const { sim, client } = await setup({ uploadSpelling: spelling });
      for (const [source, bytes] of [
        [dataUrl(0), PNGS[0]!],
        [base64(1), PNGS[1]!],
        [PNGS[2]!, PNGS[2]!],
      ] as const) {
        const url = await client.upload(source, { name: 'conformance input' });
        expect(url.startsWith(`${sim.url}${OSS_BUCKET_PATH}/`)).toBe(true);
        expect(sim.imageBytes(url)?.equals(bytes)).toBe(true);
        expect((await outputBytes(url)).equals(bytes)).toBe(true);
      }
      expect(await client.upload(REMOTE)).toBe(REMOTE);
      expect(sim.stats().authFailures).toBe(0);
    },
  );

  it('submit uploads inline images itself when nothing prepared them (the simulator takes only http URLs)', async () => {
    const { sim, provider } = await setup({ uploadSpelling: 'lower' });
    const { status } = await runToEnd(provider, 'libedit.img2img', {
      prompt: 'add a hat',
      image_urls: [dataUrl(1)],
    });
    expect(status.state).toBe('succeeded');
    expect(sim.stats()).toMatchObject({ accepted: 1, authFailures: 0 });
  });

  it('answers a Qwen-Image task on the generic status endpoint only, not the webui one it was submitted beside', async () => {
    const { provider } = await setup();
    const { taskId } = await provider.submit('qwen.text2img', { prompt: 'a poster' }, ctx);
    const error = await providerError(provider.status('custom.text2img', taskId, ctx));
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: '100051' });
    await expect(provider.status('qwen.text2img', taskId, ctx)).resolves.toMatchObject({
      providerStatus: expect.stringMatching(/^[1-5]$/),
    });
  });

  it('looks up a model version (002 §4.1.1), and classifies an unknown one as invalid_job 200001', async () => {
    const { client } = await setup();
    const uuid = '21df5d84cca74f7a885ba672b5a80d19';
    const version = await client.modelVersion(uuid);
    expect(version).toMatchObject({
      versionUuid: uuid,
      modelName: expect.stringContaining('21df5d'),
      versionName: '1.0',
      baseAlgo: expect.stringMatching(/^基础算法 /),
      showType: '1',
      commercialUse: true,
      modelUrl: expect.stringContaining(uuid),
    });
    expect(version.raw).toMatchObject({ version_uuid: uuid });
    // The simulator knows lowercase ids only; an uppercase one passes the schema and is not found.
    const error = await providerError(client.modelVersion(uuid.toUpperCase()));
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: '200001' });
  });
});

describe('liblib adapter ↔ simulator: status normalization', () => {
  it('walks a task queued → running → 3 → 4 → succeeded by the clock, without percentCompleted', async () => {
    const clock = manualClock();
    const { sim, provider } = await setup(
      {
        now: clock.now,
        latencyMs: { min: 1_000, max: 1_000 },
        reviewPhaseRate: 1,
        percentMissingRate: 1,
      },
      { now: clock.now },
    );
    const { taskId } = await provider.submit('kontext.text2img', { prompt: 'a fox', model: 'pro' }, ctx);
    // The simulator starts the task at 20 % of its latency, generates at 80 %, reviews at 90 %.
    const seen: TaskStatus[] = [];
    for (const at of [0, 500, 850, 950, 1_000]) {
      clock.set(at);
      seen.push(await provider.status('kontext.text2img', taskId, ctx));
    }
    expect(seen.map((s) => [s.state, s.providerStatus])).toEqual([
      ['queued', '1'],
      ['running', '2'],
      ['running', '3'],
      ['running', '4'],
      ['succeeded', '5'],
    ]);
    expect(seen[4]).toMatchObject({ pointsCost: 29, accountBalance: INITIAL_BALANCE - 29 });
    const output = (seen[4] as Extract<TaskStatus, { state: 'succeeded' }>).outputs[0]!;
    expect((await outputBytes(output.url)).equals(sim.imageBytes(output.url)!)).toBe(true);
  });

  it.each([
    [{ failureRate: 1 }, '6', 'liblib_generate_failed', /simulated failure/],
    [
      { reviewBlockRate: 1 },
      '5',
      'liblib_review_blocked',
      /blocked by content review.*simulated review block/,
    ],
    [{ timeoutRate: 1 }, '7', 'liblib_generate_timeout', /timed out.*simulated timeout/],
  ] as const)(
    'ends a task with %j failed (status %s, %s), refunded',
    async (options, providerStatus, code, message) => {
      const { provider } = await setup(options);
      const { status } = await runToEnd(provider, 'libdream.text2img', { prompt: 'a harbour' });
      expect(status).toMatchObject({ state: 'failed', providerStatus, error: { code } });
      if (status.state !== 'failed') return;
      expect(status.error.message).toMatch(message);
      // Review-blocked tasks keep their price; failed and timed-out ones report 0 (refunded).
      expect(status.pointsCost).toBe(providerStatus === '5' ? 10 : 0);
    },
  );
});

describe('liblib adapter ↔ simulator: error classification', () => {
  const KONTEXT = { prompt: 'a red fox' };
  // Short enough to keep the file fast, long enough that a loaded machine still answers in time
  // the calls that are not meant to hang.
  const HANG_TIMEOUTS = { timeouts: { connectMs: 2_000, requestMs: 500 } };

  it.each([
    ['a 5xx', { kind: '5xx' }, { status: 500, ambiguous: true }],
    ['malformed JSON', { kind: 'malformed-json' }, { status: 200, ambiguous: true }],
    ['a connection reset', { kind: 'reset' }, { ambiguous: true }],
    ['a hang past the request deadline', { kind: 'hang' }, { ambiguous: true }],
  ] as const)(
    'marks %s on submit ambiguous (a task may exist), creates nothing and recovers',
    async (_name, fault, expected) => {
      const { sim, provider } = await setup({}, fault.kind === 'hang' ? HANG_TIMEOUTS : {});
      sim.inject({ ...fault, endpoint: 'submit' });
      const error = await providerError(provider.submit('kontext.text2img', KONTEXT, ctx));
      expect(error).toMatchObject({ errorClass: 'transient', ...expected });
      if (fault.kind === 'hang') expect(error.message).toMatch(/timed out after 500 ms/);
      expect(sim.stats().accepted).toBe(0);
      await expect(provider.submit('kontext.text2img', KONTEXT, ctx)).resolves.toMatchObject({
        taskId: expect.any(String),
      });
    },
  );

  it('classifies a hang past the request deadline on status as transient, not ambiguous, and reads the same task to its end next time', async () => {
    const { sim, provider } = await setup({}, HANG_TIMEOUTS);
    const { taskId } = await provider.submit('kontext.text2img', KONTEXT, ctx);
    sim.inject({ kind: 'hang', endpoint: 'status' });
    const error = await providerError(provider.status('kontext.text2img', taskId, ctx));
    expect(error).toMatchObject({ errorClass: 'transient', ambiguous: false });
    let status = await provider.status('kontext.text2img', taskId, ctx);
    while (!isTaskEnded(status)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await provider.status('kontext.text2img', taskId, ctx);
    }
    expect(status).toMatchObject({ state: 'succeeded', providerStatus: '5' });
  });

  it('classifies a fault on the upload as transient, before any task exists', async () => {
    const { sim, provider } = await setup();
    sim.inject({ kind: '5xx', endpoint: 'upload' });
    const input = { prompt: 'add a hat', image_urls: [dataUrl(0)] };
    const error = await providerError(provider.submit('libedit.img2img', input, ctx));
    expect(error).toMatchObject({ errorClass: 'transient', ambiguous: false });
    expect(sim.stats()).toMatchObject({ submissions: 0, accepted: 0 });
  });

  it('classifies the account really outrunning 1 submission/s and 5 in flight as retry_later, counted once each', async () => {
    const clock = manualClock();
    const { sim, provider } = await setup(
      { now: clock.now, submitQps: 1, maxInFlight: 5, latencyMs: { min: 60_000, max: 60_000 } },
      { now: clock.now },
    );
    await provider.submit('kontext.text2img', KONTEXT, ctx);
    expect(await providerError(provider.submit('kontext.text2img', KONTEXT, ctx))).toMatchObject({
      errorClass: 'retry_later',
      status: 429,
      code: '429',
    });
    for (let second = 1; second < 5; second++) {
      clock.set(second * 1_001);
      await provider.submit('kontext.text2img', KONTEXT, ctx);
    }
    clock.set(5 * 1_001);
    expect(await providerError(provider.submit('kontext.text2img', KONTEXT, ctx))).toMatchObject({
      errorClass: 'retry_later',
      status: 200,
      code: '100054',
    });
    expect(sim.stats()).toMatchObject({ accepted: 5, qpsBreaches: 1, inFlightBreaches: 1 });
  });

  it.each([
    ['a "forbidden" prompt (moderation)', 'kontext.text2img', { prompt: 'a forbidden fruit' }, '100052'],
    [
      // The escape hatch (statusEndpoint) lets an unlisted template through; the provider decides.
      'an unlisted template sent through the escape hatch',
      'custom.text2img',
      { prompt: 'a', templateUuid: LIBLIB_TEMPLATES.kontextText2img, statusEndpoint: 'generate' },
      '100120',
    ],
  ] as const)('classifies %s as invalid_job %s', async (_name, op, input, code) => {
    const { sim, provider } = await setup();
    const error = await providerError(provider.submit(op, input, ctx));
    expect(error).toMatchObject({ errorClass: 'invalid_job', code, status: 200, ambiguous: false });
    expect(sim.stats()).toMatchObject({ submissions: 1, accepted: 0 });
  });

  it('classifies the status of an unknown task as invalid_job 100051', async () => {
    const { provider } = await setup();
    const error = await providerError(provider.status('kontext.text2img', 'f'.repeat(32), ctx));
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: '100051', status: 200 });
  });

  it('refuses input its schema rejects as invalid_job before any request leaves', async () => {
    const { sim, provider } = await setup();
    const error = await providerError(provider.submit('kontext.text2img', { prompt: 'a', imgCount: 5 }, ctx));
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: 'invalid_input' });
    expect(sim.stats()).toMatchObject({ submissions: 0, authFailures: 0 });
  });
});
