import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runEvery } from './periodic.ts';

/** A run the test ends by hand. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { done, open };
}

describe('runEvery', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs once per interval, not before the first one has passed', async () => {
    const task = vi.fn(async () => undefined);
    const periodic = runEvery(100, task, () => undefined);
    await vi.advanceTimersByTimeAsync(99);
    expect(task).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(201);
    expect(task).toHaveBeenCalledTimes(3);
    await periodic.stop();
  });

  it('skips the ticks that find the last run still going, then runs again', async () => {
    const runs = [gate(), gate()];
    const task = vi.fn(() => runs[task.mock.calls.length - 1]!.done);
    const periodic = runEvery(100, task, () => undefined);
    await vi.advanceTimersByTimeAsync(550);
    expect(task).toHaveBeenCalledTimes(1);
    runs[0]!.open();
    await vi.advanceTimersByTimeAsync(100);
    expect(task).toHaveBeenCalledTimes(2);
    runs[1]!.open();
    await periodic.stop();
  });

  it('hands a failed run to onError, a synchronous throw too, and goes on', async () => {
    const errors: string[] = [];
    let call = 0;
    const task = vi.fn(() => {
      call++;
      if (call === 1) throw new Error('thrown');
      if (call === 2) return Promise.reject(new Error('rejected'));
      return Promise.resolve();
    });
    const periodic = runEvery(100, task, (error) => errors.push(error.message));
    await vi.advanceTimersByTimeAsync(300);
    expect(task).toHaveBeenCalledTimes(3);
    expect(errors).toEqual(['thrown', 'rejected']);
    await periodic.stop();
  });

  it('stop() waits for the run under way, and no run starts after it', async () => {
    const run = gate();
    const task = vi.fn(() => run.done);
    const periodic = runEvery(100, task, () => undefined);
    await vi.advanceTimersByTimeAsync(100);
    let stopped = false;
    const stopping = periodic.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(500);
    expect(stopped).toBe(false);
    run.open();
    await stopping;
    await vi.advanceTimersByTimeAsync(500);
    expect(task).toHaveBeenCalledTimes(1);
    await periodic.stop(); // twice: nothing to wait for
  });
});
