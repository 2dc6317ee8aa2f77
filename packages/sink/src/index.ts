export type { ThumbnailSettings } from './internal/thumbnail.ts';
export { DEFAULT_THUMBNAIL } from './internal/thumbnail.ts';
export { BufferPool } from './internal/upload.ts';
export type { S3ClientSettings } from './s3-client.ts';
export { createS3Client } from './s3-client.ts';
export type {
  SinkOptions,
  SinkSettings,
  SinkSource,
  SinkTimeouts,
  StoredObject,
  StoredThumbnail,
} from './sink.ts';
export { DEFAULT_SINK_TIMEOUTS, Sink, sinkFromSettings, THUMBNAIL_SUFFIX } from './sink.ts';
export type { SinkErrorCode, SinkErrorOptions } from './sink-error.ts';
export { isSinkError, SinkError } from './sink-error.ts';
