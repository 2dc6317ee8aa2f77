/**
 * 6. Sink: one 50 MB result (the simulator pads its PNG) streamed from the provider into S3 by a
 * worker process: the wall time from the task's end to the job's success, and the growth of the
 * worker's peak RSS (VmHWM, reset through /proc/<pid>/clear_refs once the worker is idle, and
 * sampled as VmRSS meanwhile in case the kernel refuses the reset).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { deploy, type Infra } from '../lib/deployment.ts';
import type { Figure } from '../lib/figures.ts';
import type { RunOptions } from './throughput.ts';

const MB = 1024 * 1024;

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
}

export async function sinkLarge(infra: Infra, { log }: RunOptions): Promise<Figure[]> {
  const size = 50 * MB;
  log('6. sink: one 50 MB result into S3');
  const d = await deploy(infra, {
    label: 's6',
    sim: { submitQps: 5, maxInFlight: 5, latencyMs: { min: 200, max: 300 }, outputPadBytes: size },
  });
  try {
    const worker = await d.spawnWorker();
    const pid = worker.pid!;
    // Let start-up garbage settle, then make the peak start from here.
    await new Promise((r) => setTimeout(r, 1_000));
    let hwmReset = true;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      hwmReset = false;
    }
    const baseline = statusKb(pid, 'VmRSS');
    let sampledPeak = baseline;
    const sampler = setInterval(() => {
      try {
        sampledPeak = Math.max(sampledPeak, statusKb(pid, 'VmRSS'));
      } catch {}
    }, 20);
    const [id] = await d.postJobs(['a very large image']);
    const [record] = await d.waitEnded([id!], 120_000);
    clearInterval(sampler);
    const peak = Math.max(sampledPeak, hwmReset ? statusKb(pid, 'VmHWM') : 0);
    if (record!.state !== 'succeeded')
      throw new Error(`the 50 MB job ended ${record!.state}: ${record!.error?.message}`);
    const bytes = record!.outputs?.[0]?.bytes ?? 0;
    const scenario = '6 sink 50 MB';
    return [
      {
        scenario,
        name: `wall time, task end → stored (${(bytes / MB).toFixed(1)} MB)`,
        value: (record!.finishedAt! - record!.taskEndedAt!) / 1000,
        unit: 's',
        digits: 2,
      },
      {
        scenario,
        name: `worker peak RSS growth${hwmReset ? '' : ' (sampled)'}`,
        value: (peak - baseline) / 1024,
        unit: 'MB',
        target: { op: '<=', value: 32 },
        digits: 1,
      },
    ];
  } finally {
    await d.close();
  }
}
