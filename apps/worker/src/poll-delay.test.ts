import { describe, expect, it } from 'vitest';
import { nextPollDelay } from './poll-delay.ts';

describe('nextPollDelay', () => {
  it.each([
    [0, 250],
    [4_000, 250],
    [10_000, 500],
    [20_000, 1_000],
    [30 * 60_000, 1_000],
  ])('a task %i ms old is polled again after %i ms', (elapsed, delay) => {
    expect(nextPollDelay(elapsed, 250, 1_000)).toBe(delay);
  });
});
