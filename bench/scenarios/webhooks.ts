/**
 * 7. Webhooks: the delay from a job ending (its `finishedAt`, which the delivery id carries:
 * `job.<state>.<jobId>.<finishedAt>`) to its signed webhook arriving at a local receiver.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deploy, type Infra } from '../lib/deployment.ts';
import type { Figure } from '../lib/figures.ts';
import { quantile } from '../lib/stats.ts';
import type { RunOptions } from './throughput.ts';

export async function webhookDelay(infra: Infra, { quick, log }: RunOptions): Promise<Figure[]> {
  const n = quick ? 12 : 40;
  log(`7. webhooks: ${n} jobs with a webhookUrl`);
  const received = new Map<string, number>();
  const receiver = createServer((req, res) => {
    const at = Date.now();
    const id = String(req.headers['webhook-id'] ?? '');
    req.resume();
    req.on('end', () => {
      if (id && !received.has(id)) received.set(id, at);
      res.writeHead(204).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const d = await deploy(infra, {
    label: 's7',
    sim: { submitQps: 5, maxInFlight: 5, latencyMs: { min: 300, max: 600 } },
    env: {
      WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      LIBLIB_SUBMIT_QPS: '5',
    },
  });
  try {
    await d.spawnWorker();
    const ids = await d.postJobs(
      Array.from({ length: n }, (_, i) => `webhook prompt ${i}`),
      { webhookUrl: url },
    );
    await d.waitEnded(ids, 60_000);
    const deadline = Date.now() + 30_000;
    while (received.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const delays = [...received].flatMap(([id, at]) => {
      const finishedAt = Number(id.slice(id.lastIndexOf('.') + 1));
      return Number.isFinite(finishedAt) && finishedAt > 0 ? [(at - finishedAt) / 1000] : [];
    });
    const scenario = '7 webhooks';
    return [
      { scenario, name: `delivered`, value: received.size, unit: `of ${n}`, digits: 0 },
      {
        scenario,
        name: 'job end → webhook received p50',
        value: quantile(delays, 0.5),
        unit: 's',
        digits: 3,
      },
      {
        scenario,
        name: 'job end → webhook received p95',
        value: quantile(delays, 0.95),
        unit: 's',
        target: { op: '<=', value: 0.5 },
        digits: 3,
      },
    ];
  } finally {
    await d.close();
    receiver.closeAllConnections();
    receiver.close();
  }
}
