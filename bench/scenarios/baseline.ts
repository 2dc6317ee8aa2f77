/**
 * 4. Baseline: spec 001's naive client (one at a time, poll every 5 s) and a pool of 5 of them,
 * against a simulator with scenario 3's settings, in its `liblib-v1` mode (the wire format spec
 * 001 describes). The 5 s poll is divided by scenario 3's factor, like genqueue's poll interval.
 */
import { startSimulator } from '@genqueue/simulator';
import { breachesFigure, type Figure } from '../lib/figures.ts';
import { runNaive } from '../lib/naive-client.ts';
import { mean } from '../lib/stats.ts';
import type { RunOptions } from './throughput.ts';
import { SCALE } from './throughput.ts';

export async function baseline(_infra: unknown, { quick, log }: RunOptions): Promise<Figure[]> {
  const latency = { min: 20_000 / SCALE, max: 40_000 / SCALE };
  const pollMs = 5_000 / SCALE;
  const variants = [
    { label: 'naive client', clients: 1, n: quick ? 4 : 10 },
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
        const tasks = sim.tasks();
        const generation = mean(tasks.map((t) => t.endsAt - t.createdAt)) / 1000;
        const ceiling = Math.min(1, 5 / generation);
        const rate = result.completed / ((result.lastDoneAt - result.startedAt) / 1000);
        return { variant, ratio: rate / ceiling, stats: sim.stats(), result };
      } finally {
        await sim.close();
      }
    }),
  );
  return runs.flatMap(({ variant, ratio, stats }) => {
    const scenario = `4 baseline: ${variant.label}`;
    return [
      { scenario, name: 'ratio to ceiling (same settings as 3)', value: ratio, unit: '', digits: 3 },
      breachesFigure(scenario, stats, false),
    ];
  });
}
