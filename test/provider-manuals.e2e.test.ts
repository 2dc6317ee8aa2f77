/**
 * What the LiblibAI manual (002) lets a user send and get, end to end through the API and a worker
 * against the simulator's `liblib` mode: a 10 MB base64 image in one job, a WebP input, and the
 * outputs the status answer carries beside the images.
 */
import { JobStore } from '@genqueue/core';
import { OSS_BUCKET_PATH, renderPng } from '@genqueue/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

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
