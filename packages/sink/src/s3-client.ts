import { S3Client } from '@aws-sdk/client-s3';
import { type Logger, silentLogger } from '@genqueue/model';

/** Settings of {@link createS3Client}; they mirror `config.s3` of `@genqueue/config`. */
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
 *
 * The SDK's warnings go to `logger` (default: silent) instead of the console. Its warning that
 * a request with a streamed body failed and cannot be retried is logged at debug: the sink
 * streams result bodies on purpose and reports and retries such a failure itself.
 */
export function createS3Client(settings: S3ClientSettings, logger: Logger = silentLogger()): S3Client {
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
    logger: {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (...content: unknown[]) => {
        const message = content.map(String).join(' ');
        if (message.includes('non-retryable streaming request')) logger.debug({ sdk: message }, 'S3 SDK');
        else logger.warn({ sdk: message }, 'S3 SDK');
      },
      // Every failed command, with its input (bodies included): the sink reports failures itself.
      error: () => undefined,
    },
  });
}
