/**
 * `LiblibClient`: signed calls to the LiblibAI OpenAPI (002).
 *
 * One call = one signed `POST` with a JSON body; the answer is an envelope `{code, msg, data}`.
 * Every failure becomes a core `ProviderError` with a class (see `errors.ts`); invalid input is a
 * `LiblibValidationError`, found before any request leaves. The client never retries: the queue
 * decides what a class means (a retried submission could create a second task).
 */
import { randomUUID } from 'node:crypto';
import { type Logger, ProviderError, parseRetryAfter, silentLogger, type TaskStatus } from '@genqueue/core';
import { Agent, type Dispatcher, request } from 'undici';
import { z } from 'zod';
import { LIBLIB_PROVIDER, LiblibValidationError, liblibCodeError } from './errors.ts';
import { mapImageFields } from './internal/image-fields.ts';
import { resolveImageSource } from './internal/image-source.ts';
import { encodeMultipart } from './internal/multipart.ts';
import {
  LIBLIB_OPERATIONS,
  LIBLIB_STATUS_PATHS,
  LIBLIB_UPLOAD_SIGNATURE_PATH,
  type LiblibOperation,
  liblibStatusPath,
} from './operations.ts';
import { signedQuery, signedQueryString } from './sign.ts';
import { normalizeLiblibStatus } from './status.ts';

/** Timeouts of one HTTP call, in milliseconds. */
export interface LiblibTimeouts {
  /** Establishing the TCP/TLS connection. Default 10 000 ms. Only applies to the client's own Agent. */
  connectMs: number;
  /** From sending the request until the response headers arrive. Default 30 000 ms. */
  headersMs: number;
  /** Maximum gap between two chunks of the response body. Default 30 000 ms. */
  bodyMs: number;
}

/** Default timeouts, in milliseconds. */
export const DEFAULT_LIBLIB_TIMEOUTS: Readonly<LiblibTimeouts> = Object.freeze({
  connectMs: 10_000,
  headersMs: 30_000,
  bodyMs: 30_000,
});

/** Default API host (002 §2.1). */
export const DEFAULT_LIBLIB_BASE_URL = 'https://openapi.liblibai.cloud';

/** Options of {@link LiblibClient}. */
export interface LiblibClientOptions {
  /** API origin, without a trailing slash. Default `https://openapi.liblibai.cloud`. */
  baseUrl?: string;
  /** The account's AccessKey (sent in every query string). */
  accessKey: string;
  /** The account's SecretKey; signs requests, never sent, never logged. */
  secretKey: string;
  /**
   * undici dispatcher for every call (LiblibAI and the OSS upload). Default: an `Agent` of the
   * client's own with keep-alive and `timeouts.connectMs`, closed by `close()`. An injected
   * dispatcher is never closed by the client.
   */
  dispatcher?: Dispatcher;
  /** Clock, milliseconds since the epoch; signs `Timestamp`. Default `Date.now`. */
  now?: () => number;
  /** Source of `SignatureNonce` values. Default: a random UUID without dashes. */
  nonce?: () => string;
  /** Per-call timeouts in milliseconds; see {@link DEFAULT_LIBLIB_TIMEOUTS}. */
  timeouts?: Partial<LiblibTimeouts>;
  /**
   * Whether image inputs may name local files, which are then read and uploaded. Default `false`:
   * a process serving untrusted input (the API's jobs) must keep it off, or callers could make
   * it upload any file it can read.
   */
  allowLocalFiles?: boolean;
  /** pino logger; gets one debug line per call (path, status, duration), never credentials. Default: silent. */
  logger?: Logger;
}

/** Per-call options. */
export interface LiblibCallOptions {
  /** Aborts the call. An aborted submission is reported as ambiguous. */
  signal?: AbortSignal;
}

/** Options of {@link LiblibClient.upload}. */
export interface LiblibUploadOptions extends LiblibCallOptions {
  /** Object name stem (≤ 100 characters; unsafe characters replaced). Default: the file name, or a content hash. */
  name?: string;
}

/** A model version, as `/api/model/version/get` describes it (002 §4.1.2). */
export interface LiblibModelVersion {
  versionUuid?: string;
  modelName?: string;
  versionName?: string;
  /** e.g. `基础算法 XL` (base algorithm XL). */
  baseAlgo?: string;
  /** `"1"`: publicly available. */
  showType?: string;
  /** `true` when `commercial_use` is `1`. */
  commercialUse?: boolean;
  modelUrl?: string;
  /** The provider's answer as received. */
  raw: Record<string, unknown>;
}

const str = z.union([z.string(), z.number()]).transform(String);

/**
 * The upload signature (`data` of `/api/generate/upload/signature`). Servers spell the OSS fields
 * `xOssDate…` or `xossDate…`, and send `xossExpires` as a number or a string: both are accepted.
 */
const uploadSignatureSchema = z
  .object({
    key: z.string().min(1),
    policy: z.string().min(1),
    postUrl: z.string().regex(/^https?:\/\//i, 'must be an http(s) URL'),
    xOssDate: str.optional(),
    xossDate: str.optional(),
    xOssExpires: str.optional(),
    xossExpires: str.optional(),
    xOssSignature: str.optional(),
    xossSignature: str.optional(),
    xOssCredential: str.optional(),
    xossCredential: str.optional(),
    xOssSignatureVersion: str.optional(),
    xossSignatureVersion: str.optional(),
  })
  .passthrough()
  .transform((d, ctx) => {
    const pick = (name: string, a: string | undefined, b: string | undefined) => {
      const value = a ?? b;
      if (value === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'missing' });
      return value ?? '';
    };
    return {
      key: d.key,
      policy: d.policy,
      postUrl: d.postUrl,
      date: pick('xOssDate', d.xOssDate, d.xossDate),
      expires: pick('xOssExpires', d.xOssExpires, d.xossExpires),
      signature: pick('xOssSignature', d.xOssSignature, d.xossSignature),
      credential: pick('xOssCredential', d.xOssCredential, d.xossCredential),
      signatureVersion: pick('xOssSignatureVersion', d.xOssSignatureVersion, d.xossSignatureVersion),
    };
  });

/** Connection-level codes that mean the request never reached the server. */
const NOT_SENT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_DESTROYED',
  'UND_ERR_CLOSED',
]);

/** Signed client for the LiblibAI OpenAPI. One instance per account; reuse it (keep-alive). */
export class LiblibClient {
  readonly baseUrl: string;
  readonly #accessKey: string;
  readonly #secretKey: string;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #now: () => number;
  readonly #nonce: () => string;
  readonly #timeouts: LiblibTimeouts;
  readonly #allowLocalFiles: boolean;
  readonly #logger: Logger;
  #closed = false;

  constructor(options: LiblibClientOptions) {
    if (!options.accessKey || !options.secretKey)
      throw new TypeError('LiblibClient needs accessKey and secretKey');
    this.baseUrl = (options.baseUrl ?? DEFAULT_LIBLIB_BASE_URL).replace(/\/+$/, '');
    this.#accessKey = options.accessKey;
    this.#secretKey = options.secretKey;
    this.#timeouts = { ...DEFAULT_LIBLIB_TIMEOUTS, ...options.timeouts };
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ??
      new Agent({
        connect: { timeout: this.#timeouts.connectMs },
        keepAliveTimeout: 10_000,
        headersTimeout: this.#timeouts.headersMs,
        bodyTimeout: this.#timeouts.bodyMs,
      });
    this.#now = options.now ?? Date.now;
    this.#nonce = options.nonce ?? (() => randomUUID().replaceAll('-', ''));
    this.#allowLocalFiles = options.allowLocalFiles ?? false;
    this.#logger = options.logger ?? silentLogger();
  }

  /**
   * Validates `input` with the operation's schema, uploads image inputs that are not http(s) URLs,
   * and submits the task. Throws `LiblibValidationError` for an unknown operation or invalid input
   * (nothing is sent), and `ProviderError` for everything the provider or the network did.
   */
  async submit(
    operation: string,
    input: unknown,
    opts: LiblibCallOptions = {},
  ): Promise<{ generateUuid: string; statusPath: string }> {
    const op = this.#operation(operation);
    if (op.statusPath === undefined) {
      throw new LiblibValidationError(operation, [
        { path: '', message: `${operation} is not a generation; use modelVersion()` },
      ]);
    }
    const prepared = await this.prepare(operation, input, opts);
    const statusPath = liblibStatusPath(op, prepared) ?? op.statusPath;
    // `statusEndpoint` is ours (the unlisted-template escape hatch), not a provider parameter.
    const { templateUuid, statusEndpoint: _ours, ...generateParams } = prepared;

    const data = await this.#call(
      op.path,
      { templateUuid: (templateUuid as string | undefined) ?? op.templateUuid, generateParams },
      { submission: true, signal: opts.signal },
    );
    const generateUuid = (data as { generateUuid?: unknown } | null)?.generateUuid;
    if (typeof generateUuid !== 'string' || generateUuid === '') {
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        errorClass: 'transient',
        message: `POST ${op.path} answered code 0 without a generateUuid`,
        // The provider said yes: a task may exist that we cannot name.
        ambiguous: true,
      });
    }
    return { generateUuid, statusPath };
  }

  /**
   * Validates `input` and uploads its image inputs that are not http(s) URLs, returning the input
   * with their public URLs. `submit` does this itself; calling it first lets a caller do the slow
   * part before it takes a submission slot, so the submission is one quick request. Idempotent:
   * a prepared input passes through unchanged.
   */
  async prepare(
    operation: string,
    input: unknown,
    opts: LiblibCallOptions = {},
  ): Promise<Record<string, unknown>> {
    const op = this.#operation(operation);
    const parsed = op.schema.safeParse(input);
    if (!parsed.success) throw LiblibValidationError.fromZod(operation, parsed.error);
    return mapImageFields(parsed.data, op.imageFields, (value) => this.upload(value, opts));
  }

  /**
   * Reads a task's status from the operation's status endpoint and normalizes it (see
   * `normalizeLiblibStatus`). Throws `ProviderError`; `LiblibValidationError` for an unknown operation.
   */
  async status(
    operation: string,
    generateUuid: string,
    opts: LiblibCallOptions & {
      /** The status endpoint `submit` answered, when the template has its own; default the operation's. */
      statusPath?: string;
    } = {},
  ): Promise<TaskStatus> {
    const op = this.#operation(operation);
    if (op.statusPath === undefined) {
      throw new LiblibValidationError(operation, [{ path: '', message: `${operation} has no status` }]);
    }
    if (!generateUuid)
      throw new LiblibValidationError(operation, [{ path: 'generateUuid', message: 'required' }]);
    const statusPath =
      opts.statusPath !== undefined && Object.values(LIBLIB_STATUS_PATHS).includes(opts.statusPath as never)
        ? opts.statusPath
        : op.statusPath;
    const data = await this.#call(statusPath, { generateUuid }, { submission: false, signal: opts.signal });
    return normalizeLiblibStatus(data);
  }

  /**
   * Makes an image available to LiblibAI and returns its public URL. http(s) URLs come back
   * untouched. `data:` URLs, bare base64, raw bytes and (only with `allowLocalFiles`) local paths
   * are uploaded: a signed `POST /api/generate/upload/signature` with `{name, extension}`, then an
   * OSS PostObject to `postUrl` with `file` last; the URL is `postUrl + "/" + key`.
   * PNG and JPEG up to 10 MB. Throws `ProviderError` (`invalid_job` for unusable images).
   */
  async upload(source: string | Buffer, opts: LiblibUploadOptions = {}): Promise<string> {
    const resolved = await resolveImageSource(source, {
      allowLocalFiles: this.#allowLocalFiles,
      name: opts.name,
    });
    if (resolved.kind === 'url') return resolved.url;

    const data = await this.#call(
      LIBLIB_UPLOAD_SIGNATURE_PATH,
      { name: resolved.name, extension: resolved.extension },
      { submission: false, signal: opts.signal },
    );
    const parsed = uploadSignatureSchema.safeParse(data);
    if (!parsed.success) {
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        errorClass: 'transient',
        message: `malformed upload signature: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      });
    }
    const sig = parsed.data;
    const { body, contentType } = encodeMultipart(
      [
        ['key', sig.key],
        ['policy', sig.policy],
        ['x-oss-date', sig.date],
        ['x-oss-expires', sig.expires],
        ['x-oss-signature', sig.signature],
        ['x-oss-credential', sig.credential],
        ['x-oss-signature-version', sig.signatureVersion],
      ],
      {
        filename: `${resolved.name}.${resolved.extension}`,
        contentType: resolved.extension === 'png' ? 'image/png' : 'image/jpeg',
        bytes: resolved.bytes,
      },
    );
    const what = 'upload to OSS';
    const started = this.#now();
    let response: Dispatcher.ResponseData;
    let text: string;
    try {
      // POST to postUrl exactly as given; only the public URL is normalized below.
      response = await request(sig.postUrl, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
        dispatcher: this.#dispatcher,
        headersTimeout: this.#timeouts.headersMs,
        bodyTimeout: this.#timeouts.bodyMs,
        signal: opts.signal,
      });
      text = await response.body.text();
    } catch (error) {
      throw this.#networkError(what, error, false);
    }
    this.#logger.debug({
      provider: LIBLIB_PROVIDER,
      call: what,
      status: response.statusCode,
      ms: this.#now() - started,
    });
    if (response.statusCode < 200 || response.statusCode > 299) {
      const ossCode = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        // Too large is the image's fault; anything else (expired policy, OSS hiccup) is fixed by a
        // fresh signature on the next attempt.
        errorClass: response.statusCode === 413 || ossCode === 'EntityTooLarge' ? 'invalid_job' : 'transient',
        status: response.statusCode,
        code: ossCode,
        message: `${what} failed with HTTP ${response.statusCode}${ossCode ? ` (${ossCode})` : ''}`,
      });
    }
    return `${sig.postUrl.replace(/\/+$/, '')}/${sig.key.replace(/^\/+/, '')}`;
  }

  /** Looks up a model version by its `versionUuid` (002 §4.1.1). Not a generation; no task. */
  async modelVersion(versionUuid: string, opts: LiblibCallOptions = {}): Promise<LiblibModelVersion> {
    const op = this.#operation('model.version');
    const parsed = op.schema.safeParse({ versionUuid });
    if (!parsed.success) throw LiblibValidationError.fromZod('model.version', parsed.error);
    const data = await this.#call(op.path, { versionUuid }, { submission: false, signal: opts.signal });
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        errorClass: 'transient',
        message: `POST ${op.path} answered without a model version`,
      });
    }
    const raw = data as Record<string, unknown>;
    const text = (...keys: string[]) => {
      for (const key of keys) {
        const value = raw[key];
        if (typeof value === 'string' || typeof value === 'number') return String(value);
      }
      return undefined;
    };
    const commercial = text('commercial_use', 'commercialUse');
    return {
      versionUuid: text('version_uuid', 'versionUuid'),
      modelName: text('model_name', 'modelName'),
      versionName: text('version_name', 'versionName'),
      baseAlgo: text('baseAlgo', 'base_algo'),
      showType: text('show_type', 'showType'),
      commercialUse: commercial === undefined ? undefined : commercial === '1' || commercial === 'true',
      modelUrl: text('model_url', 'modelUrl'),
      raw,
    };
  }

  /** Closes the client's own Agent (an injected dispatcher is left open). Idempotent. */
  async close(): Promise<void> {
    if (!this.#ownsDispatcher || this.#closed) return;
    this.#closed = true;
    await this.#dispatcher.close();
  }

  #operation(name: string): LiblibOperation {
    const op = Object.hasOwn(LIBLIB_OPERATIONS, name) ? LIBLIB_OPERATIONS[name] : undefined;
    if (!op) {
      throw new LiblibValidationError(name, [
        { path: '', message: `unknown operation; one of ${Object.keys(LIBLIB_OPERATIONS).join(', ')}` },
      ]);
    }
    return op;
  }

  /**
   * One signed call. Returns the envelope's `data` (or the whole body when it has no envelope, as
   * the model-version example shows). `submission` marks calls that create a task, whose
   * failures after sending are reported as ambiguous.
   */
  async #call(
    path: string,
    body: unknown,
    options: { submission: boolean; signal?: AbortSignal },
  ): Promise<unknown> {
    const what = `POST ${path}`;
    const query = signedQuery({
      accessKey: this.#accessKey,
      secretKey: this.#secretKey,
      uri: path,
      timestamp: this.#now(),
      nonce: this.#nonce(),
    });
    const url = `${this.baseUrl}${path}?${signedQueryString(query)}`;
    const started = this.#now();
    let response: Dispatcher.ResponseData;
    let text: string;
    try {
      response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        dispatcher: this.#dispatcher,
        headersTimeout: this.#timeouts.headersMs,
        bodyTimeout: this.#timeouts.bodyMs,
        signal: options.signal,
      });
      text = await response.body.text();
    } catch (error) {
      throw this.#networkError(what, error, options.submission);
    }
    const status = response.statusCode;
    this.#logger.debug({ provider: LIBLIB_PROVIDER, call: what, status, ms: this.#now() - started });

    let json: unknown;
    let parsedJson = true;
    try {
      json = JSON.parse(text);
    } catch {
      parsedJson = false;
    }
    const envelope =
      parsedJson && json !== null && typeof json === 'object' && !Array.isArray(json) ? json : undefined;
    const envelopeCode = envelope ? toCode((envelope as { code?: unknown }).code) : undefined;
    const providerMessage = envelope
      ? this.#scrub((envelope as { msg?: unknown }).msg, query.Signature)
      : undefined;
    const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']), this.#now());

    if (status < 200 || status > 299) {
      const bodyCode = envelopeCode !== undefined && envelopeCode !== 0 ? envelopeCode : undefined;
      throw liblibCodeError({
        code: bodyCode ?? status,
        fromHttpStatus: bodyCode === undefined,
        httpStatus: status,
        providerMessage,
        what,
        retryAfterMs,
        // A gateway 5xx without LiblibAI's envelope may hide a task that was created.
        ambiguous: options.submission && status >= 500 && bodyCode === undefined,
      });
    }
    if (!parsedJson || envelope === undefined) {
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        errorClass: 'transient',
        status,
        message: `${what} answered HTTP ${status} with a body that is not a JSON object`,
        ambiguous: options.submission,
      });
    }
    const hasCode = Object.hasOwn(envelope, 'code');
    if (hasCode && envelopeCode === undefined) {
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        errorClass: 'transient',
        status,
        message: `${what} answered a non-numeric code`,
        ambiguous: options.submission,
      });
    }
    if (envelopeCode !== undefined && envelopeCode !== 0) {
      throw liblibCodeError({
        code: envelopeCode,
        fromHttpStatus: false,
        httpStatus: status,
        providerMessage,
        what,
        retryAfterMs,
      });
    }
    return hasCode ? (envelope as { data?: unknown }).data : envelope;
  }

  #networkError(what: string, error: unknown, submission: boolean): ProviderError {
    const code = (error as { code?: unknown } | null)?.code;
    const name = (error as { name?: unknown } | null)?.name;
    const notSent = typeof code === 'string' && NOT_SENT_CODES.has(code);
    let reason: string;
    if (name === 'AbortError' || code === 'UND_ERR_ABORTED') reason = 'was aborted';
    else if (code === 'UND_ERR_CONNECT_TIMEOUT')
      reason = `could not connect within ${this.#timeouts.connectMs} ms`;
    else if (code === 'UND_ERR_HEADERS_TIMEOUT')
      reason = `got no response headers within ${this.#timeouts.headersMs} ms`;
    else if (code === 'UND_ERR_BODY_TIMEOUT')
      reason = `stalled reading the response body for ${this.#timeouts.bodyMs} ms`;
    else reason = `failed: ${typeof code === 'string' ? code : 'network error'}`;
    return new ProviderError({
      provider: LIBLIB_PROVIDER,
      errorClass: 'transient',
      message: `${what} ${reason}`,
      // A reset or timeout after the request left may hide a created task (counted as a possible duplicate).
      ambiguous: submission && !notSent,
      cause: error,
    });
  }

  /** Provider messages are echoed into errors: strip anything secret, bound the length. */
  #scrub(message: unknown, signature: string): string | undefined {
    if (typeof message !== 'string' || message.trim() === '') return undefined;
    let out = message.trim().slice(0, 500);
    for (const secret of [this.#secretKey, signature]) {
      if (secret) out = out.split(secret).join('[redacted]');
    }
    return out;
  }
}

function toCode(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
