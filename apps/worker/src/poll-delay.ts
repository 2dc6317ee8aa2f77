/**
 * How long to wait before the next status query of a running task.
 *
 * A finished task's slot is lost throughput until we notice it ended, and the status endpoint has
 * no QPS limit (002 §2.3), so young tasks are polled every `minMs`. The interval then grows with
 * the task's age (5 % of it) up to `maxMs`, so a 30-minute task costs a few thousand cheap queries
 * at most, and a finished task is still noticed within `maxMs` (≤ 1 s by default).
 */
export function nextPollDelay(elapsedMs: number, minMs: number, maxMs: number): number {
  return Math.round(Math.min(maxMs, Math.max(minMs, elapsedMs * 0.05)));
}
