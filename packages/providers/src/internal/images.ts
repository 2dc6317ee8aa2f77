/**
 * Image inputs and base64 outputs of the Bearer-token adapters: sniffing a content type from magic
 * bytes, and turning raw base64 into `data:` URLs the providers accept.
 */
import path from 'node:path';
import { ProviderError } from '@genqueue/model';

/** The image content type of some bytes by their magic number, or undefined. */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'image/gif';
  if (
    b.length >= 12 &&
    b[0] === 0x52 &&
    b[1] === 0x49 &&
    b[2] === 0x46 &&
    b[3] === 0x46 &&
    b[8] === 0x57 &&
    b[9] === 0x45 &&
    b[10] === 0x42 &&
    b[11] === 0x50
  )
    return 'image/webp';
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * A provider's base64 image (`b64_json`) as a `data:` URL. Some servers already answer a data URL
 * (004's own example does): it passes through. The type is sniffed, defaulting to PNG.
 */
export function base64ToDataUrl(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('data:')) return trimmed;
  const compact = trimmed.replace(/\s+/g, '');
  const head = Buffer.from(compact.slice(0, 64), 'base64');
  return `data:${sniffImageType(head) ?? 'image/png'};base64,${compact}`;
}

/** What an image input is, for error messages. */
export interface ImageInputOptions {
  provider: string;
  /** Field name, for error messages. */
  field: string;
}

/**
 * Normalizes an image input for providers that take a URL or a data URL: http(s) and `data:` URLs
 * pass through; raw base64 becomes a data URL with its sniffed type. Anything else, a local path
 * included, is an `invalid_job`: job input is untrusted, so a worker never reads its own files.
 */
export async function toImageReference(value: string, options: ImageInputOptions): Promise<string> {
  const invalid = (why: string, cause?: unknown) =>
    new ProviderError({
      provider: options.provider,
      errorClass: 'invalid_job',
      code: 'invalid_image',
      message: `${options.field}: ${why}`,
      cause,
    });
  const trimmed = value.trim();
  if (/^https?:\/\//i.test(trimmed) || /^data:image\//i.test(trimmed)) return trimmed;

  // Raw base64 first: a JPEG's base64 starts with `/9j/`, which would otherwise look like a path.
  const compact = trimmed.replace(/\s+/g, '');
  const looksBase64 = compact.length >= 16 && BASE64.test(compact);
  const sniffed = looksBase64 ? sniffImageType(Buffer.from(compact.slice(0, 64), 'base64')) : undefined;
  if (sniffed) return `data:${sniffed};base64,${compact}`;

  // Checked before the PNG fallback below: a path such as `/srv/inputs/image` is also valid base64.
  const isPath = trimmed.startsWith('file:') || path.isAbsolute(trimmed) || trimmed.startsWith('./');
  if (isPath)
    throw invalid('local files are not read; send an http(s) URL, a data URL, or base64 image data');

  if (looksBase64) {
    // Raw base64 without a recognizable header is labelled PNG, the common case.
    return `data:image/png;base64,${compact}`;
  }
  throw invalid('must be an http(s) URL, a data URL, or base64 image data');
}
