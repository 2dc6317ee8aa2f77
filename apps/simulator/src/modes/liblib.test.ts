import { afterEach, describe, expect, it } from 'vitest';
import { decodePng, liblibCaller, manualClock } from '../internal/test-support.ts';
import { startSimulator } from '../simulator.ts';
import type { Simulator, SimulatorOptions } from '../types.ts';
import { INITIAL_BALANCE, LIBLIB_SUBMIT_PATHS, LIBLIB_TEMPLATES, OSS_BUCKET_PATH } from './liblib.mode.ts';
import { LIBLIB_PARAM_RULES } from './liblib-rules.ts';

const KONTEXT = '/api/generate/kontext/text2img';
const KONTEXT_TEMPLATE = 'fe9928fde1b4491c9b360dd24aa2b115';
const STATUS = '/api/generate/status';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(options: SimulatorOptions = {}) {
  const clock = manualClock();
  sim = await startSimulator({
    seed: 7,
    latencyMs: { min: 10_000, max: 10_000 },
    now: clock.now,
    // Every approved output says auditStatus 3 and blocked ones are left out, unless a test asks.
    auditStatusMissingRate: 0,
    reviewBlockedListedRate: 0,
    ...options,
  });
  const api = liblibCaller(sim.url, { accessKey: 'sim-access-key', secretKey: 'sim-secret-key' }, clock.now);
  const kontext = (generateParams: Record<string, unknown> = { prompt: 'a red fox' }) =>
    api.post(KONTEXT, { templateUuid: KONTEXT_TEMPLATE, generateParams });
  const status = (id: string, path = STATUS) => api.post(path, { generateUuid: id });
  return { sim, clock, api, kontext, status };
}

describe('liblib mode: signatures (002 §2.4)', () => {
  it('accepts a correctly signed call and rejects forged ones with 401, counting each', async () => {
    const { api, clock, sim } = await setup();
    const body = { versionUuid: '21df5d84cca74f7a885ba672b5a80d19' };
    const path = '/api/model/version/get';
    const ok = await api.post(path, body);
    expect(ok.status).toBe(200);
    expect(ok.json?.data?.version_uuid).toBe(body.versionUuid);

    const forged = [
      await api.post(path, body, { signature: 'not-the-signature' }),
      await api.post(path, body, { secretKey: 'wrong-secret' }),
      await api.post(path, body, { accessKey: 'unknown-key' }),
      await api.post(path, body, { signedPath: '/api/generate/status' }),
      await api.post(path, body, { timestamp: String(clock.now() - 5 * 60_000 - 1) }),
      await api.post(path, body, { timestamp: String(clock.now() + 5 * 60_000 + 1) }),
    ];
    for (const r of forged) {
      expect(r.status).toBe(401);
      expect(r.json?.code).toBe(401);
    }
    // Still inside the 5-minute window.
    expect((await api.post(path, body, { timestamp: String(clock.now() - 4 * 60_000) })).status).toBe(200);
    expect(sim.stats().authFailures).toBe(forged.length);
  });

  it('rejects a reused nonce', async () => {
    const { api, sim } = await setup();
    const path = '/api/model/version/get';
    const body = { versionUuid: '21df5d84cca74f7a885ba672b5a80d19' };
    expect((await api.post(path, body, { nonce: 'once-only' })).status).toBe(200);
    expect((await api.post(path, body, { nonce: 'once-only' })).status).toBe(401);
    expect(sim.stats().authFailures).toBe(1);
  });

  it('rejects a call without the signing query parameters', async () => {
    const { sim } = await setup();
    const res = await fetch(`${sim.url}${STATUS}`, { method: 'POST', body: '{"generateUuid":"x"}' });
    expect(res.status).toBe(401);
  });
});

const IMG = 'https://example.com/a.png';
/** Besides a prompt, what each path's table requires (002 §3.1, §4.2.4, §5.2.2, §6, §8.1, §9, §10, §11.1.2). */
const MINIMAL: Record<string, Record<string, unknown>> = {
  '/api/generate/webui/text2img/ultra': { aspectRatio: 'square', imgCount: 1 },
  '/api/generate/webui/img2img/ultra': { sourceImage: IMG, imgCount: 1 },
  '/api/generate/webui/text2img': {},
  '/api/generate/webui/img2img': { sourceImage: IMG },
  '/api/generate/kontext/text2img': {},
  '/api/generate/kontext/img2img': { image_list: [IMG] },
  '/api/generate/smart-img1/generate': { imgCount: 1 },
  '/api/generate/smart-img1/inpaint': { imgCount: 1, image: IMG, mask: 'https://example.com/m.png' },
  '/api/generate/libDream': {},
  '/api/generate/libEdit': { image_urls: [IMG] },
  '/api/generate/libEditV2': { image_urls: [IMG] },
  '/api/generate/seedreamV4': {},
  '/api/generate/comfyui/app': { workflowUuid: '2f22a4ea4e1c4d8a9e54a06b3f3e0e2a' },
  '/api/generate/video/kling/text2video': {},
  '/api/generate/video/kling/img2video': { startFrame: IMG },
  '/api/generate/video/kling/multiImg2video': { referenceImages: [IMG] },
};

describe('liblib mode: submissions', () => {
  it('accepts every submission path of the manual with its template, each polled on its status endpoint', async () => {
    const { api, clock, sim } = await setup({ maxInFlight: 100 });
    const statusPathOf = (path: string) =>
      path.startsWith('/api/generate/webui/')
        ? '/api/generate/webui/status'
        : path === '/api/generate/comfyui/app'
          ? '/api/generate/comfy/status'
          : STATUS;
    for (const path of LIBLIB_SUBMIT_PATHS) {
      clock.advance(1000);
      const generateParams = { prompt: `prompt for ${path}`, ...MINIMAL[path] };
      const res = await api.post(path, { templateUuid: LIBLIB_TEMPLATES[path], generateParams });
      expect(res.json, path).toMatchObject({ code: 0, msg: '', data: { generateUuid: expect.any(String) } });
      const id = res.json!.data!.generateUuid!;
      const answer = await api.post(statusPathOf(path), { generateUuid: id });
      expect(answer.json?.code, path).toBe(0);
    }
    expect(sim.stats().accepted).toBe(LIBLIB_SUBMIT_PATHS.length);
  });

  it('answers Qwen-Image (webui path) on the generic status endpoint, and a task elsewhere as 100051', async () => {
    const { api, status } = await setup();
    const res = await api.post('/api/generate/webui/text2img', {
      templateUuid: 'bf085132c7134622895b783b520b39ff',
      generateParams: { prompt: 'qwen', checkPointId: '75e0be0c93b34dd8baeec9c968013e0c' },
    });
    const id = res.json!.data!.generateUuid!;
    expect((await status(id)).json?.code).toBe(0);
    expect((await status(id, '/api/generate/webui/status')).json?.code).toBe(100051);
    expect((await status('0'.repeat(32))).json?.code).toBe(100051);
  });

  it('validates like the provider: template, prompt, moderation, Kontext ranges', async () => {
    const { api, clock, kontext, sim } = await setup();
    const cases: [Promise<{ json?: { code: number } | undefined }>, number][] = [
      [
        api.post(KONTEXT, {
          templateUuid: 'ffffffffffffffffffffffffffffffff',
          generateParams: { prompt: 'x' },
        }),
        100120,
      ],
      [api.post(KONTEXT, { templateUUID: KONTEXT_TEMPLATE, generateParams: { prompt: 'x' } }), 100000],
      [kontext({}), 100000],
      [kontext({ prompt: 'a forbidden scene' }), 100052],
      [kontext({ prompt: 'x', imgCount: 5 }), 100000],
      [kontext({ prompt: 'x', model: 'ultra' }), 100000],
      [kontext({ prompt: 'x', aspectRatio: '5:4' }), 100000],
      [
        api.post('/api/generate/kontext/img2img', {
          templateUuid: '1c0a9712b3d84e1b8a9f49514a46d88c',
          generateParams: { prompt: 'x' },
        }),
        100000,
      ],
    ];
    for (const [call, code] of cases) {
      clock.advance(1000);
      expect((await call).json?.code).toBe(code);
    }
    expect(sim.stats()).toMatchObject({ accepted: 0, qpsBreaches: 0 });
  });
});

describe('liblib mode: lifecycle', () => {
  it('runs a Kontext task 1 → 2 → 5 by the clock with imgCount decodable, distinct PNGs and max pricing', async () => {
    const { clock, kontext, status, sim } = await setup({ reviewPhaseRate: 0, percentMissingRate: 0 });
    const id = (await kontext({ prompt: 'two foxes', imgCount: 2 })).json!.data!.generateUuid!;
    expect((await status(id)).json?.data).toMatchObject({ generateStatus: 1, percentCompleted: 0 });
    clock.advance(5000);
    const running = (await status(id)).json!.data!;
    expect(running.generateStatus).toBe(2);
    expect(running.percentCompleted).toBeGreaterThan(0);
    expect(running.percentCompleted).toBeLessThan(1);
    expect(running.images).toEqual([]);
    clock.advance(5000);
    const done = (await status(id)).json!.data!;
    expect(done).toMatchObject({
      generateUuid: id,
      generateStatus: 5,
      percentCompleted: 1,
      pointsCost: 116,
      accountBalance: INITIAL_BALANCE - 116,
    });
    expect(done.images).toHaveLength(2);
    const pixels: Buffer[] = [];
    for (const image of done.images!) {
      expect(image.auditStatus).toBe(3);
      const res = await fetch(image.imageUrl);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
      expect(sim.imageBytes(image.imageUrl)?.equals(bytes)).toBe(true);
      const png = decodePng(bytes);
      expect([png.width, png.height]).toEqual([64, 64]);
      pixels.push(png.pixels);
    }
    expect(pixels[0]!.equals(pixels[1]!)).toBe(false);
    const task = sim.tasks().find((t) => t.id === id)!;
    expect(task).toMatchObject({
      state: 'succeeded',
      prompt: 'two foxes',
      statusQueries: 3,
      endedAt: task.endsAt,
    });
    expect(task.firstTerminalQueryAt).toBe(clock.now());
  });

  it('passes 3 (generated) and 4 (under review) when the task goes through review, and prices pro at 29', async () => {
    const { clock, kontext, status } = await setup({ reviewPhaseRate: 1 });
    const id = (await kontext({ prompt: 'x', model: 'pro' })).json!.data!.generateUuid!;
    clock.advance(8500);
    expect((await status(id)).json?.data?.generateStatus).toBe(3);
    clock.advance(1000);
    expect((await status(id)).json?.data?.generateStatus).toBe(4);
    clock.advance(1000);
    expect((await status(id)).json?.data).toMatchObject({ generateStatus: 5, pointsCost: 29 });
  });

  it('answers IMG1 tasks without percentCompleted or seeds (002 §6.3.2: 智能算法IMG1不支持)', async () => {
    const { api, clock, status } = await setup({ percentMissingRate: 0 });
    const res = await api.post('/api/generate/smart-img1/generate', {
      templateUuid: LIBLIB_TEMPLATES['/api/generate/smart-img1/generate'],
      generateParams: { prompt: 'a poster', imgCount: 2 },
    });
    const id = res.json!.data!.generateUuid!;
    expect((await status(id)).json?.data).not.toHaveProperty('percentCompleted');
    clock.advance(10_000);
    const done = (await status(id)).json!.data!;
    expect(done).toMatchObject({ generateStatus: 5 });
    expect(done).not.toHaveProperty('percentCompleted');
    expect(done.images).toHaveLength(2);
    for (const image of done.images!) {
      expect(image).not.toHaveProperty('seed');
      expect((await fetch(image.imageUrl)).status).toBe(200);
    }
  });

  it('omits percentCompleted when configured to, like the real API often does', async () => {
    const { kontext, status } = await setup({ percentMissingRate: 1 });
    const id = (await kontext()).json!.data!.generateUuid!;
    expect((await status(id)).json?.data).not.toHaveProperty('percentCompleted');
  });

  it('ends tasks failed (6), review-blocked (5, no images) or timed out (7) by the configured rates', async () => {
    const { clock, kontext, status, sim } = await setup({ failureRate: 1 });
    const failed = (await kontext()).json!.data!.generateUuid!;
    clock.advance(10_000);
    const f = (await status(failed)).json!.data!;
    expect(f).toMatchObject({
      generateStatus: 6,
      pointsCost: 0,
      accountBalance: INITIAL_BALANCE,
      images: [],
    });
    expect(f.generateMsg).toMatch(/\S/);

    sim.configure({ failureRate: 0, reviewBlockRate: 1 });
    const blocked = (await kontext()).json!.data!.generateUuid!;
    clock.advance(10_000);
    const b = (await status(blocked)).json!.data!;
    expect(b).toMatchObject({ generateStatus: 5, images: [], pointsCost: 58 });
    expect(sim.tasks().find((t) => t.id === blocked)).toMatchObject({ reviewBlocked: true, images: [] });

    sim.configure({ reviewBlockRate: 0, timeoutRate: 1 });
    const timedOut = (await kontext()).json!.data!.generateUuid!;
    clock.advance(10_000);
    expect((await status(timedOut)).json?.data).toMatchObject({ generateStatus: 7, pointsCost: 0 });
    expect(sim.tasks().map((t) => t.state)).toEqual(['failed', 'succeeded', 'timeout']);
  });

  it('freezes points at submission and unfreezes them at timeout (002 §4.3.1: 解冻积分)', async () => {
    const { clock, kontext, status } = await setup({ timeoutRate: 1 });
    const id = (await kontext({ prompt: 'x', model: 'pro' })).json!.data!.generateUuid!;
    expect((await status(id)).json?.data).toMatchObject({
      generateStatus: 1,
      pointsCost: 29,
      accountBalance: INITIAL_BALANCE - 29,
    });
    clock.advance(10_000);
    expect((await status(id)).json?.data).toMatchObject({
      generateStatus: 7,
      pointsCost: 0,
      accountBalance: INITIAL_BALANCE,
    });
  });

  it('leaves auditStatus out of approved outputs when configured to (002 §3.2 lists only approved ones)', async () => {
    const { api, clock, kontext, status } = await setup({ auditStatusMissingRate: 1 });
    const image = (await kontext({ prompt: 'x', imgCount: 2 })).json!.data!.generateUuid!;
    clock.advance(1000);
    const video = (
      await api.post('/api/generate/video/kling/text2video', {
        templateUuid: '61cd8b60d340404394f2a545eeaf197a',
        generateParams: { prompt: 'a moving fox' },
      })
    ).json!.data!.generateUuid!;
    clock.advance(10_000);
    const images = (await status(image)).json!.data!.images!;
    expect(images).toHaveLength(2);
    for (const out of images) expect(out).not.toHaveProperty('auditStatus');
    const videos = (await status(video)).json!.data!.videos!;
    expect(videos).toHaveLength(1);
    expect(videos[0]).not.toHaveProperty('auditStatus');
  });

  it('lists review-blocked outputs with auditStatus 4 and 5 when configured to (002 §4.3.2)', async () => {
    const { clock, kontext, status } = await setup({ reviewBlockRate: 1, reviewBlockedListedRate: 1 });
    const id = (await kontext({ prompt: 'x', imgCount: 2 })).json!.data!.generateUuid!;
    clock.advance(10_000);
    const data = (await status(id)).json!.data!;
    expect(data.generateStatus).toBe(5);
    expect(data.images!.map((i) => i.auditStatus)).toEqual([4, 5]);
    // A blocked image's URL serves nothing.
    expect((await fetch(data.images![0]!.imageUrl)).status).toBe(404);
  });

  it('serves a fake MP4 and a PNG cover for Kling video tasks', async () => {
    const { api, clock, status } = await setup();
    const res = await api.post('/api/generate/video/kling/text2video', {
      templateUuid: '61cd8b60d340404394f2a545eeaf197a',
      generateParams: { prompt: 'a moving fox' },
    });
    const id = res.json!.data!.generateUuid!;
    clock.advance(10_000);
    const data = (await status(id)).json!.data!;
    expect(data.images).toEqual([]);
    expect(data.videos).toHaveLength(1);
    const video = await fetch(data.videos![0]!.videoUrl);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await video.arrayBuffer()).toString('latin1', 4, 8)).toBe('ftyp');
    const cover = Buffer.from(await (await fetch(data.videos![0]!.coverPath)).arrayBuffer());
    expect(decodePng(cover).width).toBe(64);
  });
});

describe('liblib mode: limits (002 §2.3)', () => {
  it('answers 429 as HTTP for QPS and 100054 in the body for concurrency by default, counting both', async () => {
    const { clock, kontext, sim } = await setup();
    expect((await kontext()).json?.code).toBe(0);
    const qps = await kontext();
    expect([qps.status, qps.json?.code]).toEqual([429, 429]);
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      expect((await kontext()).json?.code).toBe(0);
    }
    clock.advance(1000);
    const busy = await kontext();
    expect([busy.status, busy.json?.code]).toEqual([200, 100054]);
    expect(sim.stats()).toMatchObject({
      submissions: 7,
      accepted: 5,
      qpsBreaches: 1,
      inFlightBreaches: 1,
      inFlight: 5,
      maxInFlightObserved: 5,
    });
    // The first task ends at its endsAt by the clock, without anyone polling it.
    clock.advance(10_000 - 5000);
    expect(sim.stats().inFlight).toBe(4);
    expect((await kontext()).json?.code).toBe(0);
  });

  it('answers both limits in the body or both as HTTP 429 when configured', async () => {
    const { clock, kontext, sim } = await setup({ limitErrorForm: 'body', maxInFlight: 1 });
    await kontext();
    const qps = await kontext();
    expect([qps.status, qps.json?.code]).toEqual([200, 429]);
    sim.configure({ limitErrorForm: 'http' });
    clock.advance(1000);
    const busy = await kontext();
    expect([busy.status, busy.json?.code]).toEqual([429, 100054]);
    expect(sim.stats()).toMatchObject({ qpsBreaches: 1, inFlightBreaches: 1 });
  });

  it('counts prompts accepted more than once', async () => {
    const { clock, kontext, sim } = await setup();
    await kontext({ prompt: 'same' });
    clock.advance(1000);
    await kontext({ prompt: 'same' });
    clock.advance(1000);
    await kontext({ prompt: 'other' });
    expect(sim.stats()).toMatchObject({ duplicatePrompts: 1, submissionsByPrompt: { same: 2, other: 1 } });
  });
});

describe('liblib mode: accept-hang (the crash window of a submission)', () => {
  it('creates the task, then holds the answer for delayMs', async () => {
    const { kontext, sim } = await setup();
    sim.inject({ kind: 'accept-hang', delayMs: 400 });
    const pending = kontext({ prompt: 'held' });
    // The task exists (and counts in flight) while the client is still waiting for its id.
    await expect.poll(() => sim.tasks().length).toBe(1);
    expect(sim.stats()).toMatchObject({ accepted: 1, inFlight: 1, faultsInjected: { 'accept-hang': 1 } });
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.json?.data?.generateUuid).toBe(sim.tasks()[0]!.id);
  });

  it('never answers without delayMs; a resubmission is counted as a duplicate prompt', async () => {
    const { clock, kontext, sim } = await setup();
    sim.inject({ kind: 'accept-hang' });
    let settled = false;
    void kontext({ prompt: 'lost answer' })
      .catch(() => undefined)
      .finally(() => {
        settled = true;
      });
    await expect.poll(() => sim.tasks().length).toBe(1);
    clock.advance(1000);
    const again = await kontext({ prompt: 'lost answer' });
    expect(again.json?.code).toBe(0);
    expect(settled).toBe(false);
    expect(sim.stats()).toMatchObject({ accepted: 2, duplicatePrompts: 1 });
    expect(() => sim.inject({ kind: 'accept-hang', endpoint: 'status' })).toThrow(TypeError);
  });
});

describe('liblib mode: upload', () => {
  const ossForm = (grant: Record<string, unknown>, fields: [string, string | Blob][]) => {
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    return fetch(String(grant.postUrl), { method: 'POST', body: form });
  };
  const signedFields = (g: Record<string, unknown>, lower: boolean): [string, string][] => {
    const pick = (camel: string) => String(g[lower ? camel.replace('xOss', 'xoss') : camel]);
    return [
      ['key', String(g.key)],
      ['policy', String(g.policy)],
      ['x-oss-date', pick('xOssDate')],
      ['x-oss-expires', pick('xOssExpires')],
      ['x-oss-signature', pick('xOssSignature')],
      ['x-oss-credential', pick('xOssCredential')],
      ['x-oss-signature-version', pick('xOssSignatureVersion')],
    ];
  };

  for (const spelling of ['camel', 'lower'] as const) {
    it(`grants an OSS PostObject (${spelling} spelling), requires file last, and serves the bytes at postUrl/key`, async () => {
      const { api, sim } = await setup({ uploadSpelling: spelling });
      const grant = (await api.post('/api/generate/upload/signature', { name: 'input', extension: 'png' }))
        .json!.data!;
      if (spelling === 'camel') {
        expect(grant).toMatchObject({ xOssExpires: 3600, xOssSignatureVersion: 'OSS4-HMAC-SHA256' });
      } else {
        expect(grant).toMatchObject({ xossExpires: '3600', xossSignatureVersion: 'OSS4-HMAC-SHA256' });
        expect(grant).not.toHaveProperty('xOssDate');
      }
      expect(String(grant.postUrl)).toBe(`${sim.url}${OSS_BUCKET_PATH}`);
      const bytes = Buffer.from('fake image bytes');
      const file = new Blob([bytes], { type: 'image/png' });
      const fields = signedFields(grant, spelling === 'lower');

      const fileFirst = await ossForm(grant, [['file', file], ...fields]);
      expect(fileFirst.status).toBe(400);
      expect(await fileFirst.text()).toMatch(/last/);
      const missing = await ossForm(grant, [...fields.filter(([n]) => n !== 'policy'), ['file', file]]);
      expect(missing.status).toBe(400);
      const tampered = await ossForm(grant, [
        ...fields.map(([n, v]): [string, string] => [n, n === 'x-oss-signature' ? 'bad' : v]),
        ['file', file],
      ]);
      expect(tampered.status).toBe(403);

      const ok = await ossForm(grant, [...fields, ['file', file]]);
      expect(ok.status).toBe(204);
      const url = `${grant.postUrl}/${grant.key}`;
      const served = await fetch(url);
      expect(served.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
      expect(sim.imageBytes(url)?.equals(bytes)).toBe(true);
    });
  }

  it('checks IMG1 inpaint images it holds as the provider would on download: ≤ 4 MB, a png mask (002 §6.2.2)', async () => {
    const { api, clock } = await setup({ maxInFlight: 100, submitQps: 100 });
    const upload = async (extension: string, bytes: Buffer) => {
      const grant = (await api.post('/api/generate/upload/signature', { name: 'in', extension })).json!.data!;
      const file = new Blob([bytes], { type: extension === 'png' ? 'image/png' : 'image/jpeg' });
      expect((await ossForm(grant, [...signedFields(grant, false), ['file', file]])).status).toBe(204);
      return `${grant.postUrl}/${grant.key}`;
    };
    const png = (size: number) =>
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(size - 8)]);
    const small = await upload('png', png(1024));
    const big = await upload('png', png(4 * 1024 * 1024 + 1));
    const jpeg = await upload('jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0]));
    const inpaint = (image: string, mask: string) => {
      clock.advance(1000);
      return api.post('/api/generate/smart-img1/inpaint', {
        templateUuid: LIBLIB_TEMPLATES['/api/generate/smart-img1/inpaint'],
        generateParams: { prompt: 'a', imgCount: 1, image, mask },
      });
    };
    expect((await inpaint(small, small)).json?.code).toBe(0);
    expect((await inpaint(jpeg, small)).json?.code).toBe(0);
    expect((await inpaint(big, small)).json?.code).toBe(100030);
    expect((await inpaint(small, big)).json?.code).toBe(100030);
    expect((await inpaint(small, jpeg)).json).toMatchObject({ code: 100000, msg: 'mask must be a png' });
  });

  it('rejects names and extensions the upload API does not take', async () => {
    const { api } = await setup();
    const path = '/api/generate/upload/signature';
    expect((await api.post(path, { name: 'a', extension: 'gif' })).json?.code).toBe(100000);
    expect((await api.post(path, { name: 'a'.repeat(101), extension: 'png' })).json?.code).toBe(100000);
    expect((await api.post(path, { name: 'a', extension: 'JPG' })).json?.code).toBe(0);
  });
});

describe('liblib mode: model version', () => {
  it('answers a plausible record, and 200001 with the manual message for an unknown uuid', async () => {
    const { api } = await setup();
    const found = await api.post('/api/model/version/get', {
      versionUuid: '21df5d84cca74f7a885ba672b5a80d19',
    });
    expect(found.json?.data).toMatchObject({
      commercial_use: '1',
      baseAlgo: expect.stringContaining('基础算法'),
    });
    const missing = await api.post('/api/model/version/get', { versionUuid: 'nope' });
    expect(missing.json?.code).toBe(200001);
    expect(missing.json?.msg).toContain('未找到');
  });
});

describe('liblib mode: parameters checked from the manual', () => {
  const URL = 'https://example.com/a.png';
  const P = (n: number) => 'x'.repeat(n);
  const LORA = { modelId: '31360f2f031b4ff6b589412a52713fcf', weight: -4 };
  /** 002 §4.2.6's ControlNet unit, as §4.1.4.1's example sends it. */
  const UNIT = {
    unitOrder: 1,
    sourceImage: URL,
    width: 1024,
    height: 1536,
    preprocessor: 3,
    annotationParameters: {
      depthLeres: { preprocessorResolution: 1024, removeNear: 0, removeBackground: 0 },
    },
    model: '6349e9dae8814084bd9c1585d335c24c',
    controlWeight: 1,
    startingControlStep: 0,
    endingControlStep: 1,
    pixelPerfect: 1,
    controlMode: 0,
    resizeMode: 1,
    maskImage: '',
  };
  const QWEN = 'bf085132c7134622895b783b520b39ff';
  const QWEN_CHECKPOINT = '75e0be0c93b34dd8baeec9c968013e0c';
  const F1_TEXT2IMG = '6f7c4652458d4802969f8d089cf5b91f';
  const SD_TEXT2IMG = 'e10adc3949ba59abbe56e057f20f883e';
  const STAR3_TEXT2IMG = '5d7e67009b344550bc1aa6ccbfa1d7f4';
  /** 002 §11.1.2's example, comments removed. */
  const QWEN_EXAMPLE = {
    checkPointId: QWEN_CHECKPOINT,
    prompt: 'Asian portrait,A young woman wearing a green baseball cap,covering one eye with her hand',
    negativePrompt: 'ng_deepnegative_v1_75t,(badhandv4:1.2),EasyNegative,(worst quality:2),nsfw',
    clipSkip: 2,
    sampler: 1,
    steps: 30,
    cfgScale: 4.0,
    width: 768,
    height: 1024,
    imgCount: 1,
    randnSource: 0,
    seed: -1,
    controlNet: [],
  };
  /** 002 §4.4.2's F.1 PuLID example. */
  const PULID_EXAMPLE = {
    prompt: 'filmfotos, Asian portrait',
    steps: 20,
    width: 768,
    height: 1024,
    imgCount: 1,
    controlNet: [
      {
        unitOrder: 0,
        sourceImage: URL,
        width: 768,
        height: 1024,
        preprocessor: 0,
        annotationParameters: { none: {} },
        model: '405836d1ae2646b4ba2716ed6bd5453a',
        controlWeight: 1,
        startingControlStep: 0,
        endingControlStep: 1,
        pixelPerfect: 1,
        controlMode: 0,
        resizeMode: 1,
      },
    ],
  };
  /** 002 §4.4.2's F.1 subject-reference example (Star-3's template on the custom path). */
  const SUBJECT_EXAMPLE = {
    ...PULID_EXAMPLE,
    cfgScale: 3.5,
    randnSource: 0,
    seed: -1,
    clipSkip: 2,
    sampler: 1,
    restoreFaces: 0,
    controlNet: [
      { ...PULID_EXAMPLE.controlNet[0], preprocessor: 68, annotationParameters: { entityControl: {} } },
    ],
  };
  /** 002 §8.1's example. */
  const COMFY_EXAMPLE = {
    '12': { class_type: 'LoadImage', inputs: { image: URL } },
    '112': { class_type: 'ImageScale', inputs: { width: 768 } },
    '136': { class_type: 'RepeatLatentBatch', inputs: { amount: 4 } },
    '137': { class_type: 'LatentUpscaleBy', inputs: { scale_by: 1.5 } },
    workflowUuid: '2f22ab7ce4c044afb6d5eee2e61547f3',
  };
  it.each([
    // [path, generateParams, accepted]
    ['/api/generate/smart-img1/generate', { prompt: 'a', imgCount: 4, image_list: Array(8).fill(URL) }, true],
    ['/api/generate/smart-img1/generate', { prompt: 'a' }, false], // imgCount 必填 (002 §6.1.2)
    [
      '/api/generate/smart-img1/generate',
      { prompt: 'a', imgCount: 1, image_list: Array(9).fill(URL) },
      false,
    ],
    ['/api/generate/smart-img1/generate', { prompt: 'a', imgCount: 1, quality: 'ultra' }, false],
    ['/api/generate/smart-img1/inpaint', { prompt: 'a', imgCount: 1, image: URL, mask: URL }, true],
    ['/api/generate/smart-img1/inpaint', { prompt: 'a', imgCount: 1, image: URL }, false],
    ['/api/generate/libDream', { prompt: 'a', width: 3072, height: 512, scale: 10 }, true],
    ['/api/generate/libDream', { prompt: 'a', width: 3072, height: 2048 }, false], // > 2048² (002 §9.1.2)
    ['/api/generate/libDream', { prompt: 'a', scale: 0.5 }, false],
    [
      '/api/generate/seedreamV4',
      { prompt: 'a', model: 'doubao-seedream-4-5-251128', width: 6144, height: 2048 },
      true,
    ],
    [
      '/api/generate/seedreamV4',
      { prompt: 'a', model: 'doubao-seedream-4-5-251128', width: 2048, height: 1024 },
      false,
    ],
    ['/api/generate/seedreamV4', { prompt: 'a', width: 512, height: 2048 }, true],
    ['/api/generate/seedreamV4', { prompt: 'a', width: 512, height: 512 }, false], // §9.4.2 minimum
    ['/api/generate/seedreamV4', { prompt: 'a', imgCount: 5, referenceImages: Array(11).fill(URL) }, false],
    ['/api/generate/video/kling/text2video', { prompt: P(2500), model: 'kling-v2-6' }, true],
    ['/api/generate/video/kling/text2video', { prompt: P(2001) }, false],
    ['/api/generate/video/kling/text2video', { prompt: 'a', model: 'kling-v2-5-turbo', mode: 'std' }, false],
    ['/api/generate/video/kling/img2video', { prompt: 'a', model: 'kling-v2-6', images: [URL] }, true],
    ['/api/generate/video/kling/img2video', { prompt: 'a', model: 'kling-v2-6', image: URL }, true],
    ['/api/generate/video/kling/img2video', { startFrame: URL }, false], // prompt 必填 (002 §10.2.2)
    [
      '/api/generate/video/kling/img2video',
      { prompt: 'a', model: 'kling-v2-1', mode: 'pro', endFrame: URL },
      false,
    ],
    ['/api/generate/video/kling/multiImg2video', { prompt: 'a', referenceImages: Array(7).fill(URL) }, true],
    ['/api/generate/video/kling/multiImg2video', { referenceImages: [URL] }, false], // prompt 必填 (§10.3.2)
    ['/api/generate/webui/img2img', { sourceImage: URL }, false], // prompt 必填 (002 §4.2.4)
    // 002 §5.1.2 / §5.2.2 Kontext
    [
      '/api/generate/kontext/text2img',
      { prompt: 'a', guidance_scale: 20, imgCount: 4, aspectRatio: '9:21' },
      true,
    ],
    ['/api/generate/kontext/text2img', { prompt: 'a', guidance_scale: 20.5 }, false],
    ['/api/generate/kontext/text2img', { prompt: 'a', guidance_scale: 0.5 }, false],
    ['/api/generate/kontext/img2img', { prompt: 'a', image_list: Array(4).fill(URL) }, true],
    ['/api/generate/kontext/img2img', { prompt: 'a', image_list: Array(5).fill(URL) }, false],
    ['/api/generate/kontext/img2img', { prompt: 'a', model: 'pro', image_list: [URL, URL] }, false], // 暂不支持多图参考
    ['/api/generate/kontext/img2img', { prompt: 'a', image_list: ['data:image/png;base64,AAAA'] }, false],
    // 002 §3.1.1 Star-3 text→image
    ['/api/generate/webui/text2img/ultra', { prompt: 'a', aspectRatio: 'portrait', imgCount: 4 }, true],
    [
      '/api/generate/webui/text2img/ultra',
      { prompt: 'a', imageSize: { width: 512, height: 2048 }, imgCount: 1 },
      true,
    ],
    [
      '/api/generate/webui/text2img/ultra', // the manual's own example sends both
      {
        prompt: 'a',
        aspectRatio: 'portrait',
        imageSize: { width: 768, height: 1024 },
        imgCount: 1,
        steps: 30,
      },
      true,
    ],
    ['/api/generate/webui/text2img/ultra', { prompt: 'a', imgCount: 1 }, false], // 二选一
    ['/api/generate/webui/text2img/ultra', { prompt: 'a', aspectRatio: 'square' }, false], // imgCount 是
    ['/api/generate/webui/text2img/ultra', { prompt: 'a', aspectRatio: '1:1', imgCount: 1 }, false],
    [
      '/api/generate/webui/text2img/ultra',
      { prompt: 'a', imageSize: { width: 2049, height: 1024 }, imgCount: 1 },
      false,
    ],
    ['/api/generate/webui/text2img/ultra', { prompt: P(2001), aspectRatio: 'square', imgCount: 1 }, false],
    [
      '/api/generate/webui/text2img/ultra', // §3.3.2's subject reference
      {
        prompt: 'a',
        aspectRatio: 'square',
        imgCount: 1,
        controlnet: { controlType: 'subject', controlImage: URL },
      },
      true,
    ],
    [
      '/api/generate/webui/text2img/ultra',
      {
        prompt: 'a',
        aspectRatio: 'square',
        imgCount: 1,
        controlnet: { controlType: 'canny', controlImage: URL },
      },
      false,
    ],
    [
      '/api/generate/webui/text2img/ultra',
      {
        prompt: 'a',
        aspectRatio: 'square',
        imgCount: 1,
        controlnet: { controlType: 'depth', controlImage: 'iVBORw0KGgoAAAANSUhEUg==' },
      },
      false,
    ],
    // 002 §3.1.2 Star-3 image→image
    ['/api/generate/webui/img2img/ultra', { prompt: 'a', sourceImage: URL, imgCount: 2 }, true],
    ['/api/generate/webui/img2img/ultra', { prompt: 'a', sourceImage: URL }, false], // imgCount 是
    ['/api/generate/webui/img2img/ultra', { prompt: 'a', imgCount: 1 }, false], // sourceImage 是
    // 002 §4.2.1 / §4.2.3 custom text→image (F.1 template)
    [
      '/api/generate/webui/text2img',
      { prompt: 'a', steps: 60, cfgScale: 15, clipSkip: 12, sampler: 30 },
      true,
    ],
    ['/api/generate/webui/text2img', { width: 768, height: 1024, imgCount: 1 }, true], // prompt 选填 (§4.1.3.1)
    ['/api/generate/webui/text2img', { prompt: 'a', steps: 61 }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', width: 1537 }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', height: 127 }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', cfgScale: 0.5 }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', clipSkip: 13 }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', sampler: 22 }, false], // not in §7.5
    ['/api/generate/webui/text2img', { prompt: 'a', seed: -2 }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', imgCount: 5 }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', restoreFaces: 2 }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', negativePrompt: P(2001) }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', additionalNetwork: Array(5).fill(LORA) }, true],
    ['/api/generate/webui/text2img', { prompt: 'a', additionalNetwork: Array(6).fill(LORA) }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', additionalNetwork: [{ ...LORA, weight: 4.1 }] }, false],
    [
      '/api/generate/webui/text2img',
      {
        prompt: 'a',
        hiResFixInfo: { hiresSteps: 30, hiresDenoisingStrength: 1, upscaler: 26, resizedWidth: 2048 },
      },
      true,
    ],
    ['/api/generate/webui/text2img', { prompt: 'a', hiResFixInfo: { hiresSteps: 31 } }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', hiResFixInfo: { upscaler: 27 } }, false], // §7.6
    ['/api/generate/webui/text2img', { prompt: 'a', hiResFixInfo: { resizedHeight: 2049 } }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', controlNet: [UNIT, { ...UNIT, unitOrder: 4 }] }, true],
    ['/api/generate/webui/text2img', { prompt: 'a', controlNet: Array(5).fill(UNIT) }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', controlNet: [{ ...UNIT, controlWeight: 2.5 }] }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', controlNet: [{ ...UNIT, width: 4097 }] }, false],
    [
      '/api/generate/webui/text2img',
      { prompt: 'a', controlNet: [{ ...UNIT, endingControlStep: 1.5 }] },
      false,
    ],
    ['/api/generate/webui/text2img', { prompt: 'a', controlNet: [{ ...UNIT, model: undefined }] }, false],
    ['/api/generate/webui/text2img', { prompt: 'a', controlNet: [{ ...UNIT, sourceImage: 'a.png' }] }, false],
    // 002 §4.2.4 / §4.2.5 custom image→image
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: URL, mode: 0, denoisingStrength: 1 }, true],
    ['/api/generate/webui/img2img', { prompt: 'a' }, false], // sourceImage 是
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: 'data:image/png;base64,AAAA' }, false],
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: URL, mode: 2 }, false],
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: URL, denoisingStrength: 1.5 }, false],
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: URL, resizedWidth: 2049 }, false],
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: URL, resizeMode: 3 }, false],
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: URL, mode: 4 }, false], // mode=4时必填
    [
      '/api/generate/webui/img2img',
      { prompt: 'a', sourceImage: URL, mode: 4, inpaintParam: { maskImage: URL } },
      true,
    ],
    [
      '/api/generate/webui/img2img',
      { prompt: 'a', sourceImage: URL, mode: 4, inpaintParam: { maskImage: URL, maskBlur: 65 } },
      false,
    ],
    [
      '/api/generate/webui/img2img',
      { prompt: 'a', sourceImage: URL, mode: 4, inpaintParam: { maskImage: URL, maskPadding: 257 } },
      false,
    ],
    [
      '/api/generate/webui/img2img',
      { prompt: 'a', sourceImage: URL, mode: 4, inpaintParam: { maskImage: URL, inpaintingFill: 4 } },
      false,
    ],
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: URL, mode: 4, inpaintParam: {} }, false],
    ['/api/generate/webui/img2img', { prompt: 'a', sourceImage: URL, steps: 0 }, false],
    // 002 §9.2.2 libEdit, §9.3.2 libEditV2
    ['/api/generate/libEdit', { prompt: 'a', image_urls: [URL], scale: 1, imgCount: 4, seed: -1 }, true],
    ['/api/generate/libEdit', { prompt: 'a', image_urls: [URL, URL] }, false], // 需输入1张图片
    ['/api/generate/libEdit', { prompt: 'a', image_urls: [URL], scale: 1.5 }, false],
    ['/api/generate/libEdit', { prompt: 'a', image_urls: [URL], seed: 10_000_000_000 }, false],
    ['/api/generate/libEdit', { prompt: 'a', image_urls: [URL], promptMagic: 2 }, false],
    ['/api/generate/libEdit', { prompt: P(2001), image_urls: [URL] }, false],
    ['/api/generate/libEditV2', { prompt: 'a', image_urls: [URL], width: 2016, height: 512 }, true],
    ['/api/generate/libEditV2', { prompt: 'a', image_urls: [URL], width: 2017 }, false],
    ['/api/generate/libEditV2', { prompt: 'a', image_urls: [URL], height: 511 }, false],
    ['/api/generate/libEditV2', { prompt: 'a', image_urls: [URL], scale: -0.1 }, false],
    // 002 §8.1 ComfyUI
    ['/api/generate/comfyui/app', COMFY_EXAMPLE, true],
    ['/api/generate/comfyui/app', { ...COMFY_EXAMPLE, workflowUuid: undefined }, false],
    [
      '/api/generate/comfyui/app',
      { ...COMFY_EXAMPLE, '12': { class_type: 'LoadImage', inputs: { image: 'iVBORw0KGgoAAAANSUhEUg==' } } },
      false,
    ],
    [
      '/api/generate/comfyui/app',
      { ...COMFY_EXAMPLE, '112': { class_type: 'ImageScale', inputs: 768 } },
      false,
    ],
  ] as const)('%s %j → accepted %s', async (path, generateParams, accepted) => {
    const { api } = await setup({ maxInFlight: 100, submitQps: 100 });
    const res = await api.post(path, { templateUuid: LIBLIB_TEMPLATES[path], generateParams });
    expect(res.json?.code, JSON.stringify(res.json)).toBe(accepted ? 0 : 100000);
  });

  it.each([
    // [template on /api/generate/webui/text2img, generateParams, accepted]
    [QWEN, QWEN_EXAMPLE, true], // 002 §11.1.2's example
    [QWEN, { checkPointId: QWEN_CHECKPOINT, width: 2048, height: 2048 }, true], // prompt 选填, width ≤ 2048
    [QWEN, { prompt: 'a' }, false], // checkPointId 是
    [QWEN, { ...QWEN_EXAMPLE, checkPointId: '0ea388c7eb854be3ba3c6f65aac6bfd3' }, false],
    [QWEN, { ...QWEN_EXAMPLE, width: 2049 }, false],
    [QWEN, { ...QWEN_EXAMPLE, steps: 61 }, false],
    [QWEN, { ...QWEN_EXAMPLE, cfgScale: 15.5 }, false],
    [QWEN, { ...QWEN_EXAMPLE, controlNet: [{ ...UNIT, model: '5b5f21d2b80445598db19e924bd3a409' }] }, true],
    [SD_TEXT2IMG, { prompt: 'a', width: 2048 }, false], // 128–1536 for the custom templates
    [F1_TEXT2IMG, PULID_EXAMPLE, true], // 002 §4.4.2's F.1 PuLID example, unitOrder 0
    [STAR3_TEXT2IMG, SUBJECT_EXAMPLE, true], // 002 §4.4.2's subject reference on this path
  ] as const)(
    'webui text2img with template %s %j → accepted %s',
    async (templateUuid, generateParams, accepted) => {
      const { api } = await setup({ maxInFlight: 100, submitQps: 100 });
      const res = await api.post('/api/generate/webui/text2img', { templateUuid, generateParams });
      expect(res.json?.code, JSON.stringify(res.json)).toBe(accepted ? 0 : 100000);
    },
  );

  it('serves both readings of the custom prompt: optional by default, required with customPromptRequired', async () => {
    const { api, clock, sim } = await setup({ maxInFlight: 100, submitQps: 100 });
    const noPrompt = () =>
      api.post('/api/generate/webui/text2img', {
        templateUuid: F1_TEXT2IMG,
        generateParams: { width: 768, height: 1024 },
      });
    expect((await noPrompt()).json?.code).toBe(0);
    sim.configure({ customPromptRequired: true });
    clock.advance(1000);
    expect((await noPrompt()).json).toMatchObject({ code: 100000, msg: 'prompt is required' });
    // The other endpoints follow their tables whatever the option says (002 §4.2.4: 是).
    sim.configure({ customPromptRequired: false });
    clock.advance(1000);
    const img2img = await api.post('/api/generate/webui/img2img', {
      templateUuid: LIBLIB_TEMPLATES['/api/generate/webui/img2img'],
      generateParams: { sourceImage: URL },
    });
    expect(img2img.json?.code).toBe(100000);
  });

  it('has a rule for every submission path', () => {
    expect(Object.keys(LIBLIB_PARAM_RULES).sort()).toEqual([...LIBLIB_SUBMIT_PATHS].sort());
    expect(Object.keys(MINIMAL).sort()).toEqual([...LIBLIB_SUBMIT_PATHS].sort());
  });
});
