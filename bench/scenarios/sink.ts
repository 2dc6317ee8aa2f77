/**
 * 6. Sink memory: results streamed from the provider into S3 by a worker process (the simulator
 * pads its PNG): one 50 MB result, one 500 MB result, and 20 results of 5 MB at once
 * (SINK_CONCURRENCY=20). For each: the wall time from the first task's end to the last job's
 * success, the worker's CPU time meanwhile (what its memory settings, `scripts/worker-env.sh`,
 * cost), the growth of the worker's peak RSS (VmHWM, reset through /proc/<pid>/clear_refs once
 * the worker is idle, and sampled as VmRSS meanwhile in case the kernel refuses the reset), and
 * what stays after the run once garbage is collected (the worker runs with `--expose-gc` and
 * collects on request, `bench/lib/measured-worker.ts`), so retained memory is told apart from
 * garbage V8 had not collected yet.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { deploy, type Infra, spawnProcess } from '../lib/deployment.ts';
import type { Figure } from '../lib/figures.ts';
import type { RunOptions } from './throughput.ts';

const MB = 1024 * 1024;

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
}

/** CPU time (user + system) the process has used, in seconds: /proc counts in 1/100 s. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** RSS after the worker collected its garbage, in bytes. */
async function rssAfterGc(worker: ChildProcess): Promise<number> {
  const reply = new Promise<{ rss: number; collected: boolean }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the worker did not answer the memory question')),
      10_000,
    );
    worker.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as { rss: number; collected: boolean });
    });
  });
  worker.send('memory');
  const { rss, collected } = await reply;
  if (!collected) throw new Error('the worker runs without --expose-gc');
  return rss;
}

interface Variant {
  label: string;
  bytes: number;
  count: number;
  env?: Record<string, string>;
  /** Goal for the peak RSS growth, in MB. */
  peakGoalMb: number;
}

async function measure(infra: Infra, variant: Variant): Promise<Figure[]> {
  const d = await deploy(infra, {
    label: 's6',
    sim: {
      submitQps: 20,
      maxInFlight: 20,
      latencyMs: { min: 200, max: 300 },
    },
    env: { LIBLIB_SUBMIT_QPS: '20', LIBLIB_MAX_IN_FLIGHT: '20', ...variant.env },
  });
  try {
    const worker = await spawnProcess(
      'bench/lib/measured-worker.ts',
      { ...d.env, LOG_LEVEL: 'info' },
      { nodeArgs: ['--expose-gc'], workerEnv: true },
    );
    d.workers.push(worker);
    const pid = worker.pid!;
    // One small result first, so code loaded on first use (the S3 client, the multipart upload,
    // sharp) is not counted; then collect, and make the peak start from here.
    d.sim.configure({ outputPadBytes: 0 });
    await d.waitEnded(await d.postJobs(['a warm-up image']), 60_000);
    d.sim.configure({ outputPadBytes: variant.bytes });
    await new Promise((r) => setTimeout(r, 500));
    const before = await rssAfterGc(worker);
    let hwmReset = true;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      hwmReset = false;
    }
    const baseline = statusKb(pid, 'VmRSS') * 1024;
    const cpuBefore = cpuSeconds(pid);
    let sampledPeak = baseline;
    const sampler = setInterval(() => {
      try {
        sampledPeak = Math.max(sampledPeak, statusKb(pid, 'VmRSS') * 1024);
      } catch {}
    }, 20);
    const ids = await d.postJobs(Array.from({ length: variant.count }, (_, i) => `a very large image ${i}`));
    const records = await d.waitEnded(ids, 600_000);
    clearInterval(sampler);
    const cpu = cpuSeconds(pid) - cpuBefore;
    const peak = Math.max(sampledPeak, hwmReset ? statusKb(pid, 'VmHWM') * 1024 : 0);
    const after = await rssAfterGc(worker);
    const failed = records.filter((r) => r.state !== 'succeeded');
    if (failed.length > 0)
      throw new Error(`${failed.length} jobs ended ${failed[0]!.state}: ${failed[0]!.error?.message}`);
    const bytes = records[0]!.outputs?.[0]?.bytes ?? 0;
    const firstEnd = Math.min(...records.map((r) => r.taskEndedAt!));
    const lastStored = Math.max(...records.map((r) => r.finishedAt!));
    const scenario = `6 sink ${variant.label}`;
    return [
      {
        scenario,
        name: `wall time, task end → stored (${variant.count} × ${(bytes / MB).toFixed(1)} MB)`,
        value: (lastStored - firstEnd) / 1000,
        unit: 's',
        digits: 2,
      },
      { scenario, name: 'worker CPU time', value: cpu, unit: 's', digits: 2 },
      {
        scenario,
        name: `worker peak RSS growth${hwmReset ? '' : ' (sampled)'}`,
        value: (peak - baseline) / MB,
        unit: 'MB',
        target: { op: '<=', value: variant.peakGoalMb },
        digits: 1,
      },
      {
        scenario,
        name: 'retained after GC (RSS growth)',
        value: (after - before) / MB,
        unit: 'MB',
        digits: 1,
      },
    ];
  } finally {
    await d.close();
  }
}

export async function sinkLarge(infra: Infra, { log }: RunOptions): Promise<Figure[]> {
  const variants: Variant[] = [
    { label: '50 MB', bytes: 50 * MB, count: 1, peakGoalMb: 32 },
    { label: '500 MB', bytes: 500 * MB, count: 1, peakGoalMb: 32 },
    // What one store holds live is a few stream buffers: half a megabyte more per concurrent one.
    {
      label: '20 × 5 MB at once',
      bytes: 5 * MB,
      count: 20,
      env: { SINK_CONCURRENCY: '20' },
      peakGoalMb: 32 + 20 * 0.5,
    },
  ];
  const figures: Figure[] = [];
  for (const variant of variants) {
    log(`6. sink: ${variant.label} into S3`);
    figures.push(...(await measure(infra, variant)));
  }
  return figures;
}
