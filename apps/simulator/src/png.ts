/**
 * Real, decodable PNG files (PNG spec §5: signature, IHDR, IDAT, IEND, each chunk with its CRC-32),
 * 8-bit RGB, zlib-compressed scanlines with filter 0. Pixels derive from a key (task id, index,
 * seed), so every output is distinct and reproducible.
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

/** The 8-byte PNG signature. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Builds one chunk: length, type, data, CRC-32 over type and data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4, 8))) >>> 0, 0);
  return Buffer.concat([head, data, tail]);
}

/** Options of `encodePng`. */
export interface EncodePngOptions {
  /**
   * Bytes of a private ancillary chunk `paDd` (lowercase first letter: decoders skip it), to make a
   * file of a chosen size without making the image larger. Default 0 (no chunk).
   */
  padBytes?: number;
}

/** Encodes `rgb` (width*height*3 bytes, row-major) as a PNG. */
export function encodePng(
  width: number,
  height: number,
  rgb: Buffer,
  options: EncodePngOptions = {},
): Buffer {
  if (rgb.length !== width * height * 3) throw new RangeError('rgb length must be width*height*3');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour (RGB)
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type None
    rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  const parts = [PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw))];
  const pad = options.padBytes ?? 0;
  if (pad > 0) parts.push(pngChunk('paDd', Buffer.alloc(pad, 0x5a)));
  parts.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/**
 * Renders a distinct image for `key`: a two-colour diagonal gradient chosen from the key's hash,
 * with the hash's bytes written into the first row so two keys never give the same pixels.
 */
export function renderPng(
  key: string,
  width: number,
  height: number,
  options: EncodePngOptions = {},
): Buffer {
  const digest = createHash('sha256').update(key).digest();
  const rgb = Buffer.alloc(width * height * 3);
  const span = Math.max(1, width + height - 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x + y) / span;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        rgb[o + c] = Math.round(digest[c]! * (1 - t) + digest[c + 3]! * t);
      }
    }
  }
  for (let i = 0; i < Math.min(digest.length, width * 3); i++) rgb[i] = digest[i]!;
  return encodePng(width, height, rgb, options);
}

/**
 * A small fake MP4: an ISO BMFF `ftyp` box (brand `isom`) and a `free` box naming the key. Enough
 * for content sniffing (`ftyp` at offset 4); not playable.
 */
export function renderMp4(key: string): Buffer {
  const ftyp = Buffer.alloc(32);
  ftyp.writeUInt32BE(32, 0);
  ftyp.write('ftyp', 4, 'latin1');
  ftyp.write('isom', 8, 'latin1');
  ftyp.writeUInt32BE(0x200, 12);
  ftyp.write('isomiso2avc1mp41', 16, 'latin1');
  const note = Buffer.from(`genqueue-simulator ${key}`, 'utf8');
  const free = Buffer.alloc(8 + note.length);
  free.writeUInt32BE(free.length, 0);
  free.write('free', 4, 'latin1');
  note.copy(free, 8);
  return Buffer.concat([ftyp, free]);
}
