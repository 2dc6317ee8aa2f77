/**
 * A genqueue worker process (`apps/worker/src/main.ts`) that also answers the benchmark's memory
 * questions over IPC: on `memory`, it collects garbage (the process runs with `--expose-gc`) and
 * replies with `process.memoryUsage()`, so retained memory can be told apart from garbage not yet
 * collected.
 */
import '../../apps/worker/src/main.ts';

process.on('message', (message) => {
  if (message !== 'memory') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.send?.({ ...process.memoryUsage(), collected: gc !== undefined });
});
