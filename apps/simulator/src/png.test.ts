import { describe, expect, it } from 'vitest';
import { decodePng } from './internal/test-support.ts';
import { encodePng, renderMp4, renderPng } from './png.ts';

describe('png', () => {
  it('encodes a PNG any decoder can read: signature, CRCs, IHDR size, inflated RGB rows', () => {
    const rgb = Buffer.alloc(3 * 4 * 2);
    for (let i = 0; i < rgb.length; i++) rgb[i] = i * 7;
    const png = decodePng(encodePng(4, 2, rgb));
    expect(png).toMatchObject({
      width: 4,
      height: 2,
      bitDepth: 8,
      colorType: 2,
      chunks: ['IHDR', 'IDAT', 'IEND'],
    });
    expect(png.pixels.equals(rgb)).toBe(true);
  });

  it('renders distinct, reproducible images per key', () => {
    const a = renderPng('task-a/0/1', 64, 64);
    expect(renderPng('task-a/0/1', 64, 64).equals(a)).toBe(true);
    const b = renderPng('task-a/1/1', 64, 64);
    expect(decodePng(b).pixels.equals(decodePng(a).pixels)).toBe(false);
  });

  it('pads with a private ancillary chunk that keeps the file valid', () => {
    const plain = renderPng('k', 16, 16);
    const padded = renderPng('k', 16, 16, { padBytes: 100_000 });
    expect(padded.length).toBe(plain.length + 100_000 + 12);
    const png = decodePng(padded);
    expect(png.chunks).toEqual(['IHDR', 'IDAT', 'paDd', 'IEND']);
    expect(png.pixels.equals(decodePng(plain).pixels)).toBe(true);
  });

  it('rejects pixel buffers of the wrong size', () => {
    expect(() => encodePng(2, 2, Buffer.alloc(5))).toThrow(RangeError);
  });

  it('makes an MP4 that sniffs as ftyp', () => {
    const mp4 = renderMp4('video-key');
    expect(mp4.toString('latin1', 4, 8)).toBe('ftyp');
    expect(mp4.readUInt32BE(0)).toBe(32);
  });
});
