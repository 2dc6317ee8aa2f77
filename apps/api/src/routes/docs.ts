/**
 * `GET /v1/openapi.json` (the OpenAPI document) and `GET /docs` (a reference page rendered from it
 * on the server: plain HTML with one inline stylesheet allowed by its hash, no script and nothing
 * from a CDN, so the CSP stays strict). Both behind the API's keys, checked as on the rest of `/v1`.
 */
import { createHash } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { keyAuth } from '../access.ts';
import type { RouteDeps } from '../deps.ts';
import { escapeHtml } from '../gallery/html.ts';
import { openApiDocument } from '../openapi.ts';

type Json = Record<string, unknown>;

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h2{margin-top:2.5rem;border-bottom:1px solid #ddd}section{margin:1.5rem 0}code,pre{font:13px ui-monospace,monospace}
pre{background:#f6f6f6;padding:.75rem;overflow:auto;max-height:28rem}.m{display:inline-block;min-width:4rem;font-weight:600}
details{margin:.25rem 0}summary{cursor:pointer}`;

/** The CSP source that allows exactly the inline stylesheet. */
const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

const pre = (value: unknown) => `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;

function operationHtml(method: string, path: string, op: Json): string {
  const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
  const parts = [
    `<section id="${escapeHtml(`${method}-${path}`)}"><h3><span class="m">${method.toUpperCase()}</span><code>${escapeHtml(path)}</code></h3>`,
    `<p>${escapeHtml(String(op.summary ?? ''))}${op.security && (op.security as unknown[]).length ? ' — needs credentials' : ''}</p>`,
  ];
  if (op.parameters) parts.push(`<details><summary>parameters</summary>${pre(op.parameters)}</details>`);
  for (const [type, media] of Object.entries(body ?? {})) {
    parts.push(
      `<details><summary>request body (${escapeHtml(type)})</summary>${pre(media.schema)}</details>`,
    );
    if (media.examples) parts.push(`<details><summary>examples</summary>${pre(media.examples)}</details>`);
  }
  parts.push(`<details><summary>responses</summary>${pre(op.responses)}</details></section>`);
  return parts.join('\n');
}

/** The reference page: every path, webhook and schema of the document. */
export function docsHtml(doc: Json): string {
  const info = doc.info as Json;
  const sections: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(item)) sections.push(operationHtml(method, path, op));
  }
  const webhooks = Object.entries((doc.webhooks ?? {}) as Record<string, Record<string, Json>>).flatMap(
    ([name, item]) => Object.entries(item).map(([method, op]) => operationHtml(method, name, op)),
  );
  const schemas = Object.entries(((doc.components as Json)?.schemas ?? {}) as Record<string, unknown>)
    .map(
      ([name, schema]) =>
        `<details id="schema-${escapeHtml(name)}"><summary><code>${escapeHtml(name)}</code></summary>${pre(schema)}</details>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(String(info.title))} API reference</title>
<style>${STYLE}</style></head><body>
<h1>${escapeHtml(String(info.title))} ${escapeHtml(String(info.version))}</h1><p>${escapeHtml(String(info.description ?? ''))}</p>
<p>Machine-readable: <code>GET /v1/openapi.json</code> (OpenAPI ${escapeHtml(String(doc.openapi))}).</p>
<h2>Routes</h2>${sections.join('\n')}<h2>Webhooks</h2>${webhooks.join('\n')}<h2>Schemas</h2>${schemas}</body></html>`;
}

/**
 * `/v1/openapi.json` and `/docs`, each behind the same key check as the rest of `/v1` (`API_KEYS`,
 * `API_TOKENS` and stored keys, with the failed-attempt and per-key limits). Any valid key may read
 * them, whatever its scopes: the scopes guard records (`jobs:read`) and actions (`jobs:write`),
 * and the document describes every route and scope without any record in it, so a write-only or
 * an admin key needs it as much as a read-only one.
 */
export function docsRouter(deps: RouteDeps): Router {
  const router = Router();
  const auth = keyAuth(deps.keys, deps.authGuard);
  router.get('/v1/openapi.json', auth, (_req: Request, res: Response) => {
    res.json(openApiDocument());
  });
  router.get('/docs', auth, (_req: Request, res: Response) => {
    res
      .type('html')
      .set('Content-Security-Policy', `default-src 'none'; style-src '${STYLE_HASH}'; frame-ancestors 'none'`)
      .send(docsHtml(openApiDocument()));
  });
  return router;
}
