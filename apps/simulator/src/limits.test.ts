import { describe, expect, it } from 'vitest';
import { SubmissionLimits } from './limits.ts';

const setup = (submitQps: number, maxInFlight = 5) => ({
  limits: new SubmissionLimits(() => ({ submitQps, maxInFlight })),
});

describe('SubmissionLimits', () => {
  it('allows one acceptance per strict 1000 ms window at 1 QPS', () => {
    const { limits } = setup(1);
    expect(limits.check(0, 0)).toBe('ok');
    limits.recordAccepted(0);
    expect(limits.check(999, 0)).toBe('qps');
    expect(limits.check(1000, 0)).toBe('ok');
  });

  it('does not let refused submissions take a slot', () => {
    const { limits } = setup(1);
    limits.recordAccepted(0);
    expect(limits.check(500, 0)).toBe('qps');
    expect(limits.check(1000, 0)).toBe('ok');
  });

  it('holds at most floor(qps) acceptances in any second', () => {
    const { limits } = setup(3);
    for (const t of [0, 10, 20]) {
      expect(limits.check(t, 0)).toBe('ok');
      limits.recordAccepted(t);
    }
    expect(limits.check(999, 0)).toBe('qps');
    expect(limits.check(1000, 0)).toBe('ok');
  });

  it('spaces acceptances 1000/qps ms apart below 1 QPS', () => {
    const { limits } = setup(0.5);
    limits.recordAccepted(0);
    expect(limits.check(1999, 0)).toBe('qps');
    expect(limits.check(2000, 0)).toBe('ok');
  });

  it('refuses at the in-flight limit, after QPS', () => {
    const { limits } = setup(1, 5);
    expect(limits.check(0, 5)).toBe('in-flight');
    expect(limits.check(0, 4)).toBe('ok');
    limits.recordAccepted(0);
    expect(limits.check(10, 5)).toBe('qps');
  });
});
