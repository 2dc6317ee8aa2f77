/**
 * Classifies an image input and loads its bytes when it has to be uploaded first.
 *
 * - `http(s)://` URLs pass through untouched (the provider downloads them).
 * - `data:image/...;base64,...` URLs and bare base64 are decoded.
 * - Anything else (a local path, a `file://` URL) is refused: job input is untrusted, so the worker
 *   never reads its own files on a caller's behalf.
 *
 * The upload API takes images up to 10 MB (LiblibAI file-upload document). Public clients only
 * show the extensions jpg, jpeg and png, while the generation endpoints take WEBP URLs too (002
 * §5.2.2 image_list: PNG/JPG/JPEG/WEBP), so a WebP is uploaded as it is, with extension `webp`;
 * GIF and anything else is refused with the accepted types named. The type is sniffed from the
 * bytes, never trusted from a name or a data-URL header.
 */

import { createHash } from 'node:crypto';
import { ProviderError } from '@genqueue/model';
import { LIBLIB_PROVIDER } from '../errors.ts';
import type { LiblibImageLimit } from '../operations.ts';

/** 10 MB: the upload API's and the generation endpoints' per-image limit. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** The upload signature's `name` is at most 100 characters. */
const MAX_NAME_LENGTH = 100;

export type ImageSource =
  | { kind: 'url'; url: string }
  | { kind: 'bytes'; bytes: Buffer; extension: UploadExtension; name: string };

/** Extensions an upload is sent with. */
export type UploadExtension = 'png' | 'jpg' | 'webp';

/** The content type of an upload, by its extension. */
export const UPLOAD_CONTENT_TYPES: Readonly<Record<UploadExtension, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
};

/** Resolves `source` (a string input or raw bytes). Throws `invalid_job` for unusable inputs. */
export async function resolveImageSource(
  source: string | Buffer | Uint8Array,
  options: { name?: string; limit?: LiblibImageLimit } = {},
): Promise<ImageSource> {
  const { limit } = options;
  if (typeof source !== 'string') return fromBytes(Buffer.from(source), options.name, limit);

  const value = source.trim();
  if (/^https?:\/\//i.test(value)) return { kind: 'url', url: value };

  if (/^data:/i.test(value)) {
    const match = /^data:([^;,]*)((?:;[^;,]*)*?);base64,(.*)$/is.exec(value);
    if (!match) throw invalid('a data URL must be base64-encoded (data:image/png;base64,...)');
    return fromBytes(Buffer.from(match[3]!.replace(/\s+/g, ''), 'base64'), options.name, limit);
  }

  const compact = value.replace(/\s+/g, '');
  if (compact.length >= 16 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) {
    const bytes = Buffer.from(compact, /[-_]/.test(compact) ? 'base64url' : 'base64');
    if (sniff(bytes) !== undefined) return fromBytes(bytes, options.name, limit);
  }

  throw invalid('an image must be an http(s) URL, a data URL or base64; local files are not read');
}

function fromBytes(
  bytes: Buffer,
  name: string | undefined,
  limit: LiblibImageLimit | undefined,
): ImageSource {
  if (bytes.length === 0) throw invalid('the image is empty');
  checkSize(bytes.length, limit);
  const type = sniff(bytes);
  if (type !== 'png' && type !== 'jpg' && type !== 'webp') {
    throw invalid(
      `images to upload must be PNG, JPEG or WebP${type ? ` (got ${type.toUpperCase()})` : ' (the bytes are none of them)'}`,
    );
  }
  if (limit?.formats && !limit.formats.includes(type)) {
    throw invalid(
      `this field takes ${limit.formats.map((f) => f.toUpperCase()).join(' or ')} only, got ${type.toUpperCase()} (${limit.source})`,
    );
  }
  return { kind: 'bytes', bytes, extension: type, name: uploadName(name, bytes) };
}

/** Recognizes an image by its magic bytes. */
export function sniff(bytes: Buffer): 'png' | 'jpg' | 'webp' | 'gif' | undefined {
  if (
    bytes.length >= 8 &&
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  ) {
    return 'png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
  if (
    bytes.length >= 12 &&
    bytes.toString('latin1', 0, 4) === 'RIFF' &&
    bytes.toString('latin1', 8, 12) === 'WEBP'
  ) {
    return 'webp';
  }
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) return 'gif';
  return undefined;
}

/** A safe object name: the given stem, or one derived from the content, ≤ 100 characters. */
function uploadName(name: string | undefined, bytes: Buffer): string {
  const cleaned = (name ?? '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  const stem = cleaned || `genqueue-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
  return stem.slice(0, MAX_NAME_LENGTH);
}

/** The upload API's 10 MB, or the field's own smaller bound. */
function checkSize(size: number, limit: LiblibImageLimit | undefined): void {
  if (size > MAX_UPLOAD_BYTES) {
    throw invalid(`the image is ${size} bytes; uploads take at most ${MAX_UPLOAD_BYTES} bytes (10 MB)`);
  }
  if (limit?.maxBytes !== undefined && size > limit.maxBytes) {
    throw invalid(
      `the image is ${size} bytes; this field takes at most ${limit.maxBytes} bytes (${limit.maxBytes / (1024 * 1024)} MB, ${limit.source})`,
    );
  }
}

function invalid(message: string): ProviderError {
  return new ProviderError({
    provider: LIBLIB_PROVIDER,
    errorClass: 'invalid_job',
    code: 'invalid_image',
    message,
  });
}
