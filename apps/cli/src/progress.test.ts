import type { BatchView, JobState } from '@genqueue/model';
import { describe, expect, it } from 'vitest';
import { formatDuration, formatOutcome, formatProgress, formatStatus, progressCounts } from './progress.ts';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function batch(counts: Partial<Record<JobState, number>>, extra: Partial<BatchView> = {}): BatchView {
  const full: Record<JobState, number> = {
    queued: 0,
    submitting: 0,
    running: 0,
    storing: 0,
    succeeded: 0,
    failed: 0,
    canceled: 0,
    ...counts,
  };
  const total = Object.values(full).reduce((a, b) => a + b, 0);
  return {
    id: 'b_test',
    tenant: 'default',
    provider: 'liblib',
    operation: 'kontext.text2img',
    total,
    counts: full,
    done: full.queued + full.submitting + full.running + full.storing === 0,
    pointsCost: 0,
    createdAt: at(0),
    ...extra,
  };
}

describe('formatDuration', () => {
  it.each([
    [-5_000, '0s'],
    [0, '0s'],
    [499, '0s'],
    [45_000, '45s'],
    [60_000, '1m00s'],
    [185_000, '3m05s'],
    [3_600_000, '1h00m'],
    [7_620_000, '2h07m'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('progressCounts', () => {
  it('folds submitting, running and storing into running, and the terminal states into finished', () => {
    expect(
      progressCounts(
        batch({ queued: 4, submitting: 1, running: 2, storing: 3, succeeded: 5, failed: 6, canceled: 7 }),
      ),
    ).toEqual({ total: 28, finished: 18, succeeded: 5, failed: 6, canceled: 7, running: 6, queued: 4 });
  });
});

describe('formatProgress', () => {
  it('draws the bar, counts, points and the ETA relative to now', () => {
    const view = batch(
      { queued: 25, running: 5, succeeded: 8, failed: 2 },
      { pointsCost: 80, eta: at(90_000) },
    );
    expect(formatProgress(view, { now: T0 + 18_000 })).toBe(
      '[######------------------]  10/40  25%  ok 8  failed 2  running 5  queued 25  points 80  ETA 1m12s',
    );
  });

  it('shows the points budget, canceled jobs, and the time taken once done', () => {
    const view = batch(
      { succeeded: 3, canceled: 1 },
      { pointsCost: 30, maxPoints: 30, canceledReason: 'max_points', finishedAt: at(65_000) },
    );
    expect(formatProgress(view, { now: T0 + 99_000, width: 8 })).toBe(
      '[########]  4/4  100%  ok 3  failed 0  canceled 1  running 0  queued 0  points 30/30  took 1m05s',
    );
  });

  it('has no ETA before the first job ends, and never a negative one', () => {
    expect(formatProgress(batch({ queued: 3 }), { now: T0 })).toMatch(/ETA --$/);
    expect(
      formatProgress(batch({ queued: 1, succeeded: 1 }, { eta: at(1_000) }), { now: T0 + 5_000 }),
    ).toMatch(/ETA 0s$/);
  });

  it('never overfills the bar, and an empty batch reads as complete', () => {
    expect(formatProgress(batch({ succeeded: 7 }, { total: 5 }), { now: T0, width: 4 })).toMatch(
      /^\[####\] {2}7\/5 {2}100%/,
    );
    expect(formatProgress(batch({}), { now: T0, width: 4 })).toMatch(/^\[####\] {2}0\/0 {2}100%/);
  });
});

describe('formatStatus', () => {
  it('summarises a batch in progress with its ETA', () => {
    const text = formatStatus(
      batch({ queued: 2, running: 1, succeeded: 1 }, { pointsCost: 10, eta: at(120_000) }),
      T0 + 60_000,
    );
    expect(text).toContain('batch     b_test');
    expect(text).toContain('state     in progress');
    expect(text).toContain('jobs      4 total: 1 succeeded, 0 failed, 0 canceled, 1 running, 2 queued');
    expect(text).toContain('points    10');
    expect(text).toContain(`ETA       ${at(120_000)} (in 1m00s)`);
  });

  it('says why a batch was canceled and when it finished', () => {
    const text = formatStatus(
      batch(
        { succeeded: 1, canceled: 2 },
        { maxPoints: 5, pointsCost: 5, canceledReason: 'max_points', finishedAt: at(3_000) },
      ),
      T0,
    );
    expect(text).toContain('state     canceled (max_points)');
    expect(text).toContain('points    5 of max 5');
    expect(text).toContain(`finished  ${at(3_000)} (took 3s)`);
    expect(text).not.toContain('ETA');
  });
});

describe('formatOutcome', () => {
  it('succeeds when every job succeeded', () => {
    expect(formatOutcome(batch({ succeeded: 3 }))).toEqual({ ok: true, message: 'all 3 jobs succeeded' });
  });

  it('fails when any job failed, and says how to list them', () => {
    const outcome = formatOutcome(batch({ succeeded: 2, failed: 1 }));
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toContain('1 of 3 jobs failed, 2 succeeded');
    expect(outcome.message).toContain('genqueue jobs b_test --state failed');
  });

  it('does not count canceled jobs as failed, but says so', () => {
    const outcome = formatOutcome(
      batch({ succeeded: 2, canceled: 1 }, { canceledReason: 'canceled by user' }),
    );
    expect(outcome.ok).toBe(true);
    expect(outcome.message).toBe(
      '2 of 3 jobs succeeded\n1 canceled (canceled by user); canceled jobs do not count as failed',
    );
  });
});
