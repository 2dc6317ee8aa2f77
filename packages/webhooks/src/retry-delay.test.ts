import { STANDARD_WEBHOOK_SCHEDULE_MS } from '@genqueue/config';
import { describe, expect, it } from 'vitest';
import { webhookRetryDelay } from './retry-delay.ts';

const schedule = STANDARD_WEBHOOK_SCHEDULE_MS;
const middle = () => 0.5;

describe('webhookRetryDelay', () => {
  it('follows the Standard Webhooks schedule after each attempt', () => {
    expect(webhookRetryDelay(1, schedule, undefined, middle)).toBe(5_000);
    expect(webhookRetryDelay(2, schedule, undefined, middle)).toBe(300_000);
    expect(webhookRetryDelay(3, schedule, undefined, middle)).toBe(1_800_000);
    expect(webhookRetryDelay(7, schedule, undefined, middle)).toBe(36_000_000);
  });

  it('returns -1 once the schedule is used up', () => {
    expect(webhookRetryDelay(schedule.length, schedule, undefined, middle)).toBe(-1);
    expect(webhookRetryDelay(99, schedule, 1_000, middle)).toBe(-1);
    expect(webhookRetryDelay(1, [], undefined, middle)).toBe(-1);
  });

  it('jitters by at most ±20%', () => {
    expect(webhookRetryDelay(2, schedule, undefined, () => 0)).toBe(240_000);
    expect(webhookRetryDelay(2, schedule, undefined, () => 0.999999)).toBeLessThanOrEqual(360_000);
    expect(webhookRetryDelay(2, schedule, undefined, () => 0.999999)).toBeGreaterThan(359_000);
  });

  it('never waits less than Retry-After', () => {
    expect(webhookRetryDelay(1, schedule, 60_000, middle)).toBe(60_000);
    expect(webhookRetryDelay(2, schedule, 60_000, middle)).toBe(300_000);
  });
});
