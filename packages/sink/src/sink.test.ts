import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { pino } from 'pino';
import sharp from 'sharp';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startS3, type TestS3 } from '../../../test/support/s3.ts';
import { BufferPool, createS3Client, Sink, SinkError } from './index.ts';

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const fileOf = (head: Buffer, size: number) => Buffer.concat([head, randomBytes(size - head.length)]);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: unreserved characters only. */
const uriEncode = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Checks a presigned GET URL's signature with the algorithm of AWS's "Authenticating Requests:
 * Using Query Parameters (AWS Signature Version 4)", written apart from the SDK.
 */
function sigV4Valid(url: string, secretAccessKey: string): boolean {
  const parsed = new URL(url);
  const params = [...parsed.searchParams.entries()];
  const signature = parsed.searchParams.get('X-Amz-Signature');
  const canonicalQuery = params
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = [
    'GET',
    parsed.pathname,
    canonicalQuery,
    `host:${parsed.host}`,
    '',
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const [, date, region, service] = parsed.searchParams.get('X-Amz-Credential')!.split('/');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    parsed.searchParams.get('X-Amz-Date'),
    `${date}/${region}/${service}/aws4_request`,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key = hmac(`AWS4${secretAccessKey}`, date!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  return hmac(key, stringToSign).toString('hex') === signature;
}

let s3: TestS3;
let server: Server;
let origin: string;
const routes = new Map<string, RequestListener>();
let testNumber = 0;
/** A unique key prefix per test, so no test reads another's objects. */
const nextKey = (name: string) => `sink-test/${++testNumber}/${name}`;

beforeAll(async () => {
  s3 = await startS3({ bucket: 'sink-test' });
  server = createServer((req, res) => {
    const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await s3.stop();
});

function serve(path: string, data: Buffer, contentType = 'application/octet-stream'): string {
  routes.set(path, (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': data.length });
    res.end(data);
  });
  return `${origin}${path}`;
}

function newSink(overrides: Partial<ConstructorParameters<typeof Sink>[0]> = {}): Sink {
  return new Sink({
    s3: s3.client,
    bucket: s3.bucket,
    maxBytes: 20 * 1024 * 1024,
    presignTtlSeconds: 600,
    ...overrides,
  });
}

async function readObject(key: string): Promise<Buffer> {
  const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

async function storeError(promise: Promise<unknown>): Promise<SinkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SinkError);
  return error as SinkError;
}

describe('Sink.store over HTTP', () => {
  it('stores a multipart-sized file byte for byte, with its sha256, type and metadata', async () => {
    const data = fileOf(PNG_HEAD, 6 * 1024 * 1024 + 123);
    const url = serve('/big.png', data, 'image/png');
    const key = nextKey('big');
    const sink = newSink();
    const stored = await sink.store({
      url,
      key,
      metadata: { 'task-id': 'task-1', seed: '42', 'prompt-sha256': 'abc123' },
      contentTypeHint: 'image/png',
    });
    expect(stored).toEqual({
      bucket: s3.bucket,
      key: `${key}.png`,
      contentType: 'image/png',
      bytes: data.length,
      sha256: sha256(data),
    });
    expect(sha256(await readObject(stored.key))).toBe(sha256(data));
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: stored.key }));
    expect(head.ContentType).toBe('image/png');
    expect(head.Metadata).toEqual({ 'task-id': 'task-1', seed: '42', 'prompt-sha256': 'abc123' });
    await sink.close();
  });

  it('trusts the bytes over the provider claim and names the key after them', async () => {
    const data = fileOf(JPEG_HEAD, 5000);
    const url = serve('/mislabelled.png', data, 'image/png');
    const key = nextKey('mislabelled');
    const stored = await newSink().store({ url, key, metadata: {}, contentTypeHint: 'image/png' });
    expect(stored.contentType).toBe('image/jpeg');
    expect(stored.key).toBe(`${key}.jpg`);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: stored.key }));
    expect(head.ContentType).toBe('image/jpeg');
  });

  it('keeps unknown bytes as .bin with the claimed type, and stores tiny files whole', async () => {
    const data = Buffer.from('hello');
    const url = serve('/hello', data, 'text/plain; charset=utf-8');
    const stored = await newSink().store({ url, key: nextKey('hello'), metadata: {} });
    expect(stored.key.endsWith('.bin')).toBe(true);
    expect(stored.contentType).toBe('text/plain');
    expect((await readObject(stored.key)).equals(data)).toBe(true);
  });

  it('streams a chunked body whose size is unknown up front', async () => {
    const data = fileOf(PNG_HEAD, 300_000);
    routes.set('/chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      // Split inside the magic bytes: the sniffer must wait for enough of them.
      res.write(data.subarray(0, 3));
      setTimeout(() => res.end(data.subarray(3)), 20);
    });
    const stored = await newSink().store({ url: `${origin}/chunked`, key: nextKey('chunked'), metadata: {} });
    expect(stored.contentType).toBe('image/png');
    expect(stored.sha256).toBe(sha256(data));
    expect(sha256(await readObject(stored.key))).toBe(sha256(data));
  });

  it('follows redirects', async () => {
    const data = fileOf(PNG_HEAD, 1000);
    serve('/final.png', data, 'image/png');
    routes.set('/redirect', (_req, res) => res.writeHead(302, { location: '/final.png' }).end());
    const stored = await newSink().store({
      url: `${origin}/redirect?sig=secret`,
      key: nextKey('redir'),
      metadata: {},
    });
    expect(stored.sha256).toBe(sha256(data));
  });

  it('fails without retry when content-length is over the limit, before reading the body', async () => {
    const url = serve('/declared-big', fileOf(PNG_HEAD, 4096), 'image/png');
    const key = nextKey('declared-big');
    const error = await storeError(newSink({ maxBytes: 1024 }).store({ url, key, metadata: {} }));
    expect(error).toMatchObject({ code: 'too_large', retryable: false });
    expect(error.message).toContain('1024');
  });

  it('aborts a chunked download once it crosses the limit, and stores nothing', async () => {
    let closedEarly = false;
    routes.set('/endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(PNG_HEAD);
      const chunk = randomBytes(64 * 1024);
      let sent = 0;
      const pump = () => {
        // 64 MiB would be sent if the sink read it all; it must hang up after ~1 MiB.
        while (sent < 1024 && res.write(chunk)) sent++;
        if (sent < 1024) res.once('drain', pump);
        else res.end();
      };
      res.on('close', () => {
        closedEarly = !res.writableFinished;
      });
      pump();
    });
    const key = nextKey('endless');
    const error = await storeError(
      newSink({ maxBytes: 1024 * 1024 }).store({ url: `${origin}/endless`, key, metadata: {} }),
    );
    expect(error).toMatchObject({ code: 'too_large', retryable: false });
    await expect.poll(() => closedEarly, { timeout: 10_000 }).toBe(true);
    const listing = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: key }));
    expect(listing.KeyCount ?? 0).toBe(0);
  });

  it('reports a 404 as retryable, then succeeds once the file appears', async () => {
    const data = fileOf(PNG_HEAD, 2048);
    let calls = 0;
    routes.set('/late.png', (_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(404, { 'content-type': 'text/plain' }).end('not yet');
      else res.writeHead(200, { 'content-type': 'image/png' }).end(data);
    });
    const sink = newSink();
    const source = { url: `${origin}/late.png`, key: nextKey('late'), metadata: {} };
    const error = await storeError(sink.store(source));
    expect(error).toMatchObject({ code: 'http_status', status: 404, retryable: true });
    const stored = await sink.store(source);
    expect(stored.sha256).toBe(sha256(data));
  });

  it('classifies statuses: 5xx retryable, 403 final; never leaks the query string', async () => {
    routes.set('/boom', (_req, res) => res.writeHead(503).end());
    routes.set('/expired', (_req, res) => res.writeHead(403).end());
    const sink = newSink();
    const boom = await storeError(
      sink.store({ url: `${origin}/boom?token=s3cr3t`, key: nextKey('b'), metadata: {} }),
    );
    expect(boom).toMatchObject({ code: 'http_status', status: 503, retryable: true });
    expect(boom.message).not.toContain('s3cr3t');
    const expired = await storeError(
      sink.store({ url: `${origin}/expired`, key: nextKey('e'), metadata: {} }),
    );
    expect(expired).toMatchObject({ code: 'http_status', status: 403, retryable: false });
  });

  it('reports refused connections and stalled bodies as retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const sink = newSink({ timeouts: { bodyMs: 300 } });
    const refused = await storeError(
      sink.store({ url: `http://127.0.0.1:${deadPort}/x`, key: nextKey('r'), metadata: {} }),
    );
    expect(refused).toMatchObject({ code: 'network', retryable: true });

    routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 100_000 });
      res.write(PNG_HEAD); // and nothing more
    });
    const stalled = await storeError(sink.store({ url: `${origin}/stall`, key: nextKey('s'), metadata: {} }));
    expect(stalled).toMatchObject({ code: 'timeout', retryable: true });
    await sink.close();
  });

  it('stops when the caller aborts (shutdown), as a retryable error', async () => {
    routes.set('/slow', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(fileOf(PNG_HEAD, 64 * 1024)); // then hang, mid-upload
    });
    const controller = new AbortController();
    const pending = newSink().store({
      url: `${origin}/slow`,
      key: nextKey('abort'),
      metadata: {},
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    const error = await storeError(pending);
    expect(error).toMatchObject({ code: 'aborted', retryable: true });
  });

  it('refuses to store an empty file', async () => {
    const url = serve('/empty.png', Buffer.alloc(0), 'image/png');
    const key = nextKey('empty');
    const error = await storeError(newSink().store({ url, key, metadata: {} }));
    expect(error).toMatchObject({ code: 'empty', retryable: true });
    const listing = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: key }));
    expect(listing.KeyCount ?? 0).toBe(0);
  });

  it('refuses unsupported schemes without retry', async () => {
    const sink = newSink();
    for (const url of ['ftp://127.0.0.1/a.png', 'file:///etc/passwd', '/tmp/relative.png', 'mailto:a@b.c']) {
      const error = await storeError(sink.store({ url, key: nextKey('scheme'), metadata: {} }));
      expect(error).toMatchObject({ code: 'unsupported_source', retryable: false });
    }
  });

  it('reports S3 failures as retryable', async () => {
    const url = serve('/to-missing-bucket.png', fileOf(PNG_HEAD, 1000), 'image/png');
    const sink = newSink({ bucket: 'no-such-bucket' });
    const error = await storeError(sink.store({ url, key: nextKey('nb'), metadata: {} }));
    expect(error).toMatchObject({ code: 's3', retryable: true });
  });
});

describe('Sink.store with S3 unreachable', () => {
  /** A loopback port nothing listens on: every S3 request is refused at connect. */
  async function refusedEndpoint(): Promise<string> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    return `http://127.0.0.1:${port}`;
  }

  // A failed upload once the download had ended used to destroy the finished download stream with
  // an error nobody listened to any more: an uncaught exception that killed the worker.
  for (const [name, size, buffers] of [
    ['a small file (one PUT from a pooled buffer)', 3000, 1],
    ['a small file while every pooled buffer is taken (streamed multipart)', 3000, 0],
    ['a file past the pool buffers (streamed multipart)', 5 * 1024 * 1024 + 10, 1],
  ] as const) {
    it(`fails ${name} as retryable, and the process lives on`, async () => {
      const client = createS3Client({
        endpoint: await refusedEndpoint(),
        region: 'us-east-1',
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        forcePathStyle: true,
      });
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        const error = await storeError(
          newSink({ s3: client, bufferPool: new BufferPool(4 * 1024 * 1024, buffers) }).store({
            url: serve(`/refused-${size}-${buffers}.png`, fileOf(PNG_HEAD, size), 'image/png'),
            key: nextKey('refused'),
            metadata: {},
          }),
        );
        expect(error).toMatchObject({ retryable: true });
        expect(error.message).toMatch(/ECONNREFUSED|upload/);
        // An error emitted on a stream with no listener surfaces on a later tick.
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(uncaught).toEqual([]);
      } finally {
        process.off('uncaughtException', onUncaught);
        client.destroy();
      }
    });
  }
});

describe('Sink.store: each upload path byte for byte, and a download failing mid-stream', () => {
  const MIB = 1024 * 1024;
  let spoolDir: string;
  const savedTmpdir = process.env.TMPDIR;
  beforeAll(async () => {
    // Spool files go to the temporary directory: a private one shows whether any is left behind.
    spoolDir = await mkdtemp(join(tmpdir(), 'sink-spool-test-'));
    process.env.TMPDIR = spoolDir;
  });
  afterAll(async () => {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    await rm(spoolDir, { recursive: true, force: true });
  });

  /** Serves `data` in 64 KiB writes, with or without content-length; `failAt` hangs up there. */
  function serveInPieces(path: string, data: Buffer, knownLength: boolean, failAt?: number): string {
    routes.set(path, (_req, res) => {
      res.writeHead(200, {
        'content-type': 'image/png',
        ...(knownLength ? { 'content-length': data.length } : {}),
      });
      const end = failAt ?? data.length;
      let at = 0;
      const pump = () => {
        while (at < end) {
          const piece = data.subarray(at, Math.min(at + 64 * 1024, end));
          at += piece.length;
          if (!res.write(piece)) {
            res.once('drain', pump);
            return;
          }
        }
        if (failAt === undefined) res.end();
        else setTimeout(() => res.destroy(), 20);
      };
      pump();
    });
    return `${origin}${path}`;
  }

  const paths = [
    { name: 'known length, small (one PUT from a pooled buffer)', bytes: MIB + 5, knownLength: true },
    { name: 'known length, over 5 MiB (streamed multipart)', bytes: 6 * MIB + 1, knownLength: true },
    { name: 'unknown length, over 5 MiB (spooled, then streamed)', bytes: 6 * MIB + 1, knownLength: false },
  ];
  for (const { name, bytes, knownLength } of paths) {
    it(`stores a file of ${name}`, async () => {
      const data = fileOf(PNG_HEAD, bytes);
      const key = nextKey('path');
      const url = serveInPieces(`/${testNumber}.png`, data, knownLength);
      const stored = await newSink().store({ url, key, metadata: { seed: '7' } });
      expect(stored).toMatchObject({ key: `${key}.png`, bytes, sha256: sha256(data) });
      expect(sha256(await readObject(stored.key))).toBe(sha256(data));
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: stored.key }));
      expect(head).toMatchObject({ ContentType: 'image/png', ContentLength: bytes, Metadata: { seed: '7' } });
      expect(await readdir(spoolDir)).toEqual([]);
    });

    it(`fails as retryable and leaves no object when the download breaks mid-stream: ${name}`, async () => {
      const data = fileOf(PNG_HEAD, bytes);
      const key = nextKey('broken');
      const url = serveInPieces(`/${testNumber}.png`, data, knownLength, Math.floor(bytes * 0.6));
      const error = await storeError(newSink().store({ url, key, metadata: {} }));
      expect(error).toMatchObject({ code: 'network', retryable: true });
      const listing = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: key }));
      expect(listing.KeyCount ?? 0).toBe(0);
      expect(await readdir(spoolDir)).toEqual([]);
    });
  }
});

describe('thumbnails', () => {
  const gradient = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
      .png()
      .toBuffer();

  it('stores a 384 px WebP thumbnail beside an image, and the image byte for byte', async () => {
    const data = await gradient(1024, 512);
    const url = serve('/wide.png', data, 'image/png');
    const key = nextKey('wide');
    const stored = await newSink().store({ url, key, metadata: {} });
    expect(stored.sha256).toBe(sha256(data));
    expect(sha256(await readObject(stored.key))).toBe(sha256(data));
    expect(stored.thumbnail).toEqual({ key: `${key}.thumb.webp`, bytes: expect.any(Number) });
    const thumb = await readObject(stored.thumbnail!.key);
    expect(thumb.length).toBe(stored.thumbnail!.bytes);
    const meta = await sharp(thumb).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 384, height: 192 });
    const head = await s3.client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: stored.thumbnail!.key }),
    );
    expect(head.ContentType).toBe('image/webp');
  });

  it('never enlarges a small image, and makes none when thumbnails are off', async () => {
    const data = await gradient(100, 60);
    const url = serve('/small.png', data, 'image/png');
    const stored = await newSink().store({ url, key: nextKey('small'), metadata: {} });
    expect(await sharp(await readObject(stored.thumbnail!.key)).metadata()).toMatchObject({
      width: 100,
      height: 60,
    });
    const off = await newSink({ thumbnails: false }).store({ url, key: nextKey('off'), metadata: {} });
    expect(off.thumbnail).toBeUndefined();
  });

  it('stores an undecodable image without a thumbnail, and refuses images over the pixel limit', async () => {
    const broken = fileOf(PNG_HEAD, 5000);
    const stored = await newSink().store({
      url: serve('/broken.png', broken),
      key: nextKey('broken'),
      metadata: {},
    });
    expect(stored.sha256).toBe(sha256(broken));
    expect(stored.thumbnail).toBeUndefined();
    const big = await gradient(2000, 2000);
    const limited = await newSink({ thumbnails: { maxInputPixels: 1_000_000 } }).store({
      url: serve('/huge.png', big),
      key: nextKey('huge'),
      metadata: {},
    });
    expect(limited.bytes).toBe(big.length);
    expect(limited.thumbnail).toBeUndefined();
  });
});

describe('Sink.store from inline data', () => {
  it('decodes a data: URL and stores it with its metadata', async () => {
    const data = fileOf(Buffer.from('RIFF\x24\0\0\0WEBPVP8 ', 'latin1'), 100_000);
    const key = nextKey('inline');
    const stored = await newSink().store({
      url: `data:image/webp;base64,${data.toString('base64')}`,
      key,
      metadata: { 'task-id': 'sync-1', prompt: 'café' },
    });
    expect(stored).toMatchObject({ key: `${key}.webp`, contentType: 'image/webp', bytes: data.length });
    expect(stored.sha256).toBe(sha256(data));
    expect((await readObject(stored.key)).equals(data)).toBe(true);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: stored.key }));
    expect(head.Metadata).toEqual({ 'task-id': 'sync-1', prompt: 'caf%C3%A9' });
  });

  it('decodes bare base64 (b64_json) and enforces the limit on it', async () => {
    const data = fileOf(PNG_HEAD, 4000);
    const stored = await newSink().store({ url: data.toString('base64'), key: nextKey('b64'), metadata: {} });
    expect(stored.contentType).toBe('image/png');
    expect(stored.sha256).toBe(sha256(data));
    const error = await storeError(
      newSink({ maxBytes: 1000 }).store({
        url: data.toString('base64'),
        key: nextKey('b64big'),
        metadata: {},
      }),
    );
    expect(error).toMatchObject({ code: 'too_large', retryable: false });
    const bad = await storeError(
      newSink().store({ url: 'data:image/png;base64,@@@@', key: nextKey('bad'), metadata: {} }),
    );
    expect(bad).toMatchObject({ code: 'invalid_data', retryable: false });
  });
});

describe('Sink.objectUrl', () => {
  it('presigns a GET that serves the object', async () => {
    const data = fileOf(PNG_HEAD, 3000);
    const sink = newSink();
    const stored = await sink.store({
      url: serve('/presign.png', data, 'image/png'),
      key: nextKey('p'),
      metadata: {},
    });
    const url = await sink.objectUrl(stored.bucket, stored.key);
    expect(url).toContain('X-Amz-Expires=600');
    const response = await request(url);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/png');
    expect(sha256(Buffer.from(await response.body.arrayBuffer()))).toBe(sha256(data));
  });

  it('presigns keys with spaces, unicode and sub-delimiters, and the store checks the signature', async () => {
    const sink = newSink();
    const data = fileOf(PNG_HEAD, 500);
    const stored = await sink.store({
      url: serve('/odd.png', data, 'image/png'),
      key: nextKey("a cat (1)/it's *ok*!/café+é.png"),
      metadata: {},
    });
    const url = await sink.objectUrl(stored.bucket, stored.key);
    const response = await request(url);
    expect(response.statusCode).toBe(200);
    expect(sha256(Buffer.from(await response.body.arrayBuffer()))).toBe(sha256(data));
    // s3rver does not check V4 signatures, so the signature is checked here, by AWS's documented
    // algorithm; the SDK's own getSignedUrl passes the same check, which validates the checker.
    expect(sigV4Valid(url, s3.clientConfig.credentials.secretAccessKey)).toBe(true);
    const reference = await getSignedUrl(
      s3.client,
      new GetObjectCommand({ Bucket: stored.bucket, Key: stored.key }),
      { expiresIn: 600 },
    );
    expect(sigV4Valid(reference, s3.clientConfig.credentials.secretAccessKey)).toBe(true);
    expect(new URL(url).pathname).toBe(new URL(reference).pathname);
    expect(
      sigV4Valid(
        url.replace('X-Amz-Expires=600', 'X-Amz-Expires=601'),
        s3.clientConfig.credentials.secretAccessKey,
      ),
    ).toBe(false);
  });

  it('presigns one bucket after another, each with its own base', async () => {
    const sink = newSink();
    const first = new URL(await sink.objectUrl(s3.bucket, 'k/1.png'));
    const second = new URL(await sink.objectUrl('other-bucket', 'k/1.png'));
    expect(first.pathname).toBe(`/${s3.bucket}/k/1.png`);
    expect(second.pathname).toBe('/other-bucket/k/1.png');
    expect(second.searchParams.get('X-Amz-Expires')).toBe('600');
  });

  it('uses the public base URL when configured', async () => {
    const sink = newSink({ publicUrl: 'https://cdn.example.com/images/' });
    expect(await sink.objectUrl('any', 'jobs/a b/1.png')).toBe(
      'https://cdn.example.com/images/jobs/a%20b/1.png',
    );
  });
});

describe('createS3Client', () => {
  it('builds a client that round-trips a streamed upload through s3rver', async () => {
    const client = createS3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
    });
    const data = fileOf(PNG_HEAD, 50_000);
    const stored = await newSink({ s3: client }).store({
      url: serve('/client.png', data),
      key: nextKey('c'),
      metadata: {},
    });
    expect(sha256(await readObject(stored.key))).toBe(sha256(data));
    client.destroy();
  });

  it("sends the SDK's messages to the logger, not the console, when a streamed upload fails", async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const client = createS3Client(
      {
        endpoint: s3.endpoint,
        region: 'us-east-1',
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        forcePathStyle: true,
      },
      logger,
    );
    const data = fileOf(PNG_HEAD, 6 * 1024 * 1024);
    routes.set('/breaks.png', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': data.length });
      res.write(data.subarray(0, 2 * 1024 * 1024), () => setTimeout(() => res.destroy(), 50));
    });
    const warn = vi.spyOn(console, 'warn');
    try {
      const error = await storeError(
        newSink({ s3: client }).store({ url: `${origin}/breaks.png`, key: nextKey('breaks'), metadata: {} }),
      );
      expect(error).toMatchObject({ code: 'network', retryable: true });
      expect(warn).not.toHaveBeenCalled();
      const sdk = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'S3 SDK');
      expect(sdk).toEqual([
        expect.objectContaining({ level: 20, sdk: expect.stringContaining('non-retryable') }),
      ]);
    } finally {
      warn.mockRestore();
      client.destroy();
    }
  });
});
