import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

const MIB = 1024 * 1024;
/** S3's largest part (and largest single PUT), 5 GiB. */
export const MAX_PART_BYTES = 5 * 1024 * MIB;
/** S3's most parts per upload. */
const MAX_PARTS = 10_000;

/**
 * A fixed set of reusable buffers for small uploads, shared by every sink of the process. A file
 * that fits one is read into it whole and sent with a single PUT; when none is free the file is
 * streamed as a multipart upload instead, so memory stays at the pool's size whatever the
 * concurrency, and nobody waits for a buffer. Buffers are allocated on first use and reused:
 * fresh multi-megabyte buffers per file are what made the process's RSS grow and stay grown
 * (freed ones wait for a collection, and malloc keeps the pages afterwards).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private allocated = 0;

  /**
   * @param bufferBytes size of each buffer, the largest file sent with a single PUT.
   * @param count buffers in the pool.
   */
  constructor(
    readonly bufferBytes: number,
    readonly count: number,
  ) {}

  /** A free buffer, or undefined when all are in use. Give it back with {@link release}. */
  take(): Buffer | undefined {
    const buffer = this.free.pop();
    if (buffer) return buffer;
    if (this.allocated >= this.count) return undefined;
    this.allocated += 1;
    return Buffer.allocUnsafe(this.bufferBytes);
  }

  /**
   * Returns a buffer. `reusable: false` after a failed request, which may still be writing it to
   * a socket: the buffer is dropped and a fresh one is allocated next time.
   */
  release(buffer: Buffer, reusable = true): void {
    if (reusable) this.free.push(buffer);
    else this.allocated -= 1;
  }
}

/** Default pool: two buffers of 4 MiB (provider images are mostly under 4 MB). */
export const sharedBufferPool = new BufferPool(4 * MIB, 2);

/** What every object gets. */
export interface ObjectParams {
  Bucket: string;
  Key: string;
  ContentType: string;
  Metadata: Record<string, string>;
}

/** Thrown when a body ends before (or runs past) the length it announced. */
export class LengthMismatchError extends Error {
  override readonly name = 'LengthMismatchError';
}

/**
 * Uploads `length` bytes read from `body`. Nothing becomes visible under the key unless every
 * byte arrived: a small file is read whole into a pooled buffer before its PUT starts; a larger
 * one (or any file when the pool is busy) is streamed part by part, each part's request body
 * piped from the download with its length announced (no part is buffered), and the object only
 * appears at CompleteMultipartUpload. A failing body aborts the request in flight and the
 * multipart upload. `body` is read to its end or until the upload fails; the caller destroys it then.
 */
export async function uploadKnownLength(
  s3: S3Client,
  params: ObjectParams,
  body: AsyncIterable<Buffer>,
  length: number,
  options: {
    pool: BufferPool;
    signal?: AbortSignal;
    /** Largest part of a multipart upload, at least 5 MiB (S3's smallest). Default 5 GiB, S3's largest. */
    maxPartBytes?: number;
  },
): Promise<void> {
  const buffer = length <= options.pool.bufferBytes ? options.pool.take() : undefined;
  if (buffer) {
    // Only a request that failed may still hold the buffer; a body that failed never reached one.
    let reusable = true;
    try {
      let filled = 0;
      for await (const chunk of body) {
        if (filled + chunk.length > length) throw new LengthMismatchError(`more than ${length} bytes`);
        chunk.copy(buffer, filled);
        filled += chunk.length;
      }
      if (filled !== length) throw new LengthMismatchError(`${filled} bytes of ${length}`);
      reusable = false;
      await s3.send(
        new PutObjectCommand({ ...params, Body: buffer.subarray(0, length), ContentLength: length }),
        { abortSignal: options.signal },
      );
      reusable = true;
    } finally {
      options.pool.release(buffer, reusable);
    }
    return;
  }
  await streamedMultipart(s3, params, body, length, options.maxPartBytes ?? MAX_PART_BYTES, options.signal);
}

async function streamedMultipart(
  s3: S3Client,
  params: ObjectParams,
  body: AsyncIterable<Buffer>,
  length: number,
  maxPartBytes: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  // The fewest parts S3 allows: parts cost requests, not memory.
  const partCount = Math.max(1, Math.ceil(length / maxPartBytes));
  const partBytes = Math.max(Math.ceil(length / partCount), Math.ceil(length / MAX_PARTS));
  // A part body that fails cannot end its request (the SDK pipes it and waits): abort it.
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let bodyError: unknown;
  const iterator = body[Symbol.asyncIterator]();
  let carry: Buffer | undefined;
  async function* part(size: number): AsyncGenerator<Buffer> {
    let remaining = size;
    try {
      while (remaining > 0) {
        let chunk = carry;
        carry = undefined;
        if (!chunk) {
          const next = await iterator.next();
          if (next.done) throw new LengthMismatchError(`the body ended ${remaining} bytes early`);
          chunk = next.value;
        }
        if (chunk.length > remaining) {
          carry = chunk.subarray(remaining);
          chunk = chunk.subarray(0, remaining);
        }
        remaining -= chunk.length;
        yield chunk;
      }
    } catch (error) {
      bodyError = error;
      controller.abort(error);
      throw error;
    }
  }

  const { UploadId } = await s3.send(new CreateMultipartUploadCommand(params), {
    abortSignal: controller.signal,
  });
  try {
    const parts: CompletedPart[] = [];
    for (let number = 1, offset = 0; offset < length; number += 1) {
      const size = Math.min(partBytes, length - offset);
      // Its error is handled through `bodyError` and the abort; the SDK's pipe does not listen.
      const partBody = Readable.from(part(size), { objectMode: false }).on('error', () => undefined);
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: params.Bucket,
          Key: params.Key,
          UploadId,
          PartNumber: number,
          ContentLength: size,
          Body: partBody,
        }),
        { abortSignal: controller.signal },
      );
      parts.push({ ETag, PartNumber: number });
      offset += size;
    }
    if (carry || !(await iterator.next()).done) throw new LengthMismatchError(`more than ${length} bytes`);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: params.Bucket,
        Key: params.Key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: controller.signal },
    );
  } catch (error) {
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId }))
      .catch(() => undefined);
    throw bodyError ?? error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
