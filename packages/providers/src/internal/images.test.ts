import { describe, expect, it } from 'vitest';
import { base64ToDataUrl, sniffImageType, toImageReference } from './images.ts';

const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const JPEG = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1,
]).toString('base64');
const WEBP = Buffer.concat([
  Buffer.from('RIFF'),
  Buffer.from([0, 0, 0, 0]),
  Buffer.from('WEBPVP8 '),
]).toString('base64');

describe('image helpers', () => {
  it.each([
    [PNG, 'image/png'],
    [JPEG, 'image/jpeg'],
    [WEBP, 'image/webp'],
    [Buffer.from('GIF89a......').toString('base64'), 'image/gif'],
    [Buffer.from('hello world, not an image').toString('base64'), undefined],
  ])('sniffs %s', (b64, type) => {
    expect(sniffImageType(Buffer.from(b64, 'base64'))).toBe(type);
  });

  it.each([
    ['https://example.com/a.png', 'https://example.com/a.png'],
    ['data:image/jpeg;base64,/9j/', 'data:image/jpeg;base64,/9j/'],
    [PNG, `data:image/png;base64,${PNG}`],
    [JPEG, `data:image/jpeg;base64,${JPEG}`],
    [`${PNG.slice(0, 40)}\n${PNG.slice(40)}`, `data:image/png;base64,${PNG}`],
  ])('normalizes an image input %#', async (value, expected) => {
    await expect(toImageReference(value, { provider: 'p', field: 'image' })).resolves.toBe(expected);
  });

  it.each([
    'ftp://example.com/a.png',
    'not an image',
    '/etc/passwd',
    // A path that is also valid base64 must not become a PNG data URL.
    '/srv/genqueue/inputs/image',
    'file:///etc/passwd',
    'javascript:alert(1)',
  ])('refuses %s as invalid_job', async (value) => {
    await expect(toImageReference(value, { provider: 'p', field: 'image' })).rejects.toMatchObject({
      errorClass: 'invalid_job',
      code: 'invalid_image',
    });
  });

  it('labels base64 outputs by their bytes and keeps data URLs as they are', () => {
    expect(base64ToDataUrl(JPEG)).toBe(`data:image/jpeg;base64,${JPEG}`);
    expect(base64ToDataUrl(`data:image/webp;base64,${WEBP}`)).toBe(`data:image/webp;base64,${WEBP}`);
  });
});
