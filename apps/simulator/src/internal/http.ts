import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reply } from '../mode.ts';

/** Thrown when a request body exceeds the limit. */
export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`request body over ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Reads a whole request body, refusing more than `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Sends `value` as JSON with a content-length. */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Sends bytes with a content type and length (body omitted for HEAD). */
export function sendBytes(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  bytes: Buffer,
  contentType: string,
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Streams `bytes` in about 20 slices spread over `durationMs`, for the slow-image fault. */
export function sendSlowly(
  res: ServerResponse,
  bytes: Buffer,
  contentType: string,
  durationMs: number,
): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length });
  const slices = 20;
  const step = Math.ceil(bytes.length / slices);
  let offset = 0;
  const timer = setInterval(
    () => {
      if (res.destroyed) {
        clearInterval(timer);
        return;
      }
      const next = Math.min(bytes.length, offset + step);
      res.write(bytes.subarray(offset, next));
      offset = next;
      if (offset >= bytes.length) {
        clearInterval(timer);
        res.end();
      }
    },
    Math.max(1, Math.floor(durationMs / slices)),
  );
  res.on('close', () => clearInterval(timer));
}

/** One part of a multipart/form-data body. */
export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/**
 * Parses multipart/form-data (RFC 7578) keeping the parts' order, which matters to OSS PostObject:
 * `file` must be the last field. Returns undefined when the body is not well-formed.
 */
export function parseMultipart(body: Buffer, contentTypeHeader: string | undefined): FormPart[] | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentTypeHeader ?? '');
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary || !/^multipart\/form-data/i.test(contentTypeHeader ?? '')) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) return undefined;
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') return parts;
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') return undefined;
    pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) return undefined;
    const headers = body.subarray(pos, headerEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) return undefined;
    const part: FormPart = { name: '', data: body.subarray(headerEnd + 4, next) };
    for (const line of headers) {
      const [key, ...rest] = line.split(':');
      const value = rest.join(':').trim();
      if (key?.toLowerCase() === 'content-disposition') {
        const name = /\bname="([^"]*)"/i.exec(value);
        const filename = /\bfilename="([^"]*)"/i.exec(value);
        if (name) part.name = name[1]!;
        if (filename) part.filename = filename[1]!;
      } else if (key?.toLowerCase() === 'content-type') {
        part.contentType = value;
      }
    }
    if (!part.name) return undefined;
    parts.push(part);
    pos = next + 2;
  }
}

/** Sends a mode's `Reply` (status, JSON body, headers). */
export function sendReply(res: ServerResponse, reply: Reply): void {
  sendJson(res, reply.status, reply.body, { ...reply.headers });
}
