/**
 * A worker process that kills itself (SIGKILL) at a named crash point, for the crash-window tests:
 * `CRASH_AT=<point>[:<n>]` dies at the n-th time (default 1st) the processors reach `<point>`
 * (see `CrashPoint` in apps/worker/src/context.ts). It prints `crash-at <point> <jobId>` first.
 */
import { loadConfig } from '@genqueue/config';
import { startWorker } from '@genqueue/worker';

const [point, nth = '1'] = (process.env.CRASH_AT ?? '').split(':');
let calls = 0;
await startWorker(loadConfig(process.env), {
  hooks: {
    at(at, jobId) {
      if (at !== point || ++calls !== Number(nth)) return;
      process.stderr.write(`crash-at ${at} ${jobId}\n`);
      process.kill(process.pid, 'SIGKILL');
      return new Promise<void>(() => {});
    },
  },
});
