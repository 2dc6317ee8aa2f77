import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Thrown (as the stream error) when more than `maxBytes` pass through a {@link Meter}. */
export class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
}

/**
 * A pass-through that counts bytes and hashes them as they flow to the upload, and fails the
 * stream as soon as the limit is crossed, so an oversized body is never read to its end.
 */
export class Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new TooLargeError(`larger than the limit of ${this.maxBytes} bytes`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** The hex SHA-256 of everything that passed; call once, after the stream ended. */
  sha256(): string {
    return this.hash.digest('hex');
  }
}
