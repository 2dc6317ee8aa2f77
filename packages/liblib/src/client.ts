/**
 * `LiblibClient`: signed calls to the LiblibAI OpenAPI (002).
 *
 * One call = one signed `POST` with a JSON body; the answer is an envelope `{code, msg, data}`.
 * Every failure becomes a core `ProviderError` with a class (see `errors.ts`); invalid input is a
 * `LiblibValidationError`, found before any request leaves. The client never retries: the queue
 * decides what a class means (a retried submission could create a second task).
 */
import { randomUUID } from 'node:crypto';
import { type Logger, ProviderError, parseRetryAfter, type TaskStatus } from '@genqueue/model';
import { createHttpClient, type HttpClient, type HttpTimeouts, header } from '@genqueue/provider-http';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { LIBLIB_PROVIDER, LiblibValidationError, liblibCodeError } from './errors.ts';
import { mapImageFields } from './internal/image-fields.ts';
import { resolveImageSource, UPLOAD_CONTENT_TYPES } from './internal/image-source.ts';
import { encodeMultipart } from './internal/multipart.ts';
import {
  LIBLIB_OPERATIONS,
  LIBLIB_STATUS_PATHS,
  LIBLIB_UPLOAD_SIGNATURE_PATH,
  type LiblibImageLimit,
  type LiblibOperation,
  liblibStatusPath,
} from './operations.ts';
import { signedQuery, signedQueryString } from './sign.ts';
import { normalizeLiblibStatus } from './status.ts';

/** Default deadline of one call (headers and body), in milliseconds. */
export const DEFAULT_LIBLIB_REQUEST_MS = 30_000;

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
   * undici dispatcher for every call (LiblibAI and the OSS upload). Default: the shared HTTP
   * client's own keep-alive agent, closed by `close()`. An injected dispatcher is never closed by
   * the client.
   */
  dispatcher?: Dispatcher;
  /** Clock, milliseconds since the epoch; signs `Timestamp`. Default `Date.now`. */
  now?: () => number;
  /** Source of `SignatureNonce` values. Default: a random UUID without dashes. */
  nonce?: () => string;
  /** Connect and per-call timeouts; the call deadline defaults to {@link DEFAULT_LIBLIB_REQUEST_MS}. */
  timeouts?: HttpTimeouts;
  /** pino logger; gets one debug line per call (path, status, duration), never credentials. Default: silent. */
  logger?: Logger;
}

/** Per-call options. */
export interface LiblibCallOptions {
  /** Aborts the call with a `CallAbortedError` (ambiguous for a submission that may have left). */
  signal?: AbortSignal;
}

/** Options of {@link LiblibClient.upload}. */
export interface LiblibUploadOptions extends LiblibCallOptions {
  /** Object name stem (≤ 100 characters; unsafe characters replaced). Default: the file name, or a content hash. */
  name?: string;
  /** The field's own size and format bounds, tighter than the upload API's. Default: none. */
  limit?: LiblibImageLimit;
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

/** Signed client for the LiblibAI OpenAPI. One instance per account; reuse it (keep-alive). */
export class LiblibClient {
  readonly baseUrl: string;
  readonly #accessKey: string;
  readonly #secretKey: string;
  readonly #http: HttpClient;
  readonly #now: () => number;
  readonly #nonce: () => string;

  constructor(options: LiblibClientOptions) {
    if (!options.accessKey || !options.secretKey)
      throw new TypeError('LiblibClient needs accessKey and secretKey');
    this.baseUrl = (options.baseUrl ?? DEFAULT_LIBLIB_BASE_URL).replace(/\/+$/, '');
    this.#accessKey = options.accessKey;
    this.#secretKey = options.secretKey;
    this.#now = options.now ?? Date.now;
    this.#http = createHttpClient({
      provider: LIBLIB_PROVIDER,
      baseUrl: this.baseUrl,
      dispatcher: options.dispatcher,
      timeouts: options.timeouts,
      defaultRequestMs: DEFAULT_LIBLIB_REQUEST_MS,
      now: this.#now,
      logger: options.logger,
    });
    this.#nonce = options.nonce ?? (() => randomUUID().replaceAll('-', ''));
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
    return mapImageFields(parsed.data, op.imageFields, (value, path) => {
      const limit = op.imageLimits?.[path];
      return this.upload(value, limit ? { ...opts, limit } : opts);
    });
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
   * untouched. `data:` URLs, bare base64 and raw bytes are uploaded (a local path is refused, never
   * read): a signed `POST /api/generate/upload/signature` with `{name, extension}`, then an OSS
   * PostObject to `postUrl` with `file` last; the URL is `postUrl + "/" + key`.
   * PNG, JPEG and WebP up to 10 MB. Throws `ProviderError` (`invalid_job` for unusable images).
   */
  async upload(source: string | Buffer, opts: LiblibUploadOptions = {}): Promise<string> {
    const resolved = await resolveImageSource(source, {
      name: opts.name,
      ...(opts.limit ? { limit: opts.limit } : {}),
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
        contentType: UPLOAD_CONTENT_TYPES[resolved.extension],
        bytes: resolved.bytes,
      },
    );
    const what = 'upload to OSS';
    // POST to postUrl exactly as given; only the public URL is normalized below.
    const response = await this.#http.send({
      method: 'POST',
      path: '(upload to OSS)',
      url: sig.postUrl,
      body,
      headers: { 'content-type': contentType },
      signal: opts.signal,
      mayCreate: false,
    });
    const text = response.text;
    if (response.status < 200 || response.status > 299) {
      const ossCode = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        // Too large is the image's fault; anything else (expired policy, OSS hiccup) is fixed by a
        // fresh signature on the next attempt.
        errorClass: response.status === 413 || ossCode === 'EntityTooLarge' ? 'invalid_job' : 'transient',
        status: response.status,
        code: ossCode,
        message: `${what} failed with HTTP ${response.status}${ossCode ? ` (${ossCode})` : ''}`,
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

  /** Closes the client's own agent (an injected dispatcher is left open). Idempotent. */
  close(): Promise<void> {
    return this.#http.close();
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
    const response = await this.#http.send({
      method: 'POST',
      path,
      // The signature travels in the query string, which is never logged.
      query: signedQueryString(query),
      json: body,
      signal: options.signal,
      mayCreate: options.submission,
    });
    const { status, text } = response;

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
    const retryAfterMs = parseRetryAfter(header(response.headers, 'retry-after'), this.#now());

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
