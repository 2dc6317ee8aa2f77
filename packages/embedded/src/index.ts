export type { EmbeddedRedis, EmbeddedS3, S3rverProcess } from './embedded.ts';
export {
  answersPing,
  ensureRedis,
  freePort,
  redisAnswers,
  S3RVER_CREDENTIALS,
  startEmbeddedS3,
  startS3rver,
} from './embedded.ts';
