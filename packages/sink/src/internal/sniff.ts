/** How many leading bytes {@link sniffContentType} needs to decide (RIFF....WEBP is the longest). */
export const SNIFF_BYTES = 12;

/** A recognised file type: its content type and the extension its object key gets. */
export interface SniffedType {
  contentType: string;
  extension: string;
}

const ascii = (bytes: Uint8Array, start: number, end: number) =>
  Buffer.from(bytes.subarray(start, end)).toString('latin1');

/**
 * Recognises the file types providers produce from their magic bytes. Returns undefined when the
 * bytes match none of them (or there are fewer than needed).
 */
export function sniffContentType(head: Uint8Array): SniffedType | undefined {
  if (head.length >= 8 && Buffer.from(head.subarray(0, 8)).equals(PNG_MAGIC)) {
    return { contentType: 'image/png', extension: '.png' };
  }
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) {
    return { contentType: 'image/jpeg', extension: '.jpg' };
  }
  if (head.length >= 6 && /^GIF8[79]a$/.test(ascii(head, 0, 6))) {
    return { contentType: 'image/gif', extension: '.gif' };
  }
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') {
    return { contentType: 'image/webp', extension: '.webp' };
  }
  // ISO base media files: a box size, then `ftyp` and the major brand. AVIF uses the same
  // container, so its brand is told apart rather than stored as a video.
  if (head.length >= 12 && ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (brand === 'avif' || brand === 'avis') return { contentType: 'image/avif', extension: '.avif' };
    return { contentType: 'video/mp4', extension: '.mp4' };
  }
  return undefined;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Normalises a claimed content type for comparison: lower case, parameters dropped, and the
 * common `image/jpg` misspelling fixed. Returns undefined for an empty claim.
 */
export function normalizeContentType(value: string | undefined): string | undefined {
  const base = value?.split(';')[0]?.trim().toLowerCase();
  if (!base) return undefined;
  return base === 'image/jpg' ? 'image/jpeg' : base;
}
