import type { Logger } from '@genqueue/core';
import type { WorkerContext } from './context.ts';

/**
 * A provider's `Retry-After`, capped at `RETRY_AFTER_MAX_MS`: a broken or hostile answer
 * ("Retry-After: 9999999") must not stall a provider's whole submit queue or a task's polling for
 * days. Every cap is logged, so an operator sees the provider asking for more.
 */
export function cappedRetryAfter(
  ctx: WorkerContext,
  ms: number | undefined,
  log: Logger,
): number | undefined {
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  const max = ctx.config.limits.retryAfterMaxMs;
  if (ms <= max) return Math.max(0, ms);
  log.warn({ retryAfterMs: ms, cappedMs: max }, `provider Retry-After of ${ms} ms capped at ${max} ms`);
  return max;
}
