/**
 * Prompt files: which format a file is (by extension), how it is sent, and reading `.txt` files
 * line by line.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { CliError, EXIT_USAGE } from './errors.ts';

/** How a prompt file is sent to `POST /v1/batches`. */
export type InputFormat =
  /** One prompt per line. */
  | { kind: 'txt' }
  /** Streamed as is with this content type. */
  | { kind: 'stream'; contentType: 'text/csv' | 'application/x-ndjson' };

const FORMATS: Record<string, InputFormat> = {
  '.txt': { kind: 'txt' },
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

/** The prompts of a `.txt` file: one per line, trimmed; blank lines skipped. Reads the file as a stream. */
export async function* readPromptLines(path: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let first = true;
  for await (const raw of lines) {
    // An editor's UTF-8 byte order mark would otherwise start the first prompt.
    const line = (first ? raw.replace(/^\uFEFF/, '') : raw).trim();
    first = false;
    if (line !== '') yield line;
  }
}
