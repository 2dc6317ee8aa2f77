/**
 * The gallery's pages and the fragments its script swaps in, as escaped HTML (see `html.ts`).
 * No inline script or style anywhere: the CSP allows only `/ui/static/*` (and one hashed style on
 * the login page, which loads before any credential exists).
 */
import { createHash } from 'node:crypto';
import { type BatchRecord, isBatchDone, type JobRecord, type JobState } from '@genqueue/core';
import { Html, html } from './html.ts';

/** Static asset URLs (the query is a cache-buster when the files change). */
const ASSET_VERSION = '1';
const STYLE = `/ui/static/gallery.css?v=${ASSET_VERSION}`;
const SCRIPT = `/ui/static/gallery.js?v=${ASSET_VERSION}`;

/** The states a batch's progress bar shows, in order, with the states each stands for. */
export const PROGRESS_PARTS: { name: string; states: JobState[] }[] = [
  { name: 'succeeded', states: ['succeeded'] },
  { name: 'failed', states: ['failed'] },
  { name: 'canceled', states: ['canceled'] },
  { name: 'running', states: ['submitting', 'running', 'storing'] },
  { name: 'queued', states: ['queued'] },
];

/** The state filters of a batch page. */
export const STATE_FILTERS: { label: string; states?: JobState[] }[] = [
  { label: 'all' },
  { label: 'succeeded', states: ['succeeded'] },
  { label: 'failed', states: ['failed'] },
  { label: 'running', states: ['submitting', 'running', 'storing'] },
  { label: 'queued', states: ['queued'] },
  { label: 'canceled', states: ['canceled'] },
];

const count = (batch: BatchRecord, states: JobState[]) => states.reduce((n, s) => n + batch.counts[s], 0);

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d`;
}

function eta(batch: BatchRecord, now: number): string {
  const finished = count(batch, ['succeeded', 'failed', 'canceled']);
  if (isBatchDone(batch)) return 'done';
  if (finished === 0) return '…';
  const elapsed = now - batch.createdAt;
  return `in ${age((elapsed / finished) * (batch.total - finished))}`;
}

/** A page: head with the stylesheet and script, a header, the body. */
export function layout(title: string, body: Html, options: { signedIn?: boolean } = {}): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · genqueue</title>
<link rel="stylesheet" href="${STYLE}">
<script src="${SCRIPT}" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/ui">genqueue</a>
  <nav>
    <a href="/ui">Batches</a>
    <a href="/admin/queues">Bull Board</a>
    ${
      options.signedIn === false
        ? ''
        : html`<form method="post" action="/ui/logout" class="inline"><button type="submit" class="link">Sign out</button></form>`
    }
  </nav>
</header>
<main>
${body}
</main>
</body>
</html>`;
}

/** The stacked progress bar: SVG rectangles, since the CSP forbids inline widths. */
export function progressBar(batch: BatchRecord): Html {
  let x = 0;
  const total = Math.max(batch.total, 1);
  const rects = PROGRESS_PARTS.map((part) => {
    const width = (count(batch, part.states) / total) * 1000;
    const rect = html`<rect class="p-${part.name}" x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="10"></rect>`;
    x += width;
    return rect;
  });
  return html`<svg class="bar" viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" aria-label="progress">${rects}</svg>`;
}

function countsLine(batch: BatchRecord): Html {
  return html`<span class="counts">${PROGRESS_PARTS.map(
    (part) =>
      html`<span class="c c-${part.name}" data-count="${part.name}">${count(batch, part.states)} ${part.name}</span> `,
  )}</span>`;
}

/** The batches page. */
export function batchesPage(
  batches: BatchRecord[],
  options: { page: number; more: boolean; now: number },
): Html {
  const rows = batches.map(
    (b) => html`<tr>
  <td><a href="/ui/batches/${b.id}">${b.id}</a></td>
  <td>${b.provider} · ${b.operation}</td>
  <td class="progress">${progressBar(b)}${countsLine(b)}</td>
  <td class="num">${b.total}</td>
  <td class="num">${b.pointsCost}</td>
  <td>${eta(b, options.now)}</td>
  <td>${age(options.now - b.createdAt)} ago</td>
</tr>`,
  );
  const pager = html`<p class="pager">
  ${options.page > 1 ? html`<a href="/ui?page=${options.page - 1}">← newer</a>` : ''}
  ${options.more ? html`<a href="/ui?page=${options.page + 1}">older →</a>` : ''}
</p>`;
  return layout(
    'Batches',
    html`<h1>Batches</h1>
${
  batches.length === 0
    ? html`<p class="empty">No batches yet. Submit one with <code>genqueue submit prompts.txt --operation kontext.text2img</code>.</p>`
    : html`<table class="batches">
<thead><tr><th>batch</th><th>operation</th><th>progress</th><th>jobs</th><th>points</th><th>ETA</th><th>age</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}
${pager}`,
  );
}

/** The live part of a batch page: counts, bar, ETA, points. Swapped in by the script every 2 s. */
export function batchProgress(batch: BatchRecord, now: number): Html {
  const done = isBatchDone(batch);
  return html`<section id="progress" class="progress-box" data-done="${done ? '1' : '0'}" data-refresh="/ui/batches/${batch.id}/progress">
  ${progressBar(batch)}
  <p>${countsLine(batch)}</p>
  <p class="meta">${batch.total} jobs · ${batch.pointsCost} points${batch.maxPoints === undefined ? '' : ` of ${batch.maxPoints}`} · ETA ${eta(batch, now)}${
    batch.canceledReason ? html` · <span class="reason">${batch.canceledReason}</span>` : ''
  }</p>
</section>`;
}

/** One tile of the grid: thumbnail (or the state), the prompt, the reason of a failure. */
export function tile(job: JobRecord, index: number): Html {
  const prompt = typeof job.input.prompt === 'string' ? job.input.prompt : '';
  const thumb = job.outputs.find((o) => o.thumbnail)?.thumbnail?.key;
  const pending = job.state !== 'succeeded' && job.state !== 'failed' && job.state !== 'canceled';
  return html`<figure class="tile s-${job.state}" id="t-${index}" data-index="${index}"${pending ? html` data-pending="1"` : ''}>
  <a href="/ui/jobs/${job.id}">${
    thumb
      ? html`<img src="${filePath(thumb)}" alt="${prompt}" loading="lazy" decoding="async" width="192" height="192">`
      : html`<span class="placeholder">${job.state}</span>`
  }</a>
  <figcaption><span class="prompt" title="${prompt}">${prompt}</span>${
    job.error && job.state !== 'succeeded'
      ? html`<span class="error">${job.error.code}: ${job.error.message}</span>`
      : ''
  }</figcaption>
</figure>`;
}

/** Where the gallery serves a stored object. */
export function filePath(key: string): string {
  return `/ui/files/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** A page of tiles and, when more follow, the link (and scroll sentinel) to the next page. */
export function grid(
  batchId: string,
  tiles: { job: JobRecord; index: number }[],
  options: { next?: number; filter: string },
): Html {
  const query = (cursor: number) =>
    `/ui/batches/${batchId}?${options.filter === 'all' ? '' : `state=${options.filter}&`}cursor=${cursor}`;
  return html`${tiles.map(({ job, index }) => tile(job, index))}${
    options.next === undefined
      ? ''
      : html`<a class="more" data-more="${query(options.next)}&fragment=1" href="${query(options.next)}">more…</a>`
  }`;
}

/** The batch page. */
export function batchPage(
  batch: BatchRecord,
  tiles: { job: JobRecord; index: number }[],
  options: { next?: number; filter: string; now: number; cursor: number },
): Html {
  const done = isBatchDone(batch);
  const filters = STATE_FILTERS.map(
    (f) =>
      html`<a class="filter${f.label === options.filter ? ' on' : ''}" href="/ui/batches/${batch.id}${f.label === 'all' ? '' : `?state=${f.label}`}">${f.label}</a>`,
  );
  return layout(
    batch.id,
    html`<h1>Batch <code>${batch.id}</code></h1>
<p class="meta">${batch.provider} · ${batch.operation} · created ${new Date(batch.createdAt).toISOString()}</p>
${batchProgress(batch, options.now)}
<div class="actions">
  <form method="post" action="/ui/batches/${batch.id}/cancel"><button type="submit"${done ? ' disabled' : ''}>Cancel batch</button></form>
  <form method="post" action="/ui/batches/${batch.id}/retry"><button type="submit"${batch.counts.failed === 0 ? ' disabled' : ''}>Retry failed (${batch.counts.failed})</button></form>
  <a class="button" href="/ui/batches/${batch.id}/results.jsonl">Download results.jsonl</a>
  <a class="button" href="/ui/batches/${batch.id}/results.csv">results.csv</a>
</div>
<nav class="filters">${filters}</nav>
${options.cursor > 0 ? html`<p class="meta">from item ${options.cursor + 1} · <a href="/ui/batches/${batch.id}${options.filter === 'all' ? '' : `?state=${options.filter}`}">back to the start</a></p>` : ''}
<section class="grid" id="grid" data-tiles="/ui/batches/${batch.id}/tiles">
${grid(batch.id, tiles, options)}
</section>
${tiles.length === 0 ? html`<p class="empty">No ${options.filter === 'all' ? '' : `${options.filter} `}jobs here.</p>` : ''}`,
  );
}

function time(ms: number | undefined): Html {
  return ms === undefined
    ? html`<span class="meta">—</span>`
    : html`<time>${new Date(ms).toISOString()}</time>`;
}

/** What the job page shows of the job's BullMQ jobs. */
export interface BullJobSummary {
  queue: string;
  id: string;
  state: string;
  name: string;
  logs: string[];
  returnValue?: unknown;
  failedReason?: string;
  attemptsMade: number;
}

/** The job page. */
export function jobPage(
  job: JobRecord & { account?: string },
  options: {
    outputs: {
      key: string;
      contentType: string;
      bytes: number;
      sha256: string;
      seed?: number;
      url: string;
    }[];
    webhooks: {
      id: string;
      type: string;
      attempts: number;
      lastStatus?: number;
      deliveredAt?: number;
      lastError?: string;
    }[];
    bull: BullJobSummary[];
    boardUrl?: (queue: string, id: string) => string;
  },
): Html {
  const times: [string, number | undefined][] = [
    ['created', job.createdAt],
    ['submission started', job.submitStartedAt],
    ['submitted (task id saved)', job.submittedAt],
    ['task ended at the provider', job.taskEndedAt],
    ['finished', job.finishedAt],
  ];
  // Creation is the first change: a new job is queued.
  const changes = [{ state: 'queued', at: job.createdAt }, ...job.history];
  const outputs = options.outputs.map(
    (o) => html`<figure class="output">
  ${
    o.contentType.startsWith('video/')
      ? html`<video src="${filePath(o.key)}" controls preload="metadata"></video>`
      : html`<a href="${filePath(o.key)}"><img src="${filePath(o.key)}" alt="output ${o.key}" loading="lazy"></a>`
  }
  <figcaption><dl>
    <dt>key</dt><dd><code>${o.key}</code></dd>
    <dt>type</dt><dd>${o.contentType}, ${o.bytes} bytes</dd>
    <dt>sha256</dt><dd><code>${o.sha256}</code></dd>
    <dt>seed</dt><dd>${o.seed ?? '—'}</dd>
    <dt>URL</dt><dd><a href="${o.url}">stored object</a></dd>
  </dl></figcaption>
</figure>`,
  );
  const bull = options.bull.map(
    (b) => html`<section class="bull">
  <h3>${b.queue} · ${options.boardUrl ? html`<a href="${options.boardUrl(b.queue, b.id)}">${b.name}</a>` : b.name} <span class="meta">${b.state}, ${b.attemptsMade} attempts made</span></h3>
  ${b.logs.length ? html`<ol class="logs">${b.logs.map((line) => html`<li><code>${line}</code></li>`)}</ol>` : html`<p class="meta">no log lines</p>`}
  ${b.returnValue === undefined || b.returnValue === null ? '' : html`<p>returned <code>${JSON.stringify(b.returnValue)}</code></p>`}
  ${b.failedReason ? html`<p class="error">${b.failedReason}</p>` : ''}
</section>`,
  );
  return layout(
    job.id,
    html`<h1>Job <code>${job.id}</code> <span class="state s-${job.state}">${job.state}</span></h1>
<p class="meta">${job.provider} · ${job.operation}${job.batchId ? html` · batch <a href="/ui/batches/${job.batchId}">${job.batchId}</a>` : ''}</p>
${job.error ? html`<p class="error big">${job.error.code}: ${job.error.message}</p>` : ''}
<div class="columns">
<section>
  <h2>Input</h2>
  <pre class="input">${JSON.stringify(job.input, null, 2)}</pre>
  ${job.metadata ? html`<h2>Metadata</h2><pre>${JSON.stringify(job.metadata, null, 2)}</pre>` : ''}
</section>
<section>
  <h2>Provider</h2>
  <dl>
    <dt>task id</dt><dd><code>${job.providerTaskId ?? '—'}</code></dd>
    <dt>provider status</dt><dd>${job.providerStatus ?? '—'}</dd>
    <dt>account</dt><dd>${job.account ?? 'default'}</dd>
    <dt>submission attempts</dt><dd>${job.attempts}</dd>
    <dt>points</dt><dd>${job.pointsCost ?? '—'}</dd>
  </dl>
  <h2>Times</h2>
  <dl>${times.map(([label, ms]) => html`<dt>${label}</dt><dd>${time(ms)}</dd>`)}</dl>
  <h2>State changes</h2>
  <table class="history"><thead><tr><th>state</th><th>at</th><th>after</th></tr></thead><tbody>${changes.map(
    (c, i) =>
      html`<tr><td><span class="state s-${c.state}">${c.state}</span></td><td>${time(c.at)}</td><td>${i === 0 ? '—' : `${((c.at - changes[i - 1]!.at) / 1000).toFixed(1)} s`}</td></tr>`,
  )}</tbody></table>
</section>
</div>
<h2>Outputs</h2>
${outputs.length ? html`<div class="outputs">${outputs}</div>` : html`<p class="meta">none yet</p>`}
<h2>Webhook deliveries</h2>
${
  options.webhooks.length
    ? html`<table><thead><tr><th>delivery</th><th>type</th><th>attempts</th><th>last status</th><th>delivered</th></tr></thead><tbody>${options.webhooks.map(
        (w) =>
          html`<tr><td><code>${w.id}</code></td><td>${w.type}</td><td>${w.attempts}</td><td>${w.lastStatus ?? w.lastError ?? '—'}</td><td>${time(w.deliveredAt)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="meta">none</p>`
}
<h2>BullMQ jobs</h2>
${bull.length ? bull : html`<p class="meta">none left in the queues (finished BullMQ jobs are removed after a while; this record stays)</p>`}`,
  );
}

const LOGIN_STYLE =
  'body{font:16px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;background:#f4f4f6}' +
  'form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;display:grid;gap:.8rem;width:22rem}' +
  'input{font:inherit;padding:.5rem}button{font:inherit;padding:.5rem;cursor:pointer}.error{color:#b00020}';

/** The CSP source that allows the login page's one inline style. */
export const LOGIN_STYLE_SOURCE = `'sha256-${createHash('sha256').update(LOGIN_STYLE).digest('base64')}'`;

/** The login form: an API token, posted to `/ui/login`. */
export function loginPage(options: { next: string; error?: string }): Html {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · genqueue</title>
<style>${new Html(LOGIN_STYLE)}</style>
</head>
<body>
<form method="post" action="/ui/login">
  <h1>genqueue</h1>
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <input type="hidden" name="next" value="${options.next}">
  ${options.error ? html`<p class="error">${options.error}</p>` : ''}
  <button type="submit">Sign in</button>
  <small>Or open any page with the Bull Board admin's user and password.</small>
</form>
</body>
</html>`;
}
