/**
 * Embedded infrastructure for the demo, the benchmark and the tests: a Redis (the configured one
 * if it answers, else a private `redis-server` child) and an in-process s3rver.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';

/** The part of s3rver's API we use (the package ships no types). */
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
  vhostBuckets: boolean;
}) => { run(): Promise<AddressInfo>; close(): Promise<void>; httpServer?: Server };

// s3rver is CommonJS without type declarations.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** Answers whether a Redis answers PING at `url` within a second. */
export function redisAnswers(url: string): Promise<boolean> {
  return answersPing(
    new Redis(url, {
      lazyConnect: true,
      connectTimeout: 1_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    }),
  );
}

/** What `answersPing` needs of a client: a single-node `Redis` and a `Cluster` both fit. */
interface PingableClient {
  on(event: 'error', listener: (error: Error) => void): unknown;
  connect(): Promise<unknown>;
  ping(): Promise<string>;
  disconnect(): void;
}

/**
 * Connects a lazily connecting client made with no retries (`lazyConnect`, `retryStrategy: () =>
 * null`), answers whether it answers PING, and disconnects it whatever happened.
 */
export async function answersPing(redis: PingableClient): Promise<boolean> {
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface EmbeddedRedis {
  url: string;
  /** Set when we started a private redis-server. */
  child?: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The Redis at `url` if it answers; otherwise a private `redis-server` on a free port, if the
 * binary exists; otherwise an error that says how to get one.
 */
export async function ensureRedis(url: string): Promise<EmbeddedRedis> {
  if (await redisAnswers(url)) return { url, stop: async () => undefined };
  let binary: string;
  try {
    binary = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    binary = '';
  }
  if (!binary) {
    throw new Error(
      `No Redis answers at ${url}, and redis-server is not installed.\n` +
        '  Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),\n' +
        '  or point REDIS_URL at a running Redis 6.2+.',
    );
  }
  const port = await freePort();
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    // Its own process group, so a Ctrl-C meant for the demo leaves it up until the demo has
    // cleaned up (the exit handler below stops it).
    { stdio: 'ignore', detached: true },
  );
  // However this process ends, the private Redis ends with it.
  process.once('exit', () => child.kill('SIGTERM'));
  const privateUrl = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await redisAnswers(privateUrl)); i++)
    await new Promise((r) => setTimeout(r, 100));
  if (!(await redisAnswers(privateUrl))) {
    child.kill();
    throw new Error(`started redis-server on port ${port}, but it does not answer`);
  }
  return {
    url: privateUrl,
    child,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

/** s3rver's fixed credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** A running s3rver: stop it, and start it again on the same port and folder. */
export interface S3rverProcess {
  endpoint: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An in-process s3rver on 127.0.0.1 (`port` 0 picks one) storing under `directory`, with `bucket`
 * created. Clients must use path-style addressing and checksums only when required (see
 * `createS3Client`), or streamed uploads are stored with their chunk framing inside.
 */
export async function startS3rver(options: {
  directory: string;
  bucket: string;
  port?: number;
}): Promise<S3rverProcess> {
  mkdirSync(options.directory, { recursive: true });
  let port = options.port ?? 0;
  let server: InstanceType<S3rverConstructor> | undefined;
  const start = async () => {
    const next = new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory: options.directory,
      configureBuckets: [{ name: options.bucket }],
      vhostBuckets: false,
    });
    port = (await next.run()).port;
    server = next;
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    start,
    async stop() {
      const running = server;
      server = undefined;
      if (!running) return;
      const closed = running.close();
      // Keep-alive connections would hold the port open past close().
      running.httpServer?.closeAllConnections();
      await closed;
    },
  };
}

export interface EmbeddedS3 {
  endpoint: string;
  bucket: string;
  directory: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** An in-process s3rver storing its files under `directory`, with `bucket` created. */
export async function startEmbeddedS3(directory: string, bucket = 'genqueue'): Promise<EmbeddedS3> {
  const server = await startS3rver({ directory, bucket });
  return {
    endpoint: server.endpoint,
    bucket,
    directory: path.resolve(directory),
    ...S3RVER_CREDENTIALS,
    stop: server.stop,
  };
}
