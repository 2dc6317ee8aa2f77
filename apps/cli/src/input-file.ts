/**
 * Prompt files: which format a file is (by extension), and how it is streamed to
 * `POST /v1/batches`. CSV and NDJSON go as they are; a `.txt` file (one prompt per line) is
 * turned into NDJSON on the fly, one `{"prompt":…}` line per prompt and blank lines kept blank,
 * so the API's `line` numbers in rejected rows are the lines of the user's own file.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { CliError, EXIT_USAGE } from './errors.ts';

/** How a prompt file is sent to `POST /v1/batches`. */
export type InputFormat =
  /** One prompt per line, sent as NDJSON. */
  | { kind: 'txt'; contentType: 'application/x-ndjson' }
  /** Streamed as is with this content type. */
  | { kind: 'stream'; contentType: 'text/csv' | 'application/x-ndjson' };

const FORMATS: Record<string, InputFormat> = {
  '.txt': { kind: 'txt', contentType: 'application/x-ndjson' },
  '.csv': { kind: 'stream', contentType: 'text/csv' },
  '.jsonl': { kind: 'stream', contentType: 'application/x-ndjson' },
  '.ndjson': { kind: 'stream', contentType: 'application/x-ndjson' },
};

/** The format of `path` by its extension (case-insensitive); a usage error for anything else. */
export function inputFormat(path: string): InputFormat {
  const format = FORMATS[extname(path).toLowerCase()];
  if (!format) {
    throw new CliError(
      `cannot tell the format of "${path}": use a .csv, .jsonl, .ndjson or .txt file`,
      EXIT_USAGE,
    );
  }
  return format;
}

/** Fails early, with a readable message, when `path` is not a readable file. */
export async function assertReadableFile(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(`"${path}" is not a file`, EXIT_USAGE);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT' ? `no such file: "${path}"` : `cannot read "${path}" (${code ?? 'error'})`,
      EXIT_USAGE,
    );
  }
}

/**
 * The lines of a `.txt` prompt file, read as a stream: each prompt trimmed, `undefined` for a
 * blank line (so callers can keep line numbers).
 */
export async function* readPromptLines(path: string): AsyncGenerator<string | undefined> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let first = true;
  for await (const raw of lines) {
    // An editor's UTF-8 byte order mark would otherwise start the first prompt.
    const line = (first ? raw.replace(/^\uFEFF/, '') : raw).trim();
    first = false;
    yield line === '' ? undefined : line;
  }
}

/** A `.txt` prompt file as an NDJSON stream: `{"prompt":"…"}` per prompt, an empty line per blank line. */
export function txtAsNdjson(path: string): Readable {
  return Readable.from(
    (async function* () {
      for await (const prompt of readPromptLines(path)) {
        yield prompt === undefined ? '\n' : `${JSON.stringify({ prompt })}\n`;
      }
    })(),
  );
}
