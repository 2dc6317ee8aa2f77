/**
 * An in-process s3rver that can be taken down and brought back on the same port and data folder,
 * for the S3-outage scenario. While it is down, the port refuses connections, as a dead S3 would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { startS3rver } from '@genqueue/embedded';
import { S3RVER_CREDENTIALS } from '../../support/s3.ts';

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
  const server = await startS3rver({ directory, bucket });
  const { endpoint, start, stop } = server;
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
