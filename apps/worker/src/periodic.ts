/** A task run at an interval by {@link runEvery}. */
export interface Periodic {
  /** Stops the ticks, then waits for a run under way (it is not aborted). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Runs `task` every `intervalMs` milliseconds until stopped, never two runs at once: a tick that
 * finds the last run still going is skipped, so a slow run (a sweep over a large backlog, a slow
 * Redis) delays the next instead of piling more on it. A run's error goes to `onError`, and the
 * next tick runs again. The timer does not keep the process alive.
 */
export function runEvery(
  intervalMs: number,
  task: () => Promise<unknown>,
  onError: (error: Error) => void,
): Periodic {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    // Through a promise, so a task that throws before its first await is an error like any other.
    running = Promise.resolve()
      .then(task)
      .then(
        () => undefined,
        (error: unknown) => onError(error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        running = undefined;
      });
  }, intervalMs).unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
