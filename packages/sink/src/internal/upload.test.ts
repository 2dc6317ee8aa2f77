import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type TestS3 } from '../../../../test/support/s3.ts';
import { BufferPool, LengthMismatchError, uploadKnownLength } from './upload.ts';

const MIB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let s3: TestS3;
let testNumber = 0;
const nextKey = (name: string) => `upload-test/${++testNumber}/${name}`;
const params = (key: string) => ({
  Bucket: s3.bucket,
  Key: key,
  ContentType: 'application/octet-stream',
  Metadata: { origin: 'test' },
});

beforeAll(async () => {
  s3 = await startS3({ bucket: 'upload-test' });
});

afterAll(async () => {
  await s3.stop();
});

/** `data` in chunks of `size` bytes (the last shorter), as a download delivers it. */
async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) {
    await new Promise((resolve) => setImmediate(resolve));
    yield data.subarray(at, at + size);
  }
}

/** A client for s3rver that records the name of every command it sends. */
function recordingClient(): { client: S3Client; sent: string[] } {
  const client = new S3Client(s3.clientConfig);
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName!);
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, sent };
}

async function readObject(key: string): Promise<Buffer> {
  const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

async function keyCount(key: string): Promise<number> {
  const listing = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: key }));
  return listing.KeyCount ?? 0;
}

describe('uploadKnownLength', () => {
  it('streams a file as several parts split inside chunks, byte for byte, without a pooled buffer', async () => {
    const data = randomBytes(12 * MIB + 7);
    const key = nextKey('parts');
    const pool = new BufferPool(4 * MIB, 1);
    const { client, sent } = recordingClient();
    // 100,003-byte chunks never line up with the part boundaries.
    await uploadKnownLength(client, params(key), chunksOf(data, 100_003), data.length, {
      pool,
      maxPartBytes: 5 * MIB,
    });
    expect(sha256(await readObject(key))).toBe(sha256(data));
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(head.Metadata).toEqual({ origin: 'test' });
    // 12 MiB in parts of at most 5 MiB: three of equal size.
    expect(sent).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
    client.destroy();
  });

  it('sends a small file from a pooled buffer, reused by the next one, and streams when the pool is busy', async () => {
    const pool = new BufferPool(1 * MIB, 1);
    const { client, sent } = recordingClient();
    const files = [randomBytes(MIB), randomBytes(300_000), randomBytes(200_000)];
    const keys = files.map((_, i) => nextKey(`file-${i}`));
    await uploadKnownLength(client, params(keys[0]!), chunksOf(files[0]!, 65_536), MIB, { pool });
    const buffer = pool.take()!;
    pool.release(buffer);
    await uploadKnownLength(client, params(keys[1]!), chunksOf(files[1]!, 65_536), 300_000, { pool });
    expect(pool.take()).toBe(buffer);
    // The only buffer is taken: this file streams as a multipart upload instead of waiting.
    await uploadKnownLength(client, params(keys[2]!), chunksOf(files[2]!, 65_536), 200_000, { pool });
    for (const [i, key] of keys.entries()) expect(sha256(await readObject(key))).toBe(sha256(files[i]!));
    expect(sent).toEqual([
      'PutObjectCommand',
      'PutObjectCommand',
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
    client.destroy();
  });

  it('keeps a pooled buffer after a body that failed before its request started', async () => {
    const pool = new BufferPool(MIB, 1);
    const buffer = pool.take()!;
    pool.release(buffer);
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(10);
      throw new Error('connection reset');
    }
    await expect(
      uploadKnownLength(s3.client, params(nextKey('kept')), failing(), 100, { pool }),
    ).rejects.toThrow('connection reset');
    expect(pool.take()).toBe(buffer);
  });

  for (const [name, pool] of [
    ['a pooled buffer', () => new BufferPool(4 * MIB, 1)],
    ['a streamed part', () => new BufferPool(4 * MIB, 0)],
  ] as const) {
    it(`rejects a body that fails or ends early in ${name}, and leaves no object`, async () => {
      const data = randomBytes(3 * MIB);
      const failure = new Error('connection reset');
      async function* failing(): AsyncGenerator<Buffer> {
        yield* chunksOf(data.subarray(0, MIB), 65_536);
        throw failure;
      }
      const failedKey = nextKey('failed');
      await expect(
        uploadKnownLength(s3.client, params(failedKey), failing(), data.length, { pool: pool() }),
      ).rejects.toBe(failure);
      const shortKey = nextKey('short');
      await expect(
        uploadKnownLength(s3.client, params(shortKey), chunksOf(data.subarray(0, MIB), 65_536), data.length, {
          pool: pool(),
        }),
      ).rejects.toBeInstanceOf(LengthMismatchError);
      const longKey = nextKey('long');
      await expect(
        uploadKnownLength(s3.client, params(longKey), chunksOf(data, 65_536), MIB, { pool: pool() }),
      ).rejects.toBeInstanceOf(LengthMismatchError);
      expect(await keyCount(failedKey)).toBe(0);
      expect(await keyCount(shortKey)).toBe(0);
      expect(await keyCount(longKey)).toBe(0);
    });
  }
});
