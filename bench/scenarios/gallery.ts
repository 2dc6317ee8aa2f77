/**
 * 8. The gallery and the result files on a 50,000-job batch (no worker running; every record is
 * given one stored output with a thumbnail, as a succeeded job has): the server time of the batch
 * page's first page, its last page and a state filter that matches nothing (the bounded scan),
 * and `results.jsonl` streamed end to end: lines per second and the API process's RSS growth
 * while it streams (the API runs in this process), once with public output URLs (`S3_PUBLIC_URL`)
 * and once presigned (two URLs a line: the output and its thumbnail).
 *
 * 9. The sink's thumbnail: the same 1024 × 1024 PNG stored from a local HTTP server into s3rver
 * with thumbnails on and off, alternately; the difference of the mean times is what each image's
 * thumbnail costs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createS3Client, Sink } from '@genqueue/sink';
import sharp from 'sharp';
import { request } from 'undici';
import { BENCH_TOKEN, type Deployment, deploy, type Infra } from '../lib/deployment.ts';
import type { Figure } from '../lib/figures.ts';
import { mean, quantile } from '../lib/stats.ts';
import type { RunOptions } from './throughput.ts';

const JOBS = 50_000;
const MB = 1024 * 1024;

async function timeGet(url: string, headers: Record<string, string>): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const res = await request(url, { headers });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}`);
  return { ms: performance.now() - started, bytes: text.length };
}

/** A batch of `jobs` prompts, each record given one stored output with a thumbnail. */
async function seedBatch(d: Deployment, bucket: string, jobs: number): Promise<string> {
  const { status, body } = await d.call<{ id: string }>('POST', '/v1/batches', {
    operation: 'kontext.text2img',
    prompts: Array.from({ length: jobs }, (_, i) => `a gallery benchmark prompt, number ${i}`),
  });
  if (status !== 202) throw new Error(`POST /v1/batches answered ${status}`);
  const batchId = body.id;
  for (let start = 0; start < jobs; start += 1_000) {
    const ids = await d.store.batchItemIds(batchId, start, Math.min(jobs, start + 1_000));
    await Promise.all(
      ids.map((id, i) => {
        const key = `${batchId}/${id}/0`;
        // A fixture written straight into the record (the store's transitions would need the
        // whole pipeline to run): the fields a succeeded job's record holds.
        return d.redis.hset(
          d.store.jobKey(id),
          'providerTaskId',
          `task-${start + i}`,
          'pointsCost',
          '29',
          'outputs',
          JSON.stringify([
            {
              bucket,
              key: `${key}.png`,
              contentType: 'image/png',
              bytes: 123_456,
              sha256: 'ab'.repeat(32),
              seed: start + i,
              thumbnail: { key: `${key}.thumb.webp` },
            },
          ]),
        );
      }),
    );
  }
  return batchId;
}

/** Streams `results.jsonl` once to warm up, then once measured: lines/s and the RSS growth. */
async function streamResults(d: Deployment, batchId: string, jobs: number) {
  const url = `${d.api.url}/v1/batches/${batchId}/results.jsonl`;
  const headers = { authorization: `Bearer ${BENCH_TOKEN}` };
  await timeGet(url, headers);
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const started = performance.now();
  const res = await request(url, { headers });
  let lines = 0;
  let bytes = 0;
  for await (const chunk of res.body) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    for (let i = buffer.indexOf(10); i !== -1; i = buffer.indexOf(10, i + 1)) lines++;
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  if (lines !== jobs) throw new Error(`results.jsonl had ${lines} lines, expected ${jobs}`);
  return { linesPerSecond: lines / seconds, rssGrowthMb: (peak - baseline) / MB, mb: bytes / MB };
}

export async function galleryAndResults(infra: Infra, { log }: RunOptions): Promise<Figure[]> {
  log(`8. gallery and results.jsonl: a ${JOBS.toLocaleString('en')}-job batch`);
  const publicUrl = `${infra.s3.endpoint}/${infra.s3.bucket}`;
  const d = await deploy(infra, {
    label: 's8',
    sim: { submitQps: 1, maxInFlight: 1 },
    env: { S3_PUBLIC_URL: publicUrl },
  });
  let presigned: Awaited<ReturnType<typeof streamResults>>;
  const scenario = '8 gallery, 50,000 jobs';
  const figures: Figure[] = [];
  try {
    const batchId = await seedBatch(d, infra.s3.bucket, JOBS);
    const auth = { authorization: `Bearer ${BENCH_TOKEN}`, accept: 'text/html' };
    const page = async (query: string) => {
      const times: number[] = [];
      for (let i = 0; i < 15; i++)
        times.push((await timeGet(`${d.api.url}/ui/batches/${batchId}${query}`, auth)).ms);
      return { p50: quantile(times, 0.5), p95: quantile(times, 0.95) };
    };
    const first = await page('');
    const last = await page(`?cursor=${JOBS - 60}`);
    const filtered = await page('?state=failed');

    const results = await streamResults(d, batchId, JOBS);
    figures.push(
      {
        scenario,
        name: 'batch page, first page (60 tiles) p50 / p95',
        value: first.p50,
        unit: 'ms',
        target: { op: '<=', value: 200 },
        digits: 0,
        note: `p95 ${first.p95.toFixed(0)} ms`,
      },
      { scenario, name: 'batch page, last page p50', value: last.p50, unit: 'ms', digits: 0 },
      {
        scenario,
        name: 'batch page, state filter matching nothing (5,000 scanned) p50',
        value: filtered.p50,
        unit: 'ms',
        digits: 0,
      },
      {
        scenario,
        name: `results.jsonl throughput, public URLs (${results.mb.toFixed(1)} MB)`,
        value: results.linesPerSecond,
        unit: 'lines/s',
        target: { op: '>=', value: 20_000 },
        digits: 0,
      },
      {
        scenario,
        name: 'API RSS growth while streaming results.jsonl',
        value: results.rssGrowthMb,
        unit: 'MB',
        digits: 1,
        note: `${results.mb.toFixed(0)} MB streamed`,
      },
    );
  } finally {
    await d.close();
  }
  const small = await deploy(infra, { label: 's8p', sim: { submitQps: 1, maxInFlight: 1 } });
  try {
    presigned = await streamResults(small, await seedBatch(small, infra.s3.bucket, JOBS), JOBS);
  } finally {
    await small.close();
  }
  figures.push({
    scenario,
    name: 'results.jsonl throughput, presigned URLs',
    value: presigned.linesPerSecond,
    unit: 'lines/s',
    target: { op: '>=', value: 20_000 },
    digits: 0,
    note: `RSS growth ${presigned.rssGrowthMb.toFixed(1)} MB`,
  });
  return figures;
}

export async function thumbnailCost(infra: Infra, { quick, log }: RunOptions): Promise<Figure[]> {
  const rounds = quick ? 15 : 40;
  log(`9. sink thumbnail cost: ${rounds} × 2 stores of a 1024 × 1024 PNG`);
  const width = 1024;
  const pixels = Buffer.alloc(width * width * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + (i >> 11)) & 0xff;
  const png = await sharp(pixels, { raw: { width, height: width, channels: 3 } })
    .png()
    .toBuffer();
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/image.png`;
  const s3 = createS3Client({
    endpoint: infra.s3.endpoint,
    region: 'us-east-1',
    accessKeyId: infra.s3.accessKeyId,
    secretAccessKey: infra.s3.secretAccessKey,
    forcePathStyle: true,
  });
  const common = { s3, bucket: infra.s3.bucket, maxBytes: 64 * MB };
  const withThumb = new Sink(common);
  const without = new Sink({ ...common, thumbnails: false });
  const on: number[] = [];
  const off: number[] = [];
  try {
    for (let i = 0; i < rounds + 2; i++) {
      for (const [sink, times] of i % 2
        ? ([
            [withThumb, on],
            [without, off],
          ] as const)
        : ([
            [without, off],
            [withThumb, on],
          ] as const)) {
        const started = performance.now();
        const stored = await sink.store({
          url,
          key: `bench-thumb/${i}-${times === on ? 'on' : 'off'}`,
          metadata: {},
        });
        if (i >= 2) times.push(performance.now() - started); // the first two rounds warm up
        if (sink === withThumb && !stored.thumbnail) throw new Error('no thumbnail was made');
      }
    }
  } finally {
    await withThumb.close();
    await without.close();
    s3.destroy();
    server.close();
  }
  const scenario = '9 sink thumbnail';
  return [
    {
      scenario,
      name: `store a ${(png.length / MB).toFixed(1)} MB 1024² PNG, thumbnails off / on (mean)`,
      value: mean(off),
      unit: 'ms',
      digits: 1,
      note: `on: ${mean(on).toFixed(1)} ms`,
    },
    {
      scenario,
      name: 'extra time per image for its thumbnail',
      value: mean(on) - mean(off),
      unit: 'ms',
      digits: 1,
    },
  ];
}
