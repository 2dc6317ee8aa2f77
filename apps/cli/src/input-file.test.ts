import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReadableFile, inputFormat, readPromptLines, txtAsNdjson } from './input-file.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genqueue-cli-in-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('inputFormat', () => {
  it.each([
    ['p.txt', { kind: 'txt', contentType: 'application/x-ndjson' }],
    ['P.CSV', { kind: 'stream', contentType: 'text/csv' }],
    ['dir.v2/rows.jsonl', { kind: 'stream', contentType: 'application/x-ndjson' }],
    ['rows.ndjson', { kind: 'stream', contentType: 'application/x-ndjson' }],
  ])('%s', (path, format) => {
    expect(inputFormat(path)).toEqual(format);
  });

  it.each(['rows.json', 'prompts', 'x.tsv'])('refuses %s with a usage error', (path) => {
    expect(() => inputFormat(path)).toThrow(/use a \.csv, \.jsonl, \.ndjson or \.txt file/);
  });
});

describe('readPromptLines and txtAsNdjson', () => {
  const content = '\uFEFFa cat\r\n\r\n  a "dog" at dusk  \n\t\nlast line without newline';

  it('reads one trimmed prompt per line, blank lines as undefined, without the BOM or CR', async () => {
    const path = join(dir, 'p.txt');
    await writeFile(path, content);
    const lines: (string | undefined)[] = [];
    for await (const line of readPromptLines(path)) lines.push(line);
    expect(lines).toEqual(['a cat', undefined, 'a "dog" at dusk', undefined, 'last line without newline']);
  });

  it('streams the prompts as NDJSON with blank lines kept, so line numbers match the file', async () => {
    const path = join(dir, 'q.txt');
    await writeFile(path, content);
    expect(await text(txtAsNdjson(path))).toBe(
      '{"prompt":"a cat"}\n\n{"prompt":"a \\"dog\\" at dusk"}\n\n{"prompt":"last line without newline"}\n',
    );
  });
});

describe('assertReadableFile', () => {
  it('names a missing file and refuses a directory', async () => {
    await expect(assertReadableFile(join(dir, 'missing.txt'))).rejects.toThrow(
      /^no such file: ".*missing\.txt"$/,
    );
    await expect(assertReadableFile(dir)).rejects.toThrow(/is not a file/);
  });
});
