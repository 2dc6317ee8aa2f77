/**
 * `startApi`: the API process assembled from configuration, runnable in-process by `main.ts`, the
 * demo, `npm start` and tests. Every outside part can be injected; what isn't is built from config.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { type Config, hasCredentials, tenantWeights } from '@genqueue/config';
import {
  createLogger,
  createRedis,
  FairShare,
  JobLifecycle,
  JobStore,
  type Logger,
  type ObjectUrlFn,
  type Provider,
  type ProviderOperations,
  QueueSet,
  type RedisClient,
  watchConnection,
} from '@genqueue/core';
import { createAdapter, descriptorOf, isProviderName } from '@genqueue/providers';
import { createApp } from './app.ts';
import type { ApiDeps, ReadObjectFn } from './deps.ts';
import { type ApiErrorCode, scrubSecrets, UnavailableError } from './http-error.ts';

/**
 * How long the first byte of a stored object may take, in milliseconds: past it S3 counts as down
 * and the gallery answers 503. The body then streams for as long as it takes.
 */
const S3_READ_FIRST_BYTE_MS = 2_000;
/**
 * The API's Redis liveness probe: a PING every 500 ms, down when one has no answer after 1 s. A
 * stopped or partitioned Redis keeps the connection open and ioredis `ready`; the probe is what
 * lets new requests get 503 at once.
 */
const REDIS_PROBE = { intervalMs: 500, timeoutMs: 1_000 };
/**
 * The longest the API waits for one Redis command, in milliseconds, so a request that was already
 * waiting when Redis hung answers 503 within 2 s. The heaviest legitimate command, measured during
 * the intake of a 50,000-prompt batch (a 1,000-item pipeline's commands, the outbox's scripts),
 * came back within 276-503 ms at load 2-3 on 2 cores.
 */
const REDIS_COMMAND_TIMEOUT_MS = 1_500;
/** Time limit of the `/readyz` S3 check, in milliseconds (the probe answers within 1 s). */
const S3_READY_TIMEOUT_MS = 900;

/** What `startApi` builds itself unless given. */
export interface StartApiOverrides {
  /** Interface to listen on. Default: all interfaces. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default `config.port`. */
  port?: number;
  /** Default: a pino logger at `config.logLevel`. */
  logger?: Logger;
  /** A Redis connection to use (with `maxRetriesPerRequest: null`); not closed by `close()`. */
  redis?: RedisClient;
  /** The providers jobs may name. Default: the catalog's descriptors of `config.enabledProviders`. */
  providers?: ReadonlyMap<string, ProviderOperations>;
  /** Default: the enabled providers' own lookups, where this process has their credentials. */
  modelLookup?: ApiDeps['modelLookup'];
  /** Default: the sink's `objectUrl` (public URL or presigned). */
  objectUrl?: ObjectUrlFn;
  /** Default: `checkUrl` from `@genqueue/webhooks` with `config.webhooks.allowPrivate`. */
  checkUrl?: (url: string) => Promise<void>;
  /** Default: a `HeadBucket` on `config.s3.bucket`. */
  s3Ready?: () => Promise<void>;
  /** Default: a `GetObject` through the sink's S3 client. */
  readObject?: ReadObjectFn;
  now?: () => number;
  /** Where a generated token is announced, once. Default: a line on stderr (not through the logger). */
  announceToken?: (token: string) => void;
  /** Time allowed to in-flight requests on `close()`, in milliseconds. Default `config.worker.shutdownGraceMs`. */
  closeGraceMs?: number;
}

/** A running API. */
export interface ApiHandle {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** The token generated because neither `API_TOKENS` nor `API_KEYS` was set; undefined otherwise. */
  generatedToken?: string;
  /** The tokens the API accepts. */
  tokens: readonly string[];
  /** Stops accepting connections, lets requests in flight finish (up to the grace time), then closes queues and Redis. */
  close(): Promise<void>;
}

/** Starts the API: connects Redis, builds the queues and the app, listens. */
export async function startApi(config: Config, overrides: StartApiOverrides = {}): Promise<ApiHandle> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, name: 'api' });
  const cleanups: (() => Promise<unknown>)[] = [];

  let generatedToken: string | undefined;
  if (config.apiTokens.length === 0 && config.apiKeys.length === 0) {
    // Never open: a fresh token each start, shown once to whoever started the process.
    generatedToken = `gq_${randomBytes(24).toString('base64url')}`;
    (overrides.announceToken ?? announceOnStderr)(generatedToken);
    config = Object.freeze({ ...config, apiTokens: [generatedToken] });
  }

  try {
    // A command retries once after a broken connection, then fails, and fails after
    // REDIS_COMMAND_TIMEOUT_MS when no answer comes: the API answers 503 rather than hold the
    // client until Redis is back (workers wait for ever instead). The queues' commands (Queue.add
    // and the rest) go through this same connection: BullMQ duplicates only for blocking commands,
    // which queues never send.
    const redis =
      overrides.redis ??
      createRedis(config.redis, { maxRetriesPerRequest: 1, commandTimeout: REDIS_COMMAND_TIMEOUT_MS });
    if (!overrides.redis) cleanups.unshift(() => redis.quit().catch(() => redis.disconnect()));
    const redisWatch = watchConnection(redis, { logger, probe: REDIS_PROBE });
    cleanups.unshift(async () => redisWatch.stop());

    // Jobs are validated from the catalog: the API builds no provider client and needs no
    // provider credential (workers hold those).
    const providers: ReadonlyMap<string, ProviderOperations> =
      overrides.providers ??
      new Map(config.enabledProviders.map((name) => [name, descriptorOf(name)] as const));
    // Model lookups are the one call the API makes to a provider: an adapter is built for them, on
    // the first lookup, only where this process has the provider's credentials.
    const lookupAdapters = new Map<string, Provider>();
    cleanups.unshift(() => Promise.all([...lookupAdapters.values()].map((p) => p.close?.())));
    const modelLookup =
      overrides.modelLookup ??
      ((name: string) => {
        const descriptor = isProviderName(name) ? descriptorOf(name) : undefined;
        // The first configured account that has credentials (`default` in the single-account form):
        // a lookup is no task.
        const account = descriptor && config.accounts[descriptor.name].find(hasCredentials);
        if (!descriptor || !account) return undefined;
        let adapter = lookupAdapters.get(name);
        if (!adapter) {
          adapter = createAdapter(descriptor, account, { logger });
          lookupAdapters.set(name, adapter);
        }
        return adapter.lookupModel?.bind(adapter);
      });

    let objectUrl = overrides.objectUrl;
    let s3Ready = overrides.s3Ready;
    let readObject = overrides.readObject;
    if (!objectUrl || !s3Ready || !readObject) {
      const { sinkFromSettings } = await import('@genqueue/sink');
      const { GetObjectCommand, HeadBucketCommand } = await import('@aws-sdk/client-s3');
      const { sink, s3 } = sinkFromSettings(config.s3, logger);
      cleanups.unshift(async () => {
        await sink.close();
        s3.destroy();
      });
      objectUrl ??= (bucket, key) => sink.objectUrl(bucket, key);
      readObject ??= async (bucket, key) => {
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), S3_READ_FIRST_BYTE_MS);
        try {
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
            abortSignal: abort.signal,
          });
          return {
            body: object.Body as Readable,
            contentType: object.ContentType,
            contentLength: object.ContentLength,
          };
        } catch (error) {
          const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
          if (e.name === 'NoSuchKey') return undefined;
          const status = e.$metadata?.httpStatusCode;
          // No answer at all (refused, reset, timed out) or a 5xx: S3 is down, not the request wrong.
          if (status === undefined || status >= 500) {
            logger.warn({ err: scrubSecrets(String((error as Error).message)) }, 's3: read failed');
            throw new UnavailableError('S3 is unreachable; try again shortly');
          }
          throw error;
        } finally {
          clearTimeout(timer);
        }
      };
      s3Ready ??= async () => {
        await s3.send(new HeadBucketCommand({ Bucket: config.s3.bucket }), {
          abortSignal: AbortSignal.timeout(S3_READY_TIMEOUT_MS),
        });
      };
    }

    let checkUrl = overrides.checkUrl;
    if (!checkUrl) {
      const webhooks = await import('@genqueue/webhooks');
      const allowPrivate = config.webhooks.allowPrivate;
      checkUrl = (url) => webhooks.checkUrl(url, { allowPrivate });
    }

    const queues = QueueSet.fromConfig(config, redis, [...providers.keys()]);
    cleanups.unshift(() => queues.close());

    const store = new JobStore({
      redis,
      prefix: config.queuePrefix,
      retentionSeconds: config.jobRetentionSeconds,
      now: overrides.now,
    });
    const deps: ApiDeps = {
      config,
      store,
      queues,
      redis,
      lifecycle: new JobLifecycle({
        store,
        queues,
        logger,
        fairShare: new FairShare({ redis, prefix: config.queuePrefix, ...tenantWeights(config.tenants) }),
      }),
      providers,
      modelLookup,
      objectUrl,
      checkUrl,
      s3Ready,
      readObject,
      redisReady: async () => {
        if (!redisWatch.up()) throw new Error(`connection ${redis.status}`);
        await redis.ping();
      },
      redisUp: () => redisWatch.up(),
      logger,
      now: overrides.now,
    };
    const app = createApp(deps);

    const server = createServer(app);
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(error, socket, logger),
    );
    // Responses in flight when closing starts are told to close their connection, so keep-alive
    // sockets don't hold `close()` open until their idle timeout.
    let stopping = false;
    const active = new Set<ServerResponse>();
    server.on('request', (_req, res: ServerResponse) => {
      if (stopping) res.setHeader('Connection', 'close');
      active.add(res);
      res.on('close', () => active.delete(res));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
      server.listen({ port: overrides.port ?? config.port, host: overrides.host });
    });
    const address = server.address() as AddressInfo;
    const host =
      !overrides.host || address.address === '::' || address.address === '0.0.0.0'
        ? '127.0.0.1'
        : address.address;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    logger.info({ url, providers: [...providers.keys()] }, 'api:listening');

    const graceMs = overrides.closeGraceMs ?? config.worker.shutdownGraceMs;
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        stopping = true;
        for (const res of active) if (!res.headersSent) res.setHeader('Connection', 'close');
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
        await runCleanups(cleanups, logger);
        logger.info('api:closed');
      })();
      return closing;
    };
    return { url, generatedToken, tokens: config.apiTokens, close };
  } catch (error) {
    await runCleanups(cleanups, logger);
    throw error;
  }
}

async function runCleanups(cleanups: (() => Promise<unknown>)[], logger: Logger): Promise<void> {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'cleanup failed');
    }
  }
}

/**
 * Requests node's HTTP parser refuses before express sees them (headers over 16 KiB, a malformed
 * request line or chunk): node's default answer is a bare status line with no body, so clients
 * got a 400 or 431 without the `{ error: { code, message } }` every other refusal carries.
 * Same statuses as node's default, as JSON, and the connection is closed (its framing is lost).
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  logger.debug({ code: error.code }, 'malformed request refused by the HTTP parser');
  // As node's default handler: nothing more to say when a response is already under way here.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message]: [number, string, ApiErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'request headers are too large']
      : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? [413, 'Payload Too Large', 'payload_too_large', 'chunk extensions are too large']
        : error.code === 'HPE_INVALID_URL'
          ? [
              400,
              'Bad Request',
              'bad_request',
              'malformed request URL: percent-encode every byte outside printable ASCII',
            ]
          : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  // Destroyed once the answer is flushed: the server allows half-open sockets, so `end()` alone
  // would leave this one open for as long as the client keeps its side open.
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

function announceOnStderr(token: string): void {
  process.stderr.write(
    `genqueue api: API_TOKENS is empty; generated a token for this run:\n\n  ${token}\n\nSet API_TOKENS to keep one across restarts.\n`,
  );
}
