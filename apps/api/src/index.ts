export { ADMIN_BASE_PATH, adminRouter } from './admin.ts';
export { BODY_LIMIT, createApp } from './app.ts';
export { basicAuth, bearerAuth, safeEqual, tokenScope } from './auth.ts';
export type { ApiDeps } from './deps.ts';
export type { ApiErrorCode, Issue } from './http-error.ts';
export { ApiError } from './http-error.ts';
export { createJobBodySchema, IDEMPOTENCY_TTL_SECONDS, isJobId, MAX_METADATA_BYTES } from './routes/jobs.ts';
export type { ApiHandle, StartApiOverrides } from './start.ts';
export { startApi } from './start.ts';
