import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64, InvalidInlineDataError, looksLikeBase64, parseDataUrl } from './inline-data.ts';

const collect = (data: { chunks(): Iterable<Buffer> }) => Buffer.concat([...data.chunks()]);

describe('inline data', () => {
  it('decodes base64 data URLs across slice boundaries, with the exact size up front', () => {
    for (const size of [0, 1, 2, 3, 49_151, 49_152, 49_153, 200_000]) {
      const source = randomBytes(size);
      const decoded = parseDataUrl(`data:image/png;base64,${source.toString('base64')}`);
      expect(decoded.mediaType).toBe('image/png');
      expect(decoded.bytes).toBe(size);
      expect(collect(decoded).equals(source)).toBe(true);
    }
  });

  it('accepts URL-safe, unpadded and line-wrapped base64', () => {
    const source = randomBytes(1000);
    const wrapped = source.toString('base64').replace(/.{76}/g, '$&\n');
    expect(collect(decodeBase64(wrapped)).equals(source)).toBe(true);
    const urlSafe = decodeBase64(source.toString('base64url'));
    expect(urlSafe.bytes).toBe(1000);
    expect(collect(urlSafe).equals(source)).toBe(true);
  });

  it('decodes percent-encoded data URLs', () => {
    const decoded = parseDataUrl('data:text/plain,hello%20world%FF');
    expect(collect(decoded).equals(Buffer.from([...Buffer.from('hello world'), 0xff]))).toBe(true);
    expect(decoded.bytes).toBe(12);
  });

  it('tells base64 from URLs and refuses garbage', () => {
    expect(looksLikeBase64('iVBORw0KGgo=')).toBe(true);
    expect(looksLikeBase64('https://example.com/a.png')).toBe(false);
    expect(() => decodeBase64('not base64!')).toThrow(InvalidInlineDataError);
    expect(() => parseDataUrl('data:image/png;base64')).toThrow(InvalidInlineDataError);
  });
});
