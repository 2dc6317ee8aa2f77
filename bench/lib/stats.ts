/** Small statistics helpers for the benchmark. */

/** The q-quantile (0..1) of `values` by linear interpolation; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The arithmetic mean; NaN when empty. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Average number of intervals `[start, end)` covering a point of `[from, to]`: for tasks, the
 * average tasks in flight over that window.
 */
export function averageOverlap(
  intervals: readonly { start: number; end: number }[],
  from: number,
  to: number,
): number {
  if (to <= from) return Number.NaN;
  let busy = 0;
  for (const { start, end } of intervals) busy += Math.max(0, Math.min(end, to) - Math.max(start, from));
  return busy / (to - from);
}
