/**
 * What the LiblibAI manual (002) lets a user send and get, end to end through the API and a worker
 * against the simulator's `liblib` mode: a 10 MB base64 image in one job, a WebP input, and the
 * outputs the status answer carries beside the images.
 */
import { type BatchView, JobStore } from '@genqueue/core';
import { INITIAL_BALANCE, OSS_BUCKET_PATH, renderPng } from '@genqueue/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readObject, type Stack, startStack } from './support/stack.ts';

/** 002's per-image limit (and the upload API's): 10 MB. */
const TEN_MB = 10 * 1024 * 1024;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { submitQps: 50, maxInFlight: 10, latencyMs: { min: 100, max: 200 } } });
});
afterAll(async () => {
  await stack?.close();
});

/** A PNG of exactly `bytes` bytes (a padding chunk decoders skip). */
function pngOfSize(key: string, bytes: number): Buffer {
  const bare = renderPng(key, 8, 8);
  const png = renderPng(key, 8, 8, { padBytes: bytes - bare.length - 12 });
  expect(png.length).toBe(bytes);
  return png;
}

async function post(body: Record<string, unknown>): Promise<string> {
  const posted = await stack.call<{ id: string; error?: unknown }>('POST', '/v1/jobs', body);
  expect(posted.status, JSON.stringify(posted.body)).toBe(202);
  return posted.body.id;
}

/** The public URL the worker uploaded a job's `image_list[0]` to. */
async function uploadedImage(id: string): Promise<string> {
  const record = await new JobStore({
    redis: stack.redis,
    prefix: stack.prefix,
    retentionSeconds: 60,
  }).getJob(id);
  const url = (record?.preparedInput?.image_list as string[] | undefined)?.[0];
  expect(url?.startsWith(`${stack.sim.url}${OSS_BUCKET_PATH}/`), url).toBe(true);
  return url!;
}

describe('inputs 002 allows', () => {
  it('takes a 10 MB image as a base64 data URL in one POST /v1/jobs, and uploads it whole', async () => {
    const png = pngOfSize('ten-mb', TEN_MB);
    const id = await post({
      operation: 'kontext.img2img',
      input: { prompt: 'ten megabytes', image_list: [`data:image/png;base64,${png.toString('base64')}`] },
    });
    const job = await stack.ended(id, 60_000);
    expect(job.error).toBeUndefined();
    expect(job.state).toBe('succeeded');
    const uploaded = await uploadedImage(id);
    expect(stack.sim.imageBytes(uploaded)?.equals(png)).toBe(true);
  }, 90_000);

  it('uploads a WebP input as it is (002 §5.2.2 takes WEBP) and refuses a GIF naming the accepted types', async () => {
    // RIFF....WEBPVP8L: the container the upload is sniffed by; the simulator does not decode it.
    const webp = Buffer.concat([
      Buffer.from('RIFF'),
      Buffer.from([0x24, 0, 0, 0]),
      Buffer.from('WEBPVP8L'),
      Buffer.alloc(28, 7),
    ]);
    const id = await post({
      operation: 'kontext.img2img',
      input: { prompt: 'a webp', image_list: [`data:image/webp;base64,${webp.toString('base64')}`] },
    });
    const job = await stack.ended(id, 30_000);
    expect(job.error).toBeUndefined();
    expect(job.state).toBe('succeeded');
    const uploaded = await uploadedImage(id);
    expect(uploaded).toMatch(/\.webp$/);
    expect(stack.sim.imageBytes(uploaded)?.equals(webp)).toBe(true);

    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1').toString('base64');
    const refused = await stack.ended(
      await post({ operation: 'kontext.img2img', input: { prompt: 'a gif', image_list: [gif] } }),
      30_000,
    );
    expect(refused.state).toBe('failed');
    expect(refused.error?.message).toMatch(/PNG, JPEG or WebP \(got GIF\)/);
  });
});

describe('outputs 002 gives beside the images', () => {
  it("stores a Kling video's cover image (coverPath, 002 §10.4.2) beside the video", async () => {
    const job = await stack.ended(
      await post({ operation: 'kling.text2video', input: { prompt: 'a band with a cover' } }),
      30_000,
    );
    expect(job.error).toBeUndefined();
    expect(job.state).toBe('succeeded');
    const [video] = job.outputs;
    expect(video?.contentType).toBe('video/mp4');
    // The sink adds the extension it sniffed to the key it was given.
    expect(video?.cover).toMatchObject({
      key: video!.key.replace(/\.mp4$/, '-cover.png'),
      contentType: 'image/png',
    });
    const task = stack.sim.tasks().find((t) => t.prompt === 'a band with a cover')!;
    const served = task.images[0]!.url.replace(/\/videos\/([^/]+)\/(\d+)\.mp4$/, '/images/$1/cover-$2.png');
    expect((await readObject(stack, video!.cover!.key)).equals(stack.sim.imageBytes(served)!)).toBe(true);
    expect(video!.cover!.bytes).toBe(stack.sim.imageBytes(served)!.length);
  });

  it('shows accountBalance (002 §3.2) on the job and on its batch', async () => {
    const job = await stack.ended(
      await post({ operation: 'kontext.text2img', input: { prompt: 'balance' } }),
      30_000,
    );
    expect(job.state).toBe('succeeded');
    expect(job.accountBalance).toEqual(expect.any(Number));
    expect(job.accountBalance).toBeLessThan(INITIAL_BALANCE);

    const created = await stack.call<{ id: string }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      prompts: ['balance batch 1', 'balance batch 2'],
    });
    expect(created.status).toBe(202);
    const batch = await stack.waitFor(
      async () => {
        const view = (await stack.call<BatchView>('GET', `/v1/batches/${created.body.id}`)).body;
        return view.done ? view : undefined;
      },
      30_000,
      'the batch to finish',
    );
    expect(batch.accountBalance).toEqual(expect.any(Number));
    expect(batch.accountBalance).toBeLessThan(job.accountBalance!);
  });

  it('looks a model version up through GET /v1/providers/liblib/models/:versionUuid (002 §4.1.1)', async () => {
    const uuid = '21df5d84cca74f7a885ba672b5a80d19';
    const found = await stack.call<{ provider: string; model: Record<string, unknown> }>(
      'GET',
      `/v1/providers/liblib/models/${uuid}`,
    );
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({
      provider: 'liblib',
      model: { versionUuid: uuid, versionName: '1.0', commercialUse: true, raw: { version_uuid: uuid } },
    });
    // The simulator knows lowercase ids only: an uppercase one is a model it does not have.
    const unknown = await stack.call<{ error: { code: string } }>(
      'GET',
      `/v1/providers/liblib/models/${uuid.toUpperCase()}`,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const malformed = await stack.call<{ error: { code: string } }>(
      'GET',
      '/v1/providers/liblib/models/nope',
    );
    expect(malformed.status).toBe(400);
    const noLookup = await stack.call('GET', `/v1/providers/replicate/models/${uuid}`);
    expect(noLookup.status).toBe(404);
  });
});
