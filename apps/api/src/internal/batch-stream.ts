/**
 * Reading an upload (CSV, NDJSON) as a stream: a byte limit over the request's chunks, a line
 * splitter, and the typed errors the upload parsers throw. Nothing here buffers more than one line
 * (NDJSON) or one chunk.
 */
import { StringDecoder } from 'node:string_decoder';

/** The upload is larger than the byte limit (answered `413 payload_too_large`). */
export class UploadTooLargeError extends Error {
  override readonly name = 'UploadTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`the upload is larger than ${limitBytes} bytes`);
  }
}

/** The upload is not well-formed as a whole (broken CSV quoting, a bad header): answered 400 with its line. */
export class UploadParseError extends Error {
  override readonly name = 'UploadParseError';
  constructor(
    message: string,
    /** 1-based line of the upload where the problem was found. */
    readonly line: number,
  ) {
    super(message);
  }
}

/** Passes `source`'s chunks through, throwing `UploadTooLargeError` once more than `maxBytes` went by. */
export async function* limitBytes(
  source: AsyncIterable<Buffer | string>,
  maxBytes: number,
): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += bytes.length;
    if (total > maxBytes) throw new UploadTooLargeError(maxBytes);
    yield bytes;
  }
}

/** One line of a text upload; `line` is 1-based. */
export interface TextLine {
  text: string;
  line: number;
}

/**
 * Splits UTF-8 chunks into lines (`\n` or `\r\n`), decoding characters split across chunks, and
 * drops a leading byte-order mark. The last line needs no terminator.
 */
export async function* splitLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<TextLine> {
  const decoder = new StringDecoder('utf8');
  let line = 0;
  let first = true;
  const emit = (raw: string): TextLine => {
    line++;
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (first) {
      first = false;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    return { text, line };
  };
  // The unfinished line is kept as pieces and joined once it ends: appending to one string and
  // searching it again on every chunk made a long line quadratic (a 64 MB one-line upload took
  // minutes of CPU before its 413).
  let pieces: string[] = [];
  for await (const chunk of chunks) {
    const text = decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      pieces.push(text.slice(start, end));
      yield emit(pieces.join(''));
      pieces = [];
      start = end + 1;
    }
    if (start < text.length) pieces.push(text.slice(start));
  }
  const last = pieces.join('') + decoder.end();
  if (last !== '') yield emit(last);
}
