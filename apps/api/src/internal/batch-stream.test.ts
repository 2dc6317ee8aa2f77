import { describe, expect, it } from 'vitest';
import { limitBytes, splitLines, UploadTooLargeError } from './batch-stream.ts';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}
async function* chunksOf(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield Buffer.isBuffer(part) ? part : Buffer.from(part);
}

describe('limitBytes', () => {
  it('passes chunks up to the limit and throws once past it', async () => {
    expect(await collect(limitBytes(chunksOf('abc', 'de'), 5))).toHaveLength(2);
    await expect(collect(limitBytes(chunksOf('abc', 'def'), 5))).rejects.toBeInstanceOf(UploadTooLargeError);
  });
});

describe('splitLines', () => {
  it('splits on LF and CRLF across chunks, numbers lines, and drops a BOM', async () => {
    const euro = Buffer.from('€');
    const lines = await collect(
      splitLines(chunksOf('\uFEFFone\r', '\ntw', 'o\n\nthree ', euro.subarray(0, 1), euro.subarray(1))),
    );
    expect(lines).toEqual([
      { text: 'one', line: 1 },
      { text: 'two', line: 2 },
      { text: '', line: 3 },
      { text: 'three €', line: 4 },
    ]);
  });
});
