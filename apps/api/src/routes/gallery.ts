/**
 * The gallery at `/ui`: server-rendered pages of batches, their images and their jobs, for people
 * who would rather look than read JSON. See `gallery/session.ts` for who may see it and how POSTs
 * are kept same-origin, `gallery/pages.ts` for the markup, `reads.ts` for every record it reads.
 *
 * - `GET /ui` batches, newest first (`?page=`)
 * - `GET /ui/batches/:id` progress, actions, state filters (`?state=`) and a grid of thumbnails
 *   in submission order, a page at a time (`?cursor=`; the script loads the next page as the grid
 *   scrolls, and refreshes progress and unfinished tiles every 2 s)
 * - `GET /ui/jobs/:id` everything about one job, and its BullMQ jobs with their log lines
 * - `GET /ui/files/<key>` a stored output or thumbnail, streamed from S3
 * - `POST /ui/batches/:id/cancel`, `POST /ui/batches/:id/retry`, `POST /ui/login`, `POST /ui/logout`
 */
import { pipeline } from 'node:stream/promises';
import {
  type BatchRecord,
  isBatchDone,
  type JobRecord,
  type JobState,
  QUEUE,
  submitQueueName,
} from '@genqueue/core';
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import helmet from 'helmet';
import { ADMIN_BASE_PATH } from '../admin.ts';
import type { RouteDeps } from '../deps.ts';
import { GALLERY_CSS, GALLERY_JS } from '../gallery/assets.ts';
import { type Html, html } from '../gallery/html.ts';
import {
  type BullJobSummary,
  batchesPage,
  batchPage,
  batchProgress,
  grid,
  jobPage,
  LOGIN_STYLE_SOURCE,
  layout,
  loginPage,
  STATE_FILTERS,
  tile,
} from '../gallery/pages.ts';
import {
  type GalleryLocals,
  loginPrincipal,
  requireGalleryAuth,
  safeNext,
  sameOriginPosts,
  sessionCookie,
  sessionValue,
} from '../gallery/session.ts';
import { Reads } from '../reads.ts';
import { streamResults } from './results.ts';

/** Tiles per page of a batch's grid. */
export const GRID_PAGE = 60;
/** Batches per page of the batches page. */
export const BATCHES_PAGE = 25;
/** Most tiles one refresh asks for. */
const MAX_TILE_REFRESH = 100;

const galleryCsp: RequestHandler = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    mediaSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

const loginCsp: RequestHandler = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    styleSrc: [LOGIN_STYLE_SOURCE],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

const STATIC_FILES = new Map([
  ['gallery.js', { type: 'text/javascript; charset=utf-8', body: GALLERY_JS }],
  ['gallery.css', { type: 'text/css; charset=utf-8', body: GALLERY_CSS }],
]);

function send(res: Response, page: Html, status = 200): void {
  res.status(status).set('Cache-Control', 'no-store').type('html').send(page.text);
}

function readsOf(deps: RouteDeps, res: Response): Reads {
  return new Reads(deps.store, deps.objectUrl, (res.locals as GalleryLocals).readScope);
}

function filterOf(raw: unknown): { label: string; states?: ReadonlySet<JobState> } {
  const filter = STATE_FILTERS.find((f) => f.label === raw) ?? STATE_FILTERS[0]!;
  return { label: filter.label, states: filter.states ? new Set(filter.states) : undefined };
}

function intParam(raw: unknown, fallback: number, max: number): number {
  return typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Math.min(Number(raw), max) : fallback;
}

/** The gallery's routes. Mount at the app's root. */
export function galleryRouter(deps: RouteDeps): Router {
  const router = Router();
  const now = deps.now ?? Date.now;
  const credentials = { keys: deps.keys, admin: deps.config.admin };
  const boardOn = Boolean(deps.config.admin.user && deps.config.admin.password);
  const notFound = (res: Response, what: string) =>
    send(res, layout('Not found', html`<h1>Not found</h1><p>No such ${what}.</p>`), 404);

  // Same-origin requests keep their Origin and Referer (helmet's `no-referrer` would make form
  // POSTs say `Origin: null`); other sites still learn nothing.
  router.use('/ui', (_req, res, next) => {
    res.set('Referrer-Policy', 'same-origin');
    next();
  });
  router.use('/ui', sameOriginPosts);

  router.get('/ui/login', loginCsp, (req: Request, res: Response) => {
    send(res, loginPage({ next: safeNext(req.query.next) }));
  });
  router.post(
    '/ui/login',
    loginCsp,
    express.urlencoded({ extended: false, limit: '8kb' }),
    async (req: Request, res: Response) => {
      const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
      const next = safeNext(req.body?.next);
      if (!(await deps.authGuard.before(req, res))) return;
      const principal = await loginPrincipal(deps.keys, token);
      if (!principal) {
        await deps.authGuard.failed(req);
        send(res, loginPage({ next, error: 'That API token is not valid here.' }), 401);
        return;
      }
      res.set('Set-Cookie', sessionCookie(sessionValue(principal, now()))).redirect(303, next);
    },
  );
  router.post('/ui/logout', (_req: Request, res: Response) => {
    res.set('Set-Cookie', sessionCookie('')).redirect(303, '/ui/login');
  });

  router.use('/ui', requireGalleryAuth(credentials, now), galleryCsp);

  router.get('/ui/static/:file', (req: Request<{ file: string }>, res: Response) => {
    const file = STATIC_FILES.get(req.params.file);
    if (!file) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    res.set('Cache-Control', 'private, max-age=3600').type(file.type).send(file.body);
  });

  router.get('/ui', async (req: Request, res: Response) => {
    const page = Math.max(1, intParam(req.query.page, 1, 100_000));
    const { batches, more } = await readsOf(deps, res).batches((page - 1) * BATCHES_PAGE, BATCHES_PAGE);
    send(res, batchesPage(batches, { page, more, now: now() }));
  });

  async function batchOr404(req: Request<{ id: string }>, res: Response): Promise<BatchRecord | undefined> {
    const batch = await readsOf(deps, res).batch(req.params.id);
    if (!batch) notFound(res, 'batch');
    return batch;
  }

  router.get('/ui/batches/:id', async (req: Request<{ id: string }>, res: Response) => {
    const batch = await batchOr404(req, res);
    if (!batch) return;
    const filter = filterOf(req.query.state);
    const cursor = intParam(req.query.cursor, 0, batch.total);
    const page = await readsOf(deps, res).batchJobs(batch, {
      start: cursor,
      limit: GRID_PAGE,
      states: filter.states,
    });
    const tiles = page.jobs.map((job, n) => ({ job, index: page.indexes[n]! }));
    if (req.query.fragment === '1') {
      send(res, grid(batch.id, tiles, { next: page.next, filter: filter.label }));
      return;
    }
    send(res, batchPage(batch, tiles, { next: page.next, filter: filter.label, now: now(), cursor }));
  });

  router.get('/ui/batches/:id/progress', async (req: Request<{ id: string }>, res: Response) => {
    const batch = await batchOr404(req, res);
    if (batch) send(res, batchProgress(batch, now()));
  });

  router.get('/ui/batches/:id/tiles', async (req: Request<{ id: string }>, res: Response) => {
    const batch = await batchOr404(req, res);
    if (!batch) return;
    const indexes = String(req.query.indexes ?? '')
      .split(',')
      .filter((s) => /^\d{1,6}$/.test(s))
      .map(Number)
      .filter((i) => i < batch.total)
      .slice(0, MAX_TILE_REFRESH);
    const tiles = await readsOf(deps, res).batchJobsAt(batch, indexes);
    send(res, html`${tiles.map(({ job, index }) => tile(job, index))}`);
  });

  router.get(
    '/ui/batches/:id/results.:format',
    async (req: Request<{ id: string; format: string }>, res: Response) => {
      const { format } = req.params;
      if (format !== 'jsonl' && format !== 'csv') {
        notFound(res, 'file');
        return;
      }
      const batch = await readsOf(deps, res).batch(req.params.id);
      if (!batch) {
        notFound(res, 'batch');
        return;
      }
      await streamResults(readsOf(deps, res), batch, format, res);
    },
  );

  router.post('/ui/batches/:id/cancel', async (req: Request<{ id: string }>, res: Response) => {
    const batch = await batchOr404(req, res);
    if (!batch || !writable(res)) return;
    if (!isBatchDone(batch)) {
      await deps.lifecycle.cancelBatch(batch.id, { code: 'canceled', message: 'batch canceled by user' });
    }
    res.redirect(303, `/ui/batches/${batch.id}`);
  });

  router.post('/ui/batches/:id/retry', async (req: Request<{ id: string }>, res: Response) => {
    const batch = await batchOr404(req, res);
    if (!batch || !writable(res)) return;
    await deps.lifecycle.retryBatch(batch.id);
    res.redirect(303, `/ui/batches/${batch.id}`);
  });

  router.get('/ui/jobs/:id', async (req: Request<{ id: string }>, res: Response) => {
    const reads = readsOf(deps, res);
    const job = await reads.job(req.params.id);
    if (!job) {
      notFound(res, 'job');
      return;
    }
    const [outputs, webhooks, bull] = await Promise.all([
      Promise.all(job.outputs.map(async (o) => ({ ...o, url: await reads.url(o.bucket, o.key) }))),
      deps.store.listWebhooks(job.id),
      bullJobs(deps, job),
    ]);
    send(
      res,
      jobPage(job, {
        outputs,
        webhooks,
        bull,
        boardUrl: boardOn
          ? (queue, id) => `${ADMIN_BASE_PATH}/queue/${encodeURIComponent(queue)}/${encodeURIComponent(id)}`
          : undefined,
      }),
    );
  });

  router.get('/ui/files/*key', async (req: Request<{ key: string[] }>, res: Response) => {
    const key = req.params.key.join('/');
    const object = await findStoredObject(readsOf(deps, res), key);
    if (!object || !deps.readObject) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    const stored = await deps.readObject(object.bucket, key);
    if (!stored) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    res.status(200).set({
      'Content-Type': stored.contentType ?? 'application/octet-stream',
      'Cache-Control': 'private, max-age=86400, immutable',
      'X-Content-Type-Options': 'nosniff',
      ...(stored.contentLength === undefined ? {} : { 'Content-Length': String(stored.contentLength) }),
    });
    await pipeline(stored.body, res).catch(() => res.destroy());
  });

  return router;
}

/** Whether the caller may cancel and retry; answers 403 when not. */
function writable(res: Response): boolean {
  if ((res.locals as GalleryLocals).canWrite) return true;
  res.status(403).type('text/plain').send('this key may only read (it lacks the jobs:write scope)');
  return false;
}

/**
 * The stored object a gallery URL names, if the caller may see the job it belongs to: keys are
 * `<batch id or jobs>/<job id>/<n>.<ext>` and thumbnails `<n>.thumb.webp` beside them.
 */
async function findStoredObject(reads: Reads, key: string): Promise<{ bucket: string } | undefined> {
  const jobId = key.split('/')[1];
  if (!jobId) return undefined;
  const job = await reads.job(jobId);
  return job?.outputs.find((o) => o.key === key || o.thumbnail?.key === key);
}

/** The job's BullMQ jobs still in their queues, with their log lines, for the job page. */
async function bullJobs(deps: RouteDeps, job: JobRecord): Promise<BullJobSummary[]> {
  const queues = [deps.queues.submit.get(job.provider), deps.queues.poll, deps.queues.sink].filter(
    (q) => q !== undefined,
  );
  const found = await Promise.all(
    queues.map(async (queue) => {
      const bull = await queue.getJob(job.id);
      if (!bull) return undefined;
      const [state, { logs }] = await Promise.all([bull.getState(), queue.getJobLogs(job.id, 0, 199)]);
      return {
        queue: queue.name,
        id: job.id,
        state,
        name: bull.name,
        logs,
        returnValue: bull.returnvalue,
        failedReason: bull.failedReason || undefined,
        attemptsMade: bull.attemptsMade,
      } satisfies BullJobSummary;
    }),
  );
  const order = [submitQueueName(job.provider), QUEUE.poll, QUEUE.sink];
  return found.filter((b) => b !== undefined).sort((a, b) => order.indexOf(a.queue) - order.indexOf(b.queue));
}
