/**
 * The peer: the design a BullMQ user would write instead of genqueue, run as a worker process.
 * One queue; BullMQ's own limiter (`max` = the provider's QPS per 1000 ms, which counts job
 * starts: 1 for LiblibAI) and a global concurrency of 5 (the provider's in-flight limit); each job submits its task and then polls it
 * inside the processor every `PEER_POLL_MS`, holding its concurrency slot until the task ends.
 * A refused submission throws, and BullMQ retries it with backoff.
 *
 * It calls the provider through genqueue's LiblibAI adapter (the SDK such a user would use), so the
 * HTTP layer and its settings are the same as genqueue's.
 *
 * Environment: genqueue's (`loadConfig`; `LIBLIB_SUBMIT_QPS` is the limiter's `max`), plus
 * `PEER_QUEUE` and `PEER_POLL_MS`.
 */
import { loadConfig } from '@genqueue/config';
import { createRedis, isTaskEnded } from '@genqueue/core';
import { createAdapter, descriptorOf } from '@genqueue/providers';
import { Worker } from 'bullmq';

/** What each peer job answers: enough for the benchmark to measure it on the simulator's record. */
export interface PeerResult {
  taskId: string;
  /** When the processor saw the task ended, epoch ms. */
  seenEndedAt: number;
}

export const PEER_CONCURRENCY = 5;

const config = loadConfig(process.env);
const pollMs = Number(process.env.PEER_POLL_MS ?? 250);
// The peer uses one account, as a plain BullMQ user would: the first configured one.
const account = config.accounts.liblib[0];
if (!account) throw new Error('the peer needs LIBLIB_ACCESS_KEY and LIBLIB_SECRET_KEY');
const provider = createAdapter(descriptorOf('liblib')!, account);
const connection = createRedis(config.redis);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const worker = new Worker<{ prompt: string; taskId?: string }, PeerResult>(
  process.env.PEER_QUEUE ?? 'peer',
  async (job) => {
    let taskId = job.data.taskId;
    if (!taskId) {
      ({ taskId } = await provider.submit(
        'kontext.text2img',
        { prompt: job.data.prompt },
        { jobId: job.id! },
      ));
      await job.updateData({ ...job.data, taskId });
    }
    for (;;) {
      const status = await provider.status('kontext.text2img', taskId, { jobId: job.id! });
      if (isTaskEnded(status)) return { taskId, seenEndedAt: Date.now() };
      await sleep(pollMs);
    }
  },
  {
    connection,
    prefix: config.queuePrefix,
    concurrency: PEER_CONCURRENCY,
    limiter: { max: config.providers.liblib.limits.submitQps, duration: 1_000 },
  },
);
worker.on('error', (error) => process.stderr.write(`peer worker: ${error.message}\n`));
await worker.waitUntilReady();
process.stdout.write('"worker started"\n');

process.once('SIGTERM', async () => {
  await worker.close();
  await provider.close?.();
  connection.disconnect();
  process.exit(0);
});
