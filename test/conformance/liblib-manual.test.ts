import { CUSTOM_IMG2IMG_TEMPLATES, CUSTOM_TEXT2IMG_TEMPLATES, LIBLIB_TEMPLATES } from '@genqueue/liblib';
import { createLiblibProvider } from '@genqueue/providers';
import { providerError, runToEnd } from '@genqueue/providers/testing';
import { INITIAL_BALANCE, type SimulatorOptions } from '@genqueue/simulator';
import { describe, expect, it } from 'vitest';
import { simulatorFixture } from './fixture.ts';

const ctx = { jobId: 'job-manual' };
const REMOTE = 'https://liblibai-online.liblib.cloud/img/remote.png';

const fixture = simulatorFixture({ mode: 'liblib', seed: 13 });

async function setup(options: SimulatorOptions = {}) {
  const sim = await fixture.start(options);
  const provider = fixture.own(
    createLiblibProvider({
      baseUrl: sim.url,
      accessKey: sim.options.accessKey,
      secretKey: sim.options.secretKey,
      timeouts: { connectMs: 2_000, requestMs: 3_000 },
    }),
  );
  return { sim, provider };
}

describe('liblib templates per endpoint (002 §4.4.1, §4.4.2, §9.3, §11)', () => {
  it.each(Object.keys(CUSTOM_TEXT2IMG_TEMPLATES))(
    'runs custom.text2img with listed template %s to success on its own status endpoint',
    async (templateUuid) => {
      const { provider } = await setup();
      const { status } = await runToEnd(provider, 'custom.text2img', {
        templateUuid,
        prompt: 'a lighthouse',
      });
      expect(status, JSON.stringify(status)).toMatchObject({ state: 'succeeded' });
    },
  );

  it('polls Qwen-Image sent through custom.text2img on /api/generate/status, where 002 §11.2 puts it', async () => {
    const { sim, provider } = await setup();
    const { taskId, status } = await runToEnd(provider, 'custom.text2img', {
      templateUuid: LIBLIB_TEMPLATES.qwenText2img,
      prompt: 'a poster',
    });
    expect(status.state).toBe('succeeded');
    // The simulator answers a task only on its own status endpoint: every poll reached it.
    expect(sim.tasks()[0]?.statusQueries).toBeGreaterThan(0);
    expect(taskId).toContain(';status=/api/generate/status');
  });

  it.each(Object.keys(CUSTOM_IMG2IMG_TEMPLATES))(
    'runs custom.img2img with listed template %s to success',
    async (templateUuid) => {
      const { provider } = await setup();
      const { status } = await runToEnd(provider, 'custom.img2img', {
        templateUuid,
        prompt: 'a lighthouse at dusk',
        sourceImage: REMOTE,
      });
      expect(status).toMatchObject({ state: 'succeeded' });
    },
  );

  it.each([
    [
      'a text-to-image template on the image-to-image endpoint',
      'custom.img2img',
      LIBLIB_TEMPLATES.customF1Text2img,
    ],
    [
      'an image-to-image template on the text-to-image endpoint',
      'custom.text2img',
      LIBLIB_TEMPLATES.customSdImg2img,
    ],
    ["Kontext's template on the custom-model endpoint", 'custom.text2img', LIBLIB_TEMPLATES.kontextText2img],
  ])('refuses %s before any request leaves, naming the escape hatch', async (_name, op, templateUuid) => {
    const { sim, provider } = await setup();
    const error = await providerError(
      provider.submit(op, { templateUuid, prompt: 'a', sourceImage: REMOTE }, ctx),
    );
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: 'invalid_input' });
    expect(error.message).toMatch(/templateUuid.*not a template 002 lists.*statusEndpoint/);
    expect(sim.stats().submissions).toBe(0);
  });

  it('sends an unlisted template with statusEndpoint (not forwarded) and polls where it says', async () => {
    const { sim, provider } = await setup();
    // The simulator does not list Qwen's template for img2img: the provider's own answer (100120)
    // comes back, proving the request went out with the unlisted template.
    const error = await providerError(
      provider.submit(
        'custom.img2img',
        {
          templateUuid: LIBLIB_TEMPLATES.qwenText2img,
          statusEndpoint: 'generate',
          prompt: 'a',
          sourceImage: REMOTE,
        },
        ctx,
      ),
    );
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: '100120' });
    expect(sim.stats().submissions).toBe(1);
  });

  it.each([
    ["§9.3's example", LIBLIB_TEMPLATES.libEditV2],
    ["§9.3.1's table", LIBLIB_TEMPLATES.libEditV2Table],
  ])('runs libEditV2 with the template of %s', async (_name, templateUuid) => {
    const { provider } = await setup();
    const { status } = await runToEnd(provider, 'libeditv2.img2img', {
      templateUuid,
      prompt: 'add a scarf',
      image_urls: [REMOTE],
    });
    expect(status).toMatchObject({ state: 'succeeded' });
  });
});

describe('the custom text-to-image prompt, required by 002 §4.2.1 / §11.1.2 and 选填 in their examples', () => {
  it.each([
    ['custom.text2img', { width: 768, height: 1024 }],
    ['custom.text2img', { templateUuid: LIBLIB_TEMPLATES.qwenText2img }],
    ['qwen.text2img', { width: 1328, height: 1328 }],
  ] as const)('runs %s %j without a prompt, as the examples allow', async (op, input) => {
    const { provider } = await setup();
    const { status } = await runToEnd(provider, op, input);
    expect(status, JSON.stringify(status)).toMatchObject({ state: 'succeeded' });
  });

  it('fails a prompt-less job as invalid_job naming the prompt where the server follows the tables', async () => {
    const { sim, provider } = await setup({ customPromptRequired: true });
    const error = await providerError(provider.submit('custom.text2img', { width: 768 }, ctx));
    expect(error).toMatchObject({ errorClass: 'invalid_job', code: '100000', ambiguous: false });
    expect(error.message).toMatch(/prompt is required/);
    expect(sim.stats()).toMatchObject({ submissions: 1, accepted: 0 });
    // The way through: the same job with a prompt.
    const { status } = await runToEnd(provider, 'custom.text2img', { width: 768, prompt: 'a lighthouse' });
    expect(status).toMatchObject({ state: 'succeeded' });
  });
});

describe('IMG1 inpaint images (002 §6.2.2: at most 4 MB each, the mask a png)', () => {
  const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const png = (size: number) => Buffer.concat([PNG_HEAD, Buffer.alloc(size - PNG_HEAD.length)]);
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Array(60).fill(0)]);

  const inline = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`;

  it.each([
    ['an inline image over 4 MB', { image: png(4 * 1024 * 1024 + 1), mask: png(64) }, /at most 4 MB/],
    ['an inline JPEG mask', { image: png(64), mask: jpeg }, /must be a PNG/],
  ])('refuses %s before uploading anything', async (_name, files, message) => {
    const { sim, provider } = await setup();
    const input = {
      prompt: 'a dog reading',
      imgCount: 1,
      image: inline(files.image),
      mask: inline(files.mask),
    };
    const error = await providerError(provider.prepare!('img1.inpaint', input, ctx));
    expect(error).toMatchObject({ errorClass: 'invalid_job' });
    expect(error.message).toMatch(message);
    expect(error.message).toContain('002 §6.2.2');
    expect(sim.stats()).toMatchObject({ submissions: 0, accounts: { default: { uploads: 0 } } });
  });

  it('uploads a 4 MB inline image and a PNG mask, and runs to success', async () => {
    const { provider } = await setup();
    const { status } = await runToEnd(provider, 'img1.inpaint', {
      prompt: 'a',
      imgCount: 1,
      image: inline(png(4 * 1024 * 1024)),
      mask: inline(png(64)),
    });
    expect(status, JSON.stringify(status)).toMatchObject({ state: 'succeeded' });
  });
});

describe('liblib review statuses (002 §3.2, §4.3.2)', () => {
  it('counts outputs without auditStatus as approved: the list holds only approved images', async () => {
    const { provider } = await setup({ auditStatusMissingRate: 1 });
    for (const [op, input] of [
      ['kontext.text2img', { prompt: 'a fox', imgCount: 2 }],
      ['kling.text2video', { prompt: 'a band' }],
    ] as const) {
      const { status } = await runToEnd(provider, op, input);
      expect(status, JSON.stringify(status)).toMatchObject({ state: 'succeeded' });
      if (status.state === 'succeeded') expect(status.outputs.length).toBe(op === 'kontext.text2img' ? 2 : 1);
    }
  });

  it.each([
    ['leaves the blocked outputs out', 0],
    ['lists them with auditStatus 4 / 5', 1],
  ])('fails a review-blocked task whose answer %s', async (_name, listed) => {
    const { provider } = await setup({ reviewBlockRate: 1, reviewBlockedListedRate: listed });
    const { status } = await runToEnd(provider, 'kontext.text2img', { prompt: 'a fox', imgCount: 2 });
    expect(status).toMatchObject({ state: 'failed', error: { code: 'liblib_review_blocked' } });
  });

  it('refunds the points of a timed-out task (002 §4.3.1: 解冻积分)', async () => {
    const { sim, provider } = await setup({ timeoutRate: 1 });
    await runToEnd(provider, 'kontext.text2img', { prompt: 'a fox', model: 'pro' });
    sim.configure({ timeoutRate: 0 });
    const { status } = await runToEnd(provider, 'kontext.text2img', { prompt: 'a fox', model: 'pro' });
    // Only the second task's 29 points are gone: the first one's were unfrozen.
    expect(status).toMatchObject({ state: 'succeeded', accountBalance: INITIAL_BALANCE - 29 });
  });
});
