/**
 * An in-process s3rver that can be taken down and brought back on the same port and data folder,
 * for the S3-outage scenario. While it is down, the port refuses connections, as a dead S3 would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS } from '../../support/s3.ts';
import { freePort } from './private-redis.ts';

interface S3rverInstance {
  run(): Promise<unknown>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
// s3rver is CommonJS without type declarations.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** An s3rver with `stop()` / `start()`. */
export interface RestartableS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly client: S3Client;
  /** genqueue's S3 variables for this server. */
  readonly env: Record<string, string>;
  /** Closes the server and every open connection (keep-alive sockets included). */
  stop(): Promise<void>;
  /** Listens again on the same port, with the same data. */
  start(): Promise<void>;
  /** Stops it and deletes the data folder. */
  destroy(): Promise<void>;
}

/** Starts s3rver on a fixed free port with bucket `genqueue-chaos`. */
export async function startRestartableS3(): Promise<RestartableS3> {
  const bucket = 'genqueue-chaos';
  const directory = await mkdtemp(join(tmpdir(), 'genqueue-chaos-s3-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let server: S3rverInstance | undefined;
  const start = async () => {
    const next = new S3rver({
      address: '127.0.0.1',
      port,
      directory,
      silent: true,
      configureBuckets: [{ name: bucket }],
      vhostBuckets: false,
    });
    await next.run();
    server = next;
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    if (!running) return;
    const closed = running.close();
    running.httpServer?.closeAllConnections();
    await closed;
  };
  await start();
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { ...S3RVER_CREDENTIALS },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    bucket,
    client,
    env: {
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
    stop,
    start,
    async destroy() {
      client.destroy();
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
