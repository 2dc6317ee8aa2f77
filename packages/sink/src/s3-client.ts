import { S3Client } from '@aws-sdk/client-s3';

/** Settings of {@link createS3Client}; they mirror `config.s3` of `@genqueue/core`. */
export interface S3ClientSettings {
  /** Custom endpoint (MinIO, s3rver, R2, ...). Absent for AWS S3. */
  endpoint?: string;
  region: string;
  /** Static credentials; when either is absent the SDK's default provider chain is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`; MinIO and s3rver need it. */
  forcePathStyle: boolean;
}

/**
 * Builds the S3 client the sink uploads with.
 *
 * Checksums are computed and validated only when an operation requires them: the SDK's default
 * (flexible checksums sent as aws-chunked trailers on streamed bodies) is not understood by
 * s3rver and some S3-compatible stores, which then store the chunk framing inside the object.
 * AWS S3 and MinIO accept both, so this is safe everywhere.
 */
export function createS3Client(settings: S3ClientSettings): S3Client {
  // genqueue runs on Node 20 on purpose; the SDK's notice that future releases will need Node 22
  // would otherwise print on every process start. An explicit setting by the user wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { endpoint, region, accessKeyId, secretAccessKey, forcePathStyle } = settings;
  return new S3Client({
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
