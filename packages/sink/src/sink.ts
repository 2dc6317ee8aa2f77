import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type Logger, silentLogger } from '@genqueue/model';
import { Agent, type Dispatcher, interceptors, request } from 'undici';
import {
  decodeBase64,
  type InlineData,
  InvalidInlineDataError,
  looksLikeBase64,
  parseDataUrl,
} from './internal/inline-data.ts';
import { Meter, TooLargeError } from './internal/meter.ts';
import { ObjectPresigner } from './internal/presigner.ts';
import { normalizeContentType, SNIFF_BYTES, sniffContentType } from './internal/sniff.ts';
import {
  DEFAULT_THUMBNAIL,
  makeThumbnail,
  SpoolFile,
  THUMBNAIL_SOURCE_TYPES,
  type ThumbnailSettings,
  tempFilePath,
} from './internal/thumbnail.ts';
import {
  type BufferPool,
  type ObjectParams,
  sharedBufferPool,
  uploadKnownLength,
} from './internal/upload.ts';
import { createS3Client, type S3ClientSettings } from './s3-client.ts';
import { SinkError } from './sink-error.ts';

/** Download time limits, in milliseconds. */
export interface SinkTimeouts {
  /** TCP + TLS connect. Applies only to the sink's own agent (not to an injected dispatcher). Default 10 000. */
  connectMs: number;
  /** From request sent to response headers received. Default 30 000. */
  headersMs: number;
  /** Longest pause between two body chunks (an idle timeout, not a total). Default 60 000. */
  bodyMs: number;
}

/** Defaults of {@link SinkTimeouts}. */
export const DEFAULT_SINK_TIMEOUTS: Readonly<SinkTimeouts> = Object.freeze({
  connectMs: 10_000,
  headersMs: 30_000,
  bodyMs: 60_000,
});

/** Options of {@link Sink}. */
export interface SinkOptions {
  /** Client to upload with; build it with `createS3Client`. */
  s3: S3Client;
  /** Bucket every object goes to. */
  bucket: string;
  /** Largest file accepted, in bytes (`SINK_MAX_BYTES`). Larger files fail without retry. */
  maxBytes: number;
  /**
   * undici dispatcher for downloads (tests, proxies, an SSRF guard). Default: an `Agent` owned by
   * the sink with `timeouts.connectMs`, closed by {@link Sink.close}. Redirects are followed on
   * top, each hop through this dispatcher, so a guard checks every hop's address when it connects.
   */
  dispatcher?: Dispatcher;
  /** Download time limits; each field defaults as in {@link DEFAULT_SINK_TIMEOUTS}. */
  timeouts?: Partial<SinkTimeouts>;
  /** Default: silent. */
  logger?: Logger;
  /** When set, {@link Sink.objectUrl} answers `${publicUrl}/${key}` instead of presigning. */
  publicUrl?: string;
  /** Validity of presigned URLs, in seconds (`S3_PRESIGN_TTL_SECONDS`). Default 86 400. */
  presignTtlSeconds?: number;
  /**
   * Buffers for small files, sent with one PUT once read whole; larger files, or any file while
   * every buffer is in use, are streamed as multipart uploads. Default: two of 4 MiB shared by
   * every sink of the process.
   */
  bufferPool?: BufferPool;
  /** Redirects followed per download. Default 5. */
  maxRedirections?: number;
  /**
   * A WebP thumbnail is stored beside each image (`<key>.thumb.webp`); `false` turns them off.
   * Each field defaults as in `DEFAULT_THUMBNAIL` (384 px on the long side).
   */
  thumbnails?: Partial<ThumbnailSettings> | false;
}

/** One file to store. */
export interface SinkSource {
  /** An http(s) URL, a `data:` URL, or bare base64 (providers answering `b64_json`). */
  url: string;
  /** Object key without extension; the extension follows the sniffed content type. */
  key: string;
  /** S3 user metadata (provider task id, seed, prompt hash, ...). Non-ASCII values are percent-encoded. */
  metadata: Record<string, string>;
  /** The content type the provider claims; checked against the bytes, which win. */
  contentTypeHint?: string;
  /** Aborts the download and the upload. */
  signal?: AbortSignal;
}

/** A stored object. */
export interface StoredObject {
  bucket: string;
  /** Full key, with extension (`.png`, `.jpg`, `.webp`, `.gif`, `.mp4`, `.avif`, or `.bin`). */
  key: string;
  contentType: string;
  /** Size in bytes. */
  bytes: number;
  /** Hex SHA-256 of the stored bytes. */
  sha256: string;
  /** The WebP thumbnail stored beside it; absent for videos and for images libvips cannot read. */
  thumbnail?: StoredThumbnail;
}

/** A thumbnail stored beside a result. */
export interface StoredThumbnail {
  key: string;
  bytes: number;
}

/** Suffix of a thumbnail's key, after the result's key without its extension. */
export const THUMBNAIL_SUFFIX = '.thumb.webp';

/** A source opened for reading. */
interface OpenedSource {
  body: Readable;
  /** The provider's claim: the hint, else the response's or data URL's content type. */
  claimedType?: string;
  /** The source for messages and logs, without query string or inline data. */
  label: string;
  /** A `data:` URL or base64: the same bytes on every attempt. */
  inline?: boolean;
  /** Size in bytes, when known before reading (`content-length`, decoded inline data). */
  length?: number;
}

const RETRYABLE_4XX = new Set([404, 408, 425, 429]);

/**
 * Streams provider result files into S3-compatible storage.
 *
 * Memory stays bounded whatever the file's size and the number of concurrent stores: the
 * download is read as a stream, counted and hashed on the way, and piped into S3 with its length
 * announced (backpressure from the upload pauses the download); only small files are read whole,
 * into the reusable buffers of a process-wide pool. A download of unknown size is spooled to a
 * temporary file first. An object appears under its key only once every byte arrived.
 */
export class Sink {
  private readonly options: SinkOptions;
  private readonly timeouts: SinkTimeouts;
  private readonly logger: Logger;
  private readonly dispatcher: Dispatcher;
  private readonly ownedAgent?: Agent;
  private readonly thumbnails?: ThumbnailSettings;
  private readonly pool: BufferPool;
  private presigner?: ObjectPresigner;

  constructor(options: SinkOptions) {
    this.options = options;
    this.pool = options.bufferPool ?? sharedBufferPool;
    this.thumbnails =
      options.thumbnails === false ? undefined : { ...DEFAULT_THUMBNAIL, ...options.thumbnails };
    this.timeouts = { ...DEFAULT_SINK_TIMEOUTS, ...options.timeouts };
    this.logger = options.logger ?? silentLogger();
    if (!options.dispatcher) this.ownedAgent = new Agent({ connect: { timeout: this.timeouts.connectMs } });
    const base = options.dispatcher ?? this.ownedAgent!;
    // Result URLs often go through a CDN or storage redirect (e.g. signed download links).
    this.dispatcher = base.compose(interceptors.redirect({ maxRedirections: options.maxRedirections ?? 5 }));
  }

  /**
   * Downloads (or decodes) `source.url` and uploads it as `source.key` + the extension of the
   * sniffed type. Throws {@link SinkError}; `retryable` says whether a later attempt may succeed.
   */
  async store(source: SinkSource): Promise<StoredObject> {
    const opened = await this.open(source);
    const iterator: AsyncIterator<Buffer> = opened.body[Symbol.asyncIterator]();

    // Wait for enough bytes to recognise the type: the key and content type are fixed when the
    // upload starts.
    const head: Buffer[] = [];
    let headBytes = 0;
    let ended = false;
    try {
      while (headBytes < SNIFF_BYTES) {
        const next = await iterator.next();
        if (next.done) {
          ended = true;
          break;
        }
        head.push(next.value);
        headBytes += next.value.length;
      }
    } catch (error) {
      await iterator.return?.().catch(() => undefined);
      throw this.downloadError(error, opened.label, source.signal);
    }

    if (ended && headBytes === 0) {
      // A zero-byte "image" is never a result; storing it would turn a failure into a success.
      throw new SinkError(`${opened.label} is empty`, { code: 'empty', retryable: opened.inline !== true });
    }
    const headBuffer = Buffer.concat(head);
    const sniffed = sniffContentType(headBuffer);
    const claimed = normalizeContentType(opened.claimedType);
    if (sniffed && claimed && claimed !== sniffed.contentType) {
      this.logger.warn(
        { key: source.key, claimed, sniffed: sniffed.contentType },
        'sink: content type differs from the provider claim; using the sniffed type',
      );
    }
    const contentType = sniffed?.contentType ?? claimed ?? 'application/octet-stream';
    const key = `${source.key}${sniffed?.extension ?? '.bin'}`;

    const meter = new Meter(this.options.maxBytes);
    async function* rest(): AsyncGenerator<Buffer> {
      try {
        if (headBuffer.length > 0) yield headBuffer;
        if (ended) return;
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value;
        }
      } finally {
        // Destroys the download when the upload side gave up first.
        await iterator.return?.();
      }
    }
    const params: ObjectParams = {
      Bucket: this.options.bucket,
      Key: key,
      ContentType: contentType,
      Metadata: encodeMetadata(source.metadata),
    };
    const streamOptions = source.signal ? { signal: source.signal } : {};
    const thumbnailWanted = this.thumbnails !== undefined && THUMBNAIL_SOURCE_TYPES.has(contentType);

    // The thumbnail is made from a temporary file once the upload is done: the original is never
    // held in memory.
    let spool: { path: string; complete: boolean; discard(): Promise<void> } | undefined;
    if (opened.length === undefined) {
      // Size unknown (chunked): spool the whole body to a file first, then upload the file with
      // its size known, so no upload part is ever buffered in memory.
      const path = tempFilePath();
      spool = { path, complete: true, discard: () => rm(path, { force: true }) };
      try {
        await pipeline(rest(), meter, createWriteStream(path, { flags: 'wx' }), streamOptions);
      } catch (error) {
        await spool.discard();
        throw this.downloadError(error, opened.label, source.signal);
      }
      try {
        await uploadKnownLength(this.options.s3, params, createReadStream(path), meter.bytes, {
          pool: this.pool,
          signal: source.signal,
        });
      } catch (error) {
        await spool.discard();
        throw this.uploadError(error, key, opened.label, source.signal);
      }
      if (!thumbnailWanted) await spool.discard();
    } else {
      const file = thumbnailWanted ? new SpoolFile() : undefined;
      spool = file;
      let feedError: unknown;
      const feeding = (
        file ? pipeline(rest(), file, meter, streamOptions) : pipeline(rest(), meter, streamOptions)
      ).catch((error) => {
        feedError = error;
      });
      try {
        await uploadKnownLength(this.options.s3, params, meter, opened.length, {
          pool: this.pool,
          signal: source.signal,
        });
      } catch (error) {
        // The meter carries the download's error (or the size limit) when that side failed first;
        // otherwise S3 failed and stopped reading, so tear the download down for the pipeline to
        // settle. Without an error: a small body may have passed the meter's writable side already,
        // so the pipeline is done and no one listens on the meter any more; an error emitted there
        // would be an uncaught exception that kills the worker.
        const downloadFailure = meter.errored;
        if (!downloadFailure) meter.destroy();
        await feeding;
        await file?.discard();
        if (downloadFailure) throw this.downloadError(downloadFailure, opened.label, source.signal);
        throw this.uploadError(error, key, opened.label, source.signal);
      }
      await feeding;
      if (feedError !== undefined) {
        await file?.discard();
        throw this.downloadError(feedError, opened.label, source.signal);
      }
    }

    const stored: StoredObject = {
      bucket: this.options.bucket,
      key,
      contentType,
      bytes: meter.bytes,
      sha256: meter.sha256(),
    };
    if (thumbnailWanted && spool) {
      const thumbnail = await this.thumbnailOf(spool, source.key, source.signal);
      if (thumbnail) stored.thumbnail = thumbnail;
    }
    this.logger.debug({ key, bytes: stored.bytes, contentType }, 'sink: stored');
    return stored;
  }

  /** Makes and uploads the thumbnail of a spooled image, then deletes the spool file. */
  private async thumbnailOf(
    spool: { path: string; complete: boolean; discard(): Promise<void> },
    baseKey: string,
    signal: AbortSignal | undefined,
  ): Promise<StoredThumbnail | undefined> {
    const key = `${baseKey}${THUMBNAIL_SUFFIX}`;
    try {
      if (!spool.complete) throw new Error('the spool file could not be written');
      const body = await makeThumbnail(spool.path, this.thumbnails!);
      await this.options.s3.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: body,
          ContentType: 'image/webp',
        }),
        { abortSignal: signal },
      );
      return { key, bytes: body.length };
    } catch (error) {
      if (signal?.aborted) throw this.downloadError(error, key, signal);
      this.logger.warn({ key, err: describe(error) }, 'sink: no thumbnail');
      return undefined;
    } finally {
      await spool.discard();
    }
  }

  /**
   * The URL users fetch an object from: `${publicUrl}/${key}` when `publicUrl` is set, else a
   * presigned GET valid `presignTtlSeconds`.
   */
  async objectUrl(bucket: string, key: string): Promise<string> {
    if (this.options.publicUrl) {
      const encodedKey = key.split('/').map(encodeURIComponent).join('/');
      return `${this.options.publicUrl.replace(/\/+$/, '')}/${encodedKey}`;
    }
    this.presigner ??= new ObjectPresigner(this.options.s3, this.options.presignTtlSeconds ?? 86_400);
    return this.presigner.url(bucket, key);
  }

  /** Closes the sink's own download agent (not an injected dispatcher, nor the S3 client). */
  async close(): Promise<void> {
    await this.ownedAgent?.close();
  }

  private async open(source: SinkSource): Promise<OpenedSource> {
    const { url } = source;
    if (/^data:/i.test(url)) return this.openInline(() => parseDataUrl(url), 'data: URL', source);
    if (looksLikeBase64(url)) return this.openInline(() => decodeBase64(url), 'base64 data', source);

    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new SinkError('unsupported source: not a URL, data: URL or base64', {
        code: 'unsupported_source',
        retryable: false,
      });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new SinkError(`unsupported source scheme ${parsed.protocol} (expected http, https or data)`, {
        code: 'unsupported_source',
        retryable: false,
      });
    }
    const label = `${parsed.origin}${parsed.pathname}`;

    let response: Dispatcher.ResponseData;
    try {
      response = await request(parsed, {
        method: 'GET',
        dispatcher: this.dispatcher,
        signal: source.signal,
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
        // Store the bytes the provider produced, not a compressed transfer form of them.
        headers: { 'accept-encoding': 'identity', 'user-agent': 'genqueue-sink' },
      });
    } catch (error) {
      throw this.downloadError(error, label, source.signal);
    }

    const { statusCode, headers, body } = response;
    if (statusCode < 200 || statusCode > 299) {
      await body.dump().catch(() => undefined);
      // A 404 right after a task finished is usually a CDN that has not caught up yet.
      const retryable = statusCode >= 500 || RETRYABLE_4XX.has(statusCode);
      throw new SinkError(`download of ${label} failed: HTTP ${statusCode}`, {
        code: 'http_status',
        retryable,
        status: statusCode,
      });
    }
    const length = Number(headerValue(headers['content-length']));
    if (Number.isFinite(length) && length > this.options.maxBytes) {
      // Hang up without reading: destroy() errors the body, which nobody else listens to.
      body.on('error', () => undefined).destroy();
      throw tooLarge(label, this.options.maxBytes, length);
    }
    return {
      body,
      claimedType: source.contentTypeHint ?? headerValue(headers['content-type']),
      label,
      ...(Number.isSafeInteger(length) && length >= 0 ? { length } : {}),
    };
  }

  private openInline(decode: () => InlineData, label: string, source: SinkSource): OpenedSource {
    let data: InlineData;
    try {
      data = decode();
    } catch (error) {
      const message = error instanceof InvalidInlineDataError ? error.message : describe(error);
      throw new SinkError(`cannot decode ${label}: ${message}`, {
        code: 'invalid_data',
        retryable: false,
        cause: error,
      });
    }
    if (data.bytes > this.options.maxBytes) throw tooLarge(label, this.options.maxBytes, data.bytes);
    return {
      body: Readable.from(data.chunks(), { objectMode: false }),
      claimedType: source.contentTypeHint ?? data.mediaType,
      label,
      inline: true,
      length: data.bytes,
    };
  }

  /** An upload that failed: S3's fault (retryable), unless the caller aborted. */
  private uploadError(error: unknown, key: string, label: string, signal?: AbortSignal): SinkError {
    if (signal?.aborted) return this.downloadError(error, label, signal);
    return new SinkError(`upload of ${key} to bucket ${this.options.bucket} failed: ${describe(error)}`, {
      code: 's3',
      retryable: true,
      cause: error,
    });
  }

  private downloadError(error: unknown, label: string, signal?: AbortSignal): SinkError {
    if (error instanceof SinkError) return error;
    // The guarded dispatcher's refusal (`UnsafeUrlError` of `@genqueue/webhooks`), for the first
    // hop or a redirect: the same URL is refused on every attempt.
    if ((error as { name?: unknown } | undefined)?.name === 'UnsafeUrlError') {
      return new SinkError(`download of ${label} refused: ${(error as Error).message}`, {
        code: 'unsafe_url',
        retryable: false,
        cause: error,
      });
    }
    if (error instanceof TooLargeError) return tooLarge(label, this.options.maxBytes);
    if (signal?.aborted) {
      return new SinkError(`download of ${label} aborted`, {
        code: 'aborted',
        retryable: true,
        cause: error,
      });
    }
    const code = (error as { code?: unknown } | undefined)?.code;
    if (
      code === 'UND_ERR_CONNECT_TIMEOUT' ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT'
    ) {
      return new SinkError(`download of ${label} timed out (${code})`, {
        code: 'timeout',
        retryable: true,
        cause: error,
      });
    }
    return new SinkError(`download of ${label} failed: ${describe(error)}`, {
      code: 'network',
      retryable: true,
      cause: error,
    });
  }
}

function tooLarge(label: string, maxBytes: number, declared?: number): SinkError {
  const size = declared === undefined ? 'is' : `is ${declared} bytes,`;
  return new SinkError(`${label} ${size} larger than the limit of ${maxBytes} bytes`, {
    code: 'too_large',
    retryable: false,
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}

/** S3 metadata travels as HTTP headers: ASCII only, so other values are percent-encoded. */
function encodeMetadata(metadata: Record<string, string>): Record<string, string> {
  const encoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    encoded[name.toLowerCase()] = /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
  }
  return encoded;
}

/** The S3 part of genqueue's configuration (`config.s3`). */
export interface SinkSettings extends S3ClientSettings {
  bucket: string;
  maxObjectBytes: number;
  publicUrl?: string;
  presignTtlSeconds: number;
}

/**
 * A Sink and its S3 client, as the configuration sets them up (API and workers alike).
 * `dispatcher`: what downloads go through; the workers pass the SSRF-guarded one.
 */
export function sinkFromSettings(
  settings: SinkSettings,
  logger?: Logger,
  dispatcher?: Dispatcher,
): { sink: Sink; s3: S3Client } {
  const s3 = createS3Client(settings, logger);
  const sink = new Sink({
    s3,
    bucket: settings.bucket,
    maxBytes: settings.maxObjectBytes,
    publicUrl: settings.publicUrl,
    presignTtlSeconds: settings.presignTtlSeconds,
    logger,
    ...(dispatcher ? { dispatcher } : {}),
  });
  return { sink, s3 };
}
