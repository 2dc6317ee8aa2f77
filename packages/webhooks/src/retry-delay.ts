/**
 * The wait before the next delivery attempt, in milliseconds, or -1 when the schedule is used up.
 *
 * `scheduleMs[i]` is the delay before attempt `i + 1` (Standard Webhooks: now, 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 10 h — `STANDARD_WEBHOOK_SCHEDULE_MS`), so after `attemptsMade` attempts the next
 * delay is `scheduleMs[attemptsMade]`. It gets ±20% jitter, so receivers recovering from an outage
 * are not hit by every retry at once, and is never shorter than the receiver's `Retry-After`.
 *
 * @param attemptsMade attempts already made (1 after the first failure).
 * @param retryAfterMs the receiver's `Retry-After`, in milliseconds, if it sent one.
 * @param random injectable randomness in [0, 1).
 */
export function webhookRetryDelay(
  attemptsMade: number,
  scheduleMs: readonly number[],
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 0 || attemptsMade >= scheduleMs.length) return -1;
  const base = scheduleMs[attemptsMade] ?? 0;
  const jittered = Math.round(base * (1 + (random() * 2 - 1) * JITTER));
  return Math.max(jittered, retryAfterMs ?? 0, 0);
}

const JITTER = 0.2;
