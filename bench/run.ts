/**
 * `npm run bench [-- --quick] [-- --only 1,3]`: genqueue's throughput against the provider
 * simulator, and the costs around it (enqueue, memory, sink, webhooks). A benchmark, not a test:
 * it prints each figure next to its goal and writes `bench/results/<date>.json`.
 *
 * Infrastructure: the configured Redis (REDIS_URL, default 127.0.0.1:6379) or a private
 * redis-server, an in-process s3rver in a temporary directory, one simulator per scenario, the API
 * in this process and the workers as child processes. Every scenario uses its own key prefix and
 * deletes its keys afterwards.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureRedis, startEmbeddedS3 } from '@genqueue/embedded';
import type { Infra } from './lib/deployment.ts';
import { type Figure, met, renderTable, type Skipped } from './lib/figures.ts';
import { baseline } from './scenarios/baseline.ts';
import { enqueueBatches } from './scenarios/enqueue.ts';
import { galleryAndResults, thumbnailCost } from './scenarios/gallery.ts';
import { accountPool } from './scenarios/pool.ts';
import { sinkLarge } from './scenarios/sink.ts';
import { inFlightBound, qpsBound, type RunOptions, realDefaults } from './scenarios/throughput.ts';
import { webhookDelay } from './scenarios/webhooks.ts';

type Scenario = (infra: Infra, options: RunOptions) => Promise<Figure[]>;

const SCENARIOS: Record<string, { title: string; run: Scenario }> = {
  '1': { title: 'QPS-bound', run: qpsBound },
  '2': { title: 'in-flight-bound', run: inFlightBound },
  '3': { title: 'real defaults, scaled', run: realDefaults },
  '4': { title: 'baseline (spec 001 naive client)', run: baseline },
  '5': { title: 'enqueue', run: enqueueBatches },
  '6': { title: 'sink memory', run: sinkLarge },
  '7': { title: 'webhooks', run: webhookDelay },
  '8': { title: 'gallery and results.jsonl, 50,000 jobs', run: galleryAndResults },
  '9': { title: 'sink thumbnail', run: thumbnailCost },
  '10': { title: 'account pool of 1, 2 and 4 accounts', run: accountPool },
};

function parseArgs(argv: string[]): { quick: boolean; only: string[] } {
  const quick = argv.includes('--quick');
  const at = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
  const list = at < 0 ? undefined : argv[at]!.includes('=') ? argv[at]!.split('=')[1] : argv[at + 1];
  const only = list ? list.split(',').map((s) => s.trim()) : Object.keys(SCENARIOS);
  for (const key of only) if (!SCENARIOS[key]) throw new Error(`unknown scenario ${key}; use 1–10`);
  return { quick, only };
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (message: string) =>
    process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

  const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const s3Dir = mkdtempSync(path.join(tmpdir(), 'genqueue-bench-s3-'));
  const s3 = await startEmbeddedS3(s3Dir);
  const infra: Infra = {
    redisUrl: redis.url,
    s3: {
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
  };
  log(
    `${quick ? 'quick run' : 'full run'}; Redis ${redis.child ? '(private) ' : ''}${redis.url}; scenarios ${only.join(', ')}`,
  );

  const figures: Figure[] = [];
  const skipped: Skipped[] = [];
  try {
    for (const key of only) {
      const scenario = SCENARIOS[key]!;
      try {
        figures.push(...(await scenario.run(infra, { quick, log })));
      } catch (error) {
        const reason = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
        log(`${key}. ${scenario.title} failed: ${reason}`);
        skipped.push({ scenario: `${key} ${scenario.title}`, reason: `failed: ${reason}` });
      }
    }
  } finally {
    await s3.stop();
    rmSync(s3Dir, { recursive: true, force: true });
    await redis.stop();
  }

  const seconds = (Date.now() - started) / 1000;
  const table = renderTable(figures, skipped);
  process.stdout.write(`\n${table}\n\n${quick ? 'quick' : 'full'} run took ${seconds.toFixed(0)} s\n`);

  const resultsDir = path.join(import.meta.dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt: new Date(started).toISOString(),
        quick,
        seconds,
        node: process.version,
        figures: figures.map((f) => ({ ...f, met: met(f) })),
        skipped,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  // Child processes and sockets are closed; exit even if a library left a timer behind.
  process.exit(skipped.length > 0 ? 1 : 0);
}

await main();
