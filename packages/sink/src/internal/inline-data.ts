/**
 * Inline sources: `data:` URLs and bare base64, as answered by providers that return `b64_json`
 * (004, OpenAI-compatible images API). The string is already in memory; decoding it in slices keeps
 * a second full-size copy from being made.
 */

/** A decoded inline source, ready to stream. */
export interface InlineData {
  /** The media type the data URL declares, if any. */
  mediaType?: string;
  /** The exact decoded size in bytes. */
  bytes: number;
  /** The decoded bytes, in slices of at most 48 KiB. */
  chunks(): Generator<Buffer>;
}

/** Thrown for inline data that cannot be decoded. */
export class InvalidInlineDataError extends Error {
  override readonly name = 'InvalidInlineDataError';
}

// 64 Ki base64 characters decode to 48 KiB; a multiple of 4 so each slice decodes on its own.
const SLICE_CHARS = 64 * 1024;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Whether a source string looks like bare base64 rather than a URL (base64 has no `:`). */
export function looksLikeBase64(value: string): boolean {
  return value.length > 0 && !value.includes(':') && BASE64.test(stripWhitespace(value));
}

/** Parses a `data:` URL (base64 or percent-encoded). */
export function parseDataUrl(url: string): InlineData {
  const comma = url.indexOf(',');
  if (!/^data:/i.test(url) || comma < 0) throw new InvalidInlineDataError('malformed data: URL (no comma)');
  const header = url
    .slice(5, comma)
    .split(';')
    .map((part) => part.trim());
  const isBase64 = header.at(-1)?.toLowerCase() === 'base64';
  const mediaType = header[0] || undefined;
  const payload = url.slice(comma + 1);
  if (isBase64) return { ...decodeBase64(payload), mediaType };
  const bytes = percentDecode(payload);
  return {
    mediaType,
    bytes: bytes.length,
    *chunks() {
      for (let i = 0; i < bytes.length; i += (SLICE_CHARS / 4) * 3)
        yield bytes.subarray(i, i + (SLICE_CHARS / 4) * 3);
    },
  };
}

/** Decodes bare base64 (standard or URL-safe alphabet, padding optional, whitespace ignored). */
export function decodeBase64(value: string): InlineData {
  const text = stripWhitespace(value);
  if (!BASE64.test(text) || text.length % 4 === 1) throw new InvalidInlineDataError('invalid base64 data');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const unpadded = text.length - padding;
  const bytes = Math.floor((unpadded * 3) / 4);
  return {
    bytes,
    *chunks() {
      for (let i = 0; i < text.length; i += SLICE_CHARS) {
        const slice = Buffer.from(text.slice(i, i + SLICE_CHARS), 'base64');
        if (slice.length > 0) yield slice;
      }
    },
  };
}

function stripWhitespace(value: string): string {
  // Only copy the (possibly large) string when it has line breaks or spaces to remove.
  return /\s/.test(value) ? value.replace(/\s+/g, '') : value;
}

function percentDecode(value: string): Buffer {
  return Buffer.from(
    value.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    ),
    'latin1',
  );
}
