/**
 * A byte budget for request bodies being parsed at once. A job may carry several 10 MB images as
 * base64 (002 allows 10 MB per image), so its JSON limit is large; JSON parsing holds a body about
 * three times over (the bytes, the string, the parsed value), and many such bodies at once could
 * exhaust the heap. Each request with a body reserves its declared length (the limit when it has
 * none, i.e. chunked) until its answer is sent; a request that does not fit answers `503 unavailable` with
 * `Retry-After` at once, before its body is read. Small bodies are never counted.
 */
import type { RequestHandler } from 'express';
import { ApiError } from '../http-error.ts';

/** Bodies up to this many bytes are parsed without a reservation. */
const SMALL_BODY_BYTES = 1024 * 1024;

/** Options of {@link bodyBudget}. */
export interface BodyBudgetOptions {
  /** Largest body the route accepts, in bytes (what a body without a length reserves). */
  limitBytes: number;
  /** Bytes of large bodies that may be in parsing at once, across requests. */
  budgetBytes: number;
}

/** The middleware; put it right before the body parser it protects. */
export function bodyBudget(options: BodyBudgetOptions): RequestHandler {
  let reserved = 0;
  return (req, res, next) => {
    // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 §6.3), so a
    // GET reserves nothing; chunked bodies (Transfer-Encoding wins over a length) reserve the limit.
    const chunked = req.get('transfer-encoding') !== undefined;
    if (!chunked && req.get('content-length') === undefined) return next();
    const declared = Number(req.get('content-length'));
    const bytes = !chunked && Number.isFinite(declared) && declared >= 0 ? declared : options.limitBytes;
    if (bytes <= SMALL_BODY_BYTES) return next();
    // Over the limit: let the parser answer 413 without reading it.
    if (bytes > options.limitBytes) return next();
    if (reserved + bytes > options.budgetBytes) {
      res.set('retry-after', '1');
      // Node would otherwise keep reading the unread body; close the connection after the answer.
      res.set('connection', 'close');
      return next(new ApiError(503, 'unavailable', 'too many large requests at once; retry in a second'));
    }
    reserved += bytes;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      reserved -= bytes;
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };
}
