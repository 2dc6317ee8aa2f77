/**
 * A `multipart/form-data` body built by hand, so that field order is exact (Aliyun OSS PostObject
 * ignores every field after `file`, so `file` must come last) and the length is known up front
 * (no chunked upload to OSS).
 */
import { randomBytes } from 'node:crypto';

export interface MultipartFile {
  filename: string;
  contentType: string;
  bytes: Buffer;
}

/** Encodes `fields` in order, then `file` (field name `file`) last. */
export function encodeMultipart(
  fields: readonly (readonly [string, string])[],
  file: MultipartFile,
  boundary = `----genqueue${randomBytes(12).toString('hex')}`,
): { body: Buffer; contentType: string } {
  const quote = (s: string) => s.replace(/["\r\n\\]/g, '_');
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`,
      ),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(file.filename)}"\r\n` +
        `Content-Type: ${file.contentType}\r\n\r\n`,
    ),
    file.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
