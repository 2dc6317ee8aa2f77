/**
 * An in-process S3 (s3rver) for integration tests: listens on 127.0.0.1, port 0, keeps its data in
 * a fresh temp folder, logs nothing, and has its bucket created before the promise resolves.
 *
 * ```ts
 * const s3 = await startS3();
 * // ... use s3.client / s3.endpoint / s3.env
 * await s3.stop();
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, startS3rver } from '@genqueue/embedded';

/** s3rver accepts any request signed with these (its documented default credentials). */
export { S3RVER_CREDENTIALS };

/** What {@link startS3} gives back. */
export interface TestS3 {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  bucket: string;
  /** A client configured for s3rver (path style, checksums only when required). */
  client: S3Client;
  /** The config `client` was built with, to build more clients (e.g. in a process under test). */
  clientConfig: S3ClientConfig & {
    endpoint: string;
    region: string;
    forcePathStyle: true;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** The same settings as genqueue environment variables, for starting real processes. */
  env: Record<string, string>;
  /** Stops the server, destroys the client and deletes the data folder. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver. `bucket` defaults to `genqueue-test`; `directory` defaults to a new temp folder,
 * which `stop()` deletes (a caller-given directory is left in place).
 */
export async function startS3(options: { bucket?: string; directory?: string } = {}): Promise<TestS3> {
  const bucket = options.bucket ?? 'genqueue-test';
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'genqueue-s3-')));
  const server = await startS3rver({ directory, bucket });
  const endpoint = server.endpoint;
  const clientConfig: TestS3['clientConfig'] = {
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { ...S3RVER_CREDENTIALS },
    // s3rver does not understand the SDK's default flexible checksums (aws-chunked trailers): with
    // them, streamed uploads are stored with the chunk framing inside the object. Only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  const client = new S3Client(clientConfig);
  return {
    endpoint,
    bucket,
    client,
    clientConfig,
    env: {
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
    async stop() {
      client.destroy();
      await server.stop();
      if (options.directory === undefined) await rm(directory, { recursive: true, force: true });
    },
  };
}
