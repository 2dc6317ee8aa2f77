import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import sharp from 'sharp';

/** Content types libvips decodes for a thumbnail; videos get theirs from a cover image. */
export const THUMBNAIL_SOURCE_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/gif',
  'image/avif',
]);

/** Options of a thumbnail. */
export interface ThumbnailSettings {
  /** Longest side of the thumbnail, in pixels. */
  longSide: number;
  /** Largest source image decoded, in pixels (width × height); larger ones get no thumbnail. */
  maxInputPixels: number;
}

/** Defaults: 384 px, and sources up to 100 megapixels. */
export const DEFAULT_THUMBNAIL: Readonly<ThumbnailSettings> = Object.freeze({
  longSide: 384,
  maxInputPixels: 100_000_000,
});

/** A fresh path in the temporary directory for a spooled file (nothing is created). */
export function tempFilePath(): string {
  return path.join(tmpdir(), `genqueue-spool-${randomBytes(8).toString('hex')}`);
}

/**
 * A pass-through that copies every chunk into a temporary file, waiting for the file to take it
 * (so memory stays bounded by the stream's high-water marks, whatever the file's size). libvips
 * then reads the file sequentially: sharp given a stream would first gather the whole image in
 * memory, which is what the sink must never do.
 */
export class SpoolFile extends Transform {
  readonly path: string;
  private readonly file: WriteStream;
  private failed?: Error;

  constructor() {
    super();
    this.path = tempFilePath();
    this.file = createWriteStream(this.path, { flags: 'wx' });
    this.file.on('error', (error) => {
      // A full disk costs the thumbnail, never the stored image: the chunks keep flowing.
      this.failed = error;
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failed || this.file.write(chunk)) {
      callback(null, chunk);
      return;
    }
    this.file.once('drain', () => callback(null, chunk));
  }

  override _flush(callback: TransformCallback): void {
    this.file.end(() => callback());
  }

  /** Whether every byte reached the file. */
  get complete(): boolean {
    return this.failed === undefined;
  }

  /** Closes and deletes the file. */
  async discard(): Promise<void> {
    if (!this.file.closed) await new Promise<void>((resolve) => this.file.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}

/**
 * A WebP thumbnail of the image in `file`: `longSide` px on its long side (never enlarged),
 * oriented by its EXIF tag, first frame only. Throws when libvips cannot decode the file or it
 * has more than `maxInputPixels` pixels.
 */
export async function makeThumbnail(file: string, settings: ThumbnailSettings): Promise<Buffer> {
  return sharp(file, { limitInputPixels: settings.maxInputPixels, sequentialRead: true, animated: false })
    .rotate()
    .resize(settings.longSide, settings.longSide, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75, effort: 2 })
    .toBuffer();
}
