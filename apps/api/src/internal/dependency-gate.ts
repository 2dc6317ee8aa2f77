/**
 * While Redis is down every route that needs it answers `503 unavailable` with `Retry-After` at
 * once: a command would otherwise wait in ioredis's queue for the reconnect, and the client with it.
 * A command that was already on its way when the connection broke fails with a connection error,
 * answered the same way.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError, UnavailableError } from '../http-error.ts';

const REDIS_DOWN = 'Redis is unreachable; try again shortly';

/** Refuses the request with 503 while `redisUp()` says no. */
export function redisGate(redisUp: () => boolean): RequestHandler {
  return (_req, _res, next) => {
    next(redisUp() ? undefined : new UnavailableError(REDIS_DOWN));
  };
}

/**
 * Turns a Redis connection error (or any error thrown while the connection is down) into the same
 * 503; everything else goes on to the error middleware as it was.
 */
export function redisErrors(redisUp: () => boolean): ErrorRequestHandler {
  return (error, _req, _res, next) => {
    if (!(error instanceof ApiError) && (isConnectionError(error) || !redisUp())) {
      next(new UnavailableError(REDIS_DOWN));
      return;
    }
    next(error);
  };
}

/** ioredis's errors for a command that never got an answer because the connection went away. */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    error.message === 'Connection is closed.' ||
    error.message.startsWith("Stream isn't writeable") ||
    error.message === 'Command timed out'
  );
}
