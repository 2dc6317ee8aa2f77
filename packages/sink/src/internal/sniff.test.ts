import { describe, expect, it } from 'vitest';
import { normalizeContentType, sniffContentType } from './sniff.ts';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffContentType', () => {
  it.each([
    ['png', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), 'image/png', '.png'],
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0x10], 'JFIF\0\x01'), 'image/jpeg', '.jpg'],
    ['gif89a', bytes('GIF89a', [1, 0, 1, 0, 0, 0]), 'image/gif', '.gif'],
    ['gif87a', bytes('GIF87a', [1, 0, 1, 0, 0, 0]), 'image/gif', '.gif'],
    ['webp', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '), 'image/webp', '.webp'],
    ['mp4', bytes([0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0]), 'video/mp4', '.mp4'],
    ['avif', bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0]), 'image/avif', '.avif'],
  ])('recognises %s', (_name, head, contentType, extension) => {
    expect(sniffContentType(head)).toEqual({ contentType, extension });
  });

  it('returns undefined for unknown or too short input', () => {
    expect(sniffContentType(Buffer.from('{"error":"not an image"}'))).toBeUndefined();
    expect(sniffContentType(Buffer.from('RIFF\0\0\0\0WAVE'))).toBeUndefined();
    expect(sniffContentType(Buffer.from([0x89, 0x50, 0x4e]))).toBeUndefined();
    expect(sniffContentType(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('normalizeContentType', () => {
  it('drops parameters, lower-cases and fixes image/jpg', () => {
    expect(normalizeContentType('Image/PNG; charset=binary')).toBe('image/png');
    expect(normalizeContentType('image/jpg')).toBe('image/jpeg');
    expect(normalizeContentType('')).toBeUndefined();
    expect(normalizeContentType(undefined)).toBeUndefined();
  });
});
