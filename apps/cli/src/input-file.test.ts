import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReadableFile, inputFormat, readPromptLines } from './input-file.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genqueue-cli-in-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('inputFormat', () => {
  it.each([
    ['p.txt', { kind: 'txt' }],
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

describe('readPromptLines', () => {
  it('yields one trimmed prompt per line, skipping blank lines, a BOM and CRLF endings', async () => {
    const path = join(dir, 'p.txt');
    await writeFile(path, '\uFEFFa cat\r\n\r\n  a dog at dusk  \n\t\nlast line without newline');
    const prompts: string[] = [];
    for await (const p of readPromptLines(path)) prompts.push(p);
    expect(prompts).toEqual(['a cat', 'a dog at dusk', 'last line without newline']);
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
