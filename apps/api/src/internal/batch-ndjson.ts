/**
 * NDJSON batch uploads (`application/x-ndjson`): one item per line, either `{ input, metadata? }`
 * or a bare input object. Blank lines are skipped. A line that is not a JSON object is a bad row
 * (rejected, or skipped with `skipInvalid`), not a failure of the whole upload.
 */
import type { BatchItem } from '@genqueue/core';
import { itemFromNdjson } from './batch-items.ts';
import { splitLines } from './batch-stream.ts';

/** A batch item read from an upload, with the 1-based line where it starts. */
export type UploadRow = BatchItem & { line: number };

/** Reads NDJSON items from the upload's chunks, one line at a time. */
export async function* ndjsonItems(chunks: AsyncIterable<Buffer>): AsyncGenerator<UploadRow> {
  for await (const { text, line } of splitLines(chunks)) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield {
        input: {},
        issues: [{ path: 'item', message: `is not valid JSON (${(error as Error).message})` }],
        line,
      };
      continue;
    }
    yield { ...itemFromNdjson(value), line };
  }
}
