/**
 * 4. Baseline: spec 001's naive client (one at a time, poll every 5 s) and a pool of 5 of them,
 * against a simulator with scenario 3's settings, in its `liblib-v1` mode (the wire format spec
 * 001 describes). The 5 s poll is divided by scenario 3's factor, like genqueue's poll interval.
 */
import { startSimulator } from '@genqueue/simulator';
import { clientFigures } from '../lib/ceiling.ts';
import type { Figure } from '../lib/figures.ts';
import { runNaive } from '../lib/naive-client.ts';
import type { RunOptions } from './throughput.ts';
import { SCALE } from './throughput.ts';

export async function baseline(_infra: unknown, { quick, log }: RunOptions): Promise<Figure[]> {
  const latency = { min: 20_000 / SCALE, max: 40_000 / SCALE };
  const pollMs = 5_000 / SCALE;
  // The steady window starts at the 5th submission, so even the lone client needs a few more.
  const variants = [
    { label: 'naive client', clients: 1, n: quick ? 7 : 12 },
    { label: 'pool of 5 naive clients', clients: 5, n: quick ? 15 : 40 },
  ];
  log(
    `4. baseline (spec 001, poll ${pollMs} ms = 5 s ÷${SCALE}): ${variants.map((v) => v.label).join(' and ')}, side by side`,
  );
  // Both run at once, each against its own simulator (own limits), to keep the run short.
  const runs = await Promise.all(
    variants.map(async (variant) => {
      const sim = await startSimulator({
        mode: 'liblib-v1',
        submitQps: 1,
        maxInFlight: 5,
        latencyMs: latency,
      });
      try {
        const result = await runNaive({
          baseUrl: sim.url,
          token: sim.options.token,
          prompts: Array.from({ length: variant.n }, (_, i) => `baseline ${variant.clients} ${i}`),
          clients: variant.clients,
          pollMs,
        });
        const tasks = sim.tasks().sort((a, b) => a.createdAt - b.createdAt);
        return { variant, run: { tasks, stats: sim.stats(), completed: result.completed } };
      } finally {
        await sim.close();
      }
    }),
  );
  return runs.flatMap(
    ({ variant, run }) =>
      clientFigures(`4 baseline (as 3): ${variant.label}`, run, { qps: 1, maxInFlight: 5 }, false).figures,
  );
}
