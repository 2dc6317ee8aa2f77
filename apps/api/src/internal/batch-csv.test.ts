import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inputFieldSchemas } from './batch-coerce.ts';
import { csvItems } from './batch-csv.ts';
import { UploadParseError } from './batch-stream.ts';

const fields = inputFieldSchemas(z.object({ prompt: z.string(), imgCount: z.number().optional() }));

async function rows(...chunks: string[]) {
  async function* source() {
    for (const chunk of chunks) yield Buffer.from(chunk);
  }
  const out = [];
  for await (const row of csvItems(source(), fields)) out.push(row);
  return out;
}

describe('csvItems', () => {
  it('maps columns to input and metadata, types cells, numbers lines, skips empty rows', async () => {
    expect(
      await rows('\uFEFFprompt,imgCount,metadata.ref\n"two\nlines",2,r1\n', ',,\n', 'plain,,r3\n'),
    ).toEqual([
      { input: { prompt: 'two\nlines', imgCount: 2 }, metadata: { ref: 'r1' }, line: 2 },
      { input: { prompt: 'plain' }, metadata: { ref: 'r3' }, line: 5 },
    ]);
  });
  it('turns a row with the wrong number of cells into a bad row', async () => {
    expect(await rows('prompt,imgCount\na,1,extra\n')).toEqual([
      { input: {}, issues: [{ path: 'row', message: 'has 3 cells; the header has 2 columns' }], line: 2 },
    ]);
  });
  it('fails the upload on broken quoting or a bad header, with the line', async () => {
    await expect(rows('prompt\nok\n"bad"x\n')).rejects.toMatchObject({ name: 'UploadParseError', line: 3 });
    await expect(rows('prompt,\n')).rejects.toBeInstanceOf(UploadParseError);
    await expect(rows('')).rejects.toMatchObject({ message: 'the CSV has no header row' });
  });
});
