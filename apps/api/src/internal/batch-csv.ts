/**
 * CSV batch uploads (`text/csv`, RFC 4180 with a header row), parsed as a stream with csv-parse.
 *
 * - The header names the columns. `metadata.<key>` columns go to the item's `metadata` (as text);
 *   every other column is an input field, typed by the operation's schema (see `coerceCell`).
 * - An empty cell means "not given", so the batch defaults apply; a row of empty cells is skipped.
 * - A UTF-8 byte-order mark (spreadsheet exports) is dropped; `\n` and `\r\n` both end records.
 * - A row with another number of cells than the header is a bad row (rejected, or skipped with
 *   `skipInvalid`). Broken quoting or a bad header fails the upload (`UploadParseError`, with the
 *   line), since the rows after it can't be trusted.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { coerceCell, type FieldSchemas } from './batch-coerce.ts';
import type { UploadRow } from './batch-ndjson.ts';
import { UploadParseError } from './batch-stream.ts';

/** Most columns a header may have. */
export const MAX_CSV_COLUMNS = 256;

const METADATA_PREFIX = 'metadata.';

type Column = { kind: 'input'; name: string } | { kind: 'metadata'; name: string };

function readHeader(cells: string[], line: number): Column[] {
  if (cells.length > MAX_CSV_COLUMNS) {
    throw new UploadParseError(`the header has more than ${MAX_CSV_COLUMNS} columns`, line);
  }
  const seen = new Set<string>();
  return cells.map((cell, index) => {
    const name = cell.trim();
    if (name === '') throw new UploadParseError(`header column ${index + 1} has no name`, line);
    if (seen.has(name)) throw new UploadParseError(`header column "${name}" appears twice`, line);
    seen.add(name);
    if (name.startsWith(METADATA_PREFIX) && name.length > METADATA_PREFIX.length) {
      return { kind: 'metadata', name: name.slice(METADATA_PREFIX.length) };
    }
    return { kind: 'input', name };
  });
}

/**
 * Reads CSV items from the upload's chunks. `fields` are the operation's field schemas (from
 * `inputFieldSchemas`), used to type cells.
 */
export async function* csvItems(
  chunks: AsyncIterable<Buffer>,
  fields: FieldSchemas | undefined,
): AsyncGenerator<UploadRow> {
  const parser = parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true });
  // The pipeline ends the parser with the source's error (e.g. the byte limit), so it surfaces in
  // the loop below; the loop leaving early destroys the parser and so stops the source. Its own
  // outcome is not awaited: a source waiting on a slow client must not hold up the answer.
  pipeline(Readable.from(chunks), parser).catch(() => undefined);
  let columns: Column[] | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      // info.lines is the line the record ends on; quoted cells may span lines.
      const line = info.lines - record.reduce((sum, cell) => sum + countNewlines(cell), 0);
      if (!columns) {
        columns = readHeader(record, line);
        continue;
      }
      if (record.every((cell) => cell === '')) continue;
      if (record.length !== columns.length) {
        yield {
          input: {},
          issues: [
            { path: 'row', message: `has ${record.length} cells; the header has ${columns.length} columns` },
          ],
          line,
        };
        continue;
      }
      const input: Record<string, unknown> = {};
      let metadata: Record<string, unknown> | undefined;
      for (const [index, column] of columns.entries()) {
        const cell = record[index]!;
        if (cell === '') continue;
        if (column.kind === 'metadata') {
          metadata ??= {};
          metadata[column.name] = cell;
        } else {
          input[column.name] = coerceCell(cell, fields?.[column.name]);
        }
      }
      yield metadata ? { input, metadata, line } : { input, line };
    }
  } catch (error) {
    if (error instanceof CsvError) {
      throw new UploadParseError(`malformed CSV: ${error.message}`, lineOf(error));
    }
    throw error;
  }
  if (!columns) throw new UploadParseError('the CSV has no header row', 1);
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

function lineOf(error: CsvError): number {
  const lines = (error as CsvError & { lines?: unknown }).lines;
  return typeof lines === 'number' && lines > 0 ? lines : 1;
}
