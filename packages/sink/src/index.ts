export type { S3ClientSettings } from './s3-client.ts';
export { createS3Client } from './s3-client.ts';
export type { SinkOptions, SinkSettings, SinkSource, SinkTimeouts, StoredObject } from './sink.ts';
export { DEFAULT_SINK_TIMEOUTS, Sink, sinkFromSettings } from './sink.ts';
export type { SinkErrorCode, SinkErrorOptions } from './sink-error.ts';
export { isSinkError, SinkError } from './sink-error.ts';
