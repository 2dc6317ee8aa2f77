/**
 * Pure formatting of a batch's progress: the one-line bar that `submit --wait` redraws, the
 * `status` summary and the closing verdict. No I/O and no clock of their own (`now` is passed in),
 * so they are unit-tested as tables.
 */
import type { BatchView } from '@genqueue/model';

/** Options of `formatProgress`. */
export interface ProgressOptions {
  /** Current time in epoch milliseconds (for the ETA). */
  now: number;
  /** Cells of the bar. Default 24. */
  width?: number;
}

/** The counts a person reads: finished, succeeded, failed, canceled, in progress, waiting. */
export interface ProgressCounts {
  total: number;
  finished: number;
  succeeded: number;
  failed: number;
  canceled: number;
  /** submitting + running + storing. */
  running: number;
  queued: number;
}

/** Folds the seven job states into what the bar shows. */
export function progressCounts(batch: Pick<BatchView, 'total' | 'counts'>): ProgressCounts {
  const c = batch.counts;
  const succeeded = c.succeeded ?? 0;
  const failed = c.failed ?? 0;
  const canceled = c.canceled ?? 0;
  return {
    total: batch.total,
    finished: succeeded + failed + canceled,
    succeeded,
    failed,
    canceled,
    running: (c.submitting ?? 0) + (c.running ?? 0) + (c.storing ?? 0),
    queued: c.queued ?? 0,
  };
}

/** A duration for people: `0s`, `45s`, `3m05s`, `2h07m`. Negative durations read as `0s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function points(batch: Pick<BatchView, 'pointsCost' | 'maxPoints'>): string {
  return batch.maxPoints === undefined ? `${batch.pointsCost}` : `${batch.pointsCost}/${batch.maxPoints}`;
}

function timing(batch: Pick<BatchView, 'done' | 'eta' | 'createdAt' | 'finishedAt'>, now: number): string {
  if (batch.done) {
    const end = batch.finishedAt ? Date.parse(batch.finishedAt) : now;
    return `took ${formatDuration(end - Date.parse(batch.createdAt))}`;
  }
  return batch.eta ? `ETA ${formatDuration(Date.parse(batch.eta) - now)}` : 'ETA --';
}

/**
 * One line of progress, e.g.
 * `[######------------------]  10/40  25%  ok 8  failed 2  running 5  queued 25  points 80  ETA 1m12s`.
 * `canceled` shows only when some jobs were.
 */
export function formatProgress(batch: BatchView, options: ProgressOptions): string {
  const width = options.width ?? 24;
  const n = progressCounts(batch);
  const ratio = n.total > 0 ? Math.min(1, n.finished / n.total) : 1;
  const filled = Math.floor(ratio * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const parts = [
    bar,
    `${n.finished}/${n.total}`,
    `${Math.floor(ratio * 100)}%`,
    `ok ${n.succeeded}`,
    `failed ${n.failed}`,
    ...(n.canceled > 0 ? [`canceled ${n.canceled}`] : []),
    `running ${n.running}`,
    `queued ${n.queued}`,
    `points ${points(batch)}`,
    timing(batch, options.now),
  ];
  return parts.join('  ');
}

/** The `status` command's summary, several lines. */
export function formatStatus(batch: BatchView, now: number): string {
  const n = progressCounts(batch);
  const state = batch.canceledReason
    ? `canceled (${batch.canceledReason})`
    : batch.done
      ? 'done'
      : 'in progress';
  const lines = [
    `batch     ${batch.id}`,
    `operation ${batch.provider} ${batch.operation}`,
    `state     ${state}`,
    `jobs      ${n.total} total: ${n.succeeded} succeeded, ${n.failed} failed, ${n.canceled} canceled, ${n.running} running, ${n.queued} queued`,
    `points    ${batch.pointsCost}${batch.maxPoints === undefined ? '' : ` of max ${batch.maxPoints}`}`,
    `created   ${batch.createdAt}`,
  ];
  if (batch.finishedAt) {
    lines.push(
      `finished  ${batch.finishedAt} (took ${formatDuration(Date.parse(batch.finishedAt) - Date.parse(batch.createdAt))})`,
    );
  } else if (batch.eta) {
    lines.push(`ETA       ${batch.eta} (in ${formatDuration(Date.parse(batch.eta) - now)})`);
  }
  return lines.join('\n');
}

/** What a finished batch amounts to, and whether the command should fail. */
export function formatOutcome(batch: BatchView): { ok: boolean; message: string } {
  const n = progressCounts(batch);
  const notes: string[] = [];
  if (n.canceled > 0) {
    notes.push(
      `${n.canceled} canceled${batch.canceledReason ? ` (${batch.canceledReason})` : ''}; canceled jobs do not count as failed`,
    );
  }
  if (n.failed > 0) {
    return {
      ok: false,
      message: [
        `${n.failed} of ${n.total} jobs failed, ${n.succeeded} succeeded`,
        ...notes,
        `list them with: genqueue jobs ${batch.id} --state failed`,
      ].join('\n'),
    };
  }
  const head =
    n.canceled > 0 ? `${n.succeeded} of ${n.total} jobs succeeded` : `all ${n.total} jobs succeeded`;
  return { ok: true, message: [head, ...notes].join('\n') };
}
