/**
 * Request limits and secure headers, through a real API:
 * - prompts of exactly 2000 characters pass and 2001 are refused (Kontext, 002: ≤ 2000), for jobs
 *   and batch items;
 * - bodies over the limits answer 413 (64 MB single job, 32 MB JSON batch, 64 MB upload, 50,000
 *   items), and requests node's parser refuses (headers over 16 KiB, raw non-ASCII bytes in the
 *   URL) still answer JSON;
 * - helmet's headers on every kind of answer (CSP that allows nothing, nosniff, frame options,
 *   HSTS, no `x-powered-by`), and the board's own CSP.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Stack, startStack, TEST_TOKEN } from '../support/stack.ts';
import { closeAgent, type RawResponse, send } from './support/http.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 0 });
});

afterAll(async () => {
  closeAgent();
  await stack?.close();
});

const bearer = { authorization: `Bearer ${TEST_TOKEN}` };
const json = { ...bearer, 'content-type': 'application/json' };

function errorOf(res: RawResponse): {
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
} {
  return (res.json as { error: { code: string; message: string } }).error;
}

describe('prompt length (Kontext: at most 2000 characters)', () => {
  const cases: [string, string][] = [
    ['ASCII', 'a'],
    ['CJK', '字'],
  ];
  for (const [label, char] of cases) {
    it(`takes 2000 ${label} characters and refuses 2001, naming input.prompt (jobs)`, async () => {
      for (const operation of ['kontext.text2img', 'kontext.img2img']) {
        const input = (prompt: string) =>
          operation === 'kontext.img2img'
            ? { prompt, image_list: ['https://example.com/a.png'] }
            : { prompt };
        const ok = await send(stack.api.url, {
          method: 'POST',
          path: '/v1/jobs',
          headers: json,
          body: JSON.stringify({ operation, input: input(char.repeat(2000)) }),
        });
        expect(ok.status, `${operation} ${ok.text}`).toBe(202);
        const tooLong = await send(stack.api.url, {
          method: 'POST',
          path: '/v1/jobs',
          headers: json,
          body: JSON.stringify({ operation, input: input(char.repeat(2001)) }),
        });
        expect(tooLong.status, operation).toBe(400);
        expect(errorOf(tooLong).issues?.map((i) => i.path)).toContain('input.prompt');
        expect(errorOf(tooLong).message).toMatch(/2000/);
      }
    });
  }

  it('takes 2000 characters and refuses 2001 in a batch, naming the row', async () => {
    const ok = await send(stack.api.url, {
      method: 'POST',
      path: '/v1/batches',
      headers: json,
      body: JSON.stringify({ operation: 'kontext.text2img', prompts: ['a'.repeat(2000), '字'.repeat(2000)] }),
    });
    expect(ok.status, ok.text).toBe(202);
    const tooLong = await send(stack.api.url, {
      method: 'POST',
      path: '/v1/batches',
      headers: json,
      body: JSON.stringify({ operation: 'kontext.text2img', prompts: ['a'.repeat(2000), 'a'.repeat(2001)] }),
    });
    expect(tooLong.status).toBe(400);
    expect(errorOf(tooLong).issues?.map((i) => i.path)).toEqual(['prompts[1]']);
    const csv = await send(stack.api.url, {
      method: 'POST',
      path: '/v1/batches?operation=kontext.text2img',
      headers: { ...bearer, 'content-type': 'text/csv' },
      body: `prompt\n${'a'.repeat(2000)}\n${'b'.repeat(2001)}\n`,
    });
    expect(csv.status).toBe(400);
    expect(errorOf(csv).issues?.map((i) => i.path)).toEqual(['rows[2].input.prompt']);
  });
});

/** Sends a request on a raw socket and reads the answer, even if the server closes mid-upload. */
function rawPost(path: string, headers: Record<string, string>, body: Buffer): Promise<string> {
  const url = new URL(stack.api.url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may close while the body is still being sent (it refuses to read the rest).
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    const head = Object.entries({ ...headers, host: url.host, 'content-length': String(body.length) })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`POST ${path} HTTP/1.1\r\n${head}connection: close\r\n\r\n`);
    socket.end(body);
  });
}

describe('size limits', () => {
  it('answers 413 payload_too_large to a single-job body over 64 MB, with or without a length', async () => {
    const body = JSON.stringify({
      operation: 'kontext.text2img',
      input: { prompt: 'p', pad: 'x'.repeat(64 * 1024 * 1024) },
    });
    for (const headers of [json, { ...json, 'transfer-encoding': 'chunked' }]) {
      const res = await send(stack.api.url, { method: 'POST', path: '/v1/jobs', headers, body });
      expect(res.status).toBe(413);
      expect(errorOf(res).code).toBe('payload_too_large');
    }
  });

  it('answers 413 to a JSON batch over 32 MB and to more than 50,000 items', async () => {
    const big = JSON.stringify({ operation: 'kontext.text2img', prompts: ['x'.repeat(33 * 1024 * 1024)] });
    const res = await send(stack.api.url, { method: 'POST', path: '/v1/batches', headers: json, body: big });
    expect(res.status).toBe(413);
    expect(errorOf(res).code).toBe('payload_too_large');
    const many = await send(stack.api.url, {
      method: 'POST',
      path: '/v1/batches',
      headers: json,
      body: JSON.stringify({ operation: 'kontext.text2img', prompts: new Array(50_001).fill('p') }),
    });
    expect(many.status).toBe(413);
    expect(errorOf(many).code).toBe('too_many_items');
  });

  it('answers 413 to a CSV or NDJSON upload over 64 MB, and the process stays up', async () => {
    const pad = Buffer.alloc(64 * 1024 * 1024 + 1024, 0x61);
    for (const [type, start] of [
      ['text/csv', 'prompt\n'],
      ['application/x-ndjson', '{"prompt":"'],
    ]) {
      const answer = await rawPost(
        '/v1/batches?operation=kontext.text2img',
        { ...bearer, 'content-type': type! },
        Buffer.concat([Buffer.from(start!), pad]),
      );
      expect(answer, type).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer, type).toContain('"payload_too_large"');
    }
    expect((await send(stack.api.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
  });

  it('answers JSON when node refuses a request before the app (headers over 16 KiB, raw bytes in the URL)', async () => {
    const headers = await send(stack.api.url, {
      method: 'GET',
      path: '/v1/jobs/j_0',
      headers: { ...bearer, 'x-pad': 'p'.repeat(20_000) },
    });
    expect(headers.status).toBe(431);
    expect(headers.headers['content-type']).toMatch(/^application\/json/);
    expect(errorOf(headers).code).toBe('headers_too_large');
    const url = await send(stack.api.url, { method: 'GET', path: '/v1/jobs/\u00e9\u00ff', headers: bearer });
    expect(url.status).toBe(400);
    expect(errorOf(url).message).toMatch(/URL/);
  });
});

describe('secure headers', () => {
  const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

  it('on every kind of API answer: CSP allowing nothing, nosniff, frame options, HSTS, no x-powered-by', async () => {
    const answers = await Promise.all([
      send(stack.api.url, { method: 'GET', path: '/healthz' }),
      send(stack.api.url, { method: 'GET', path: '/v1/jobs/j_0' }),
      send(stack.api.url, { method: 'GET', path: '/v1/jobs/j_0', headers: bearer }),
      send(stack.api.url, { method: 'POST', path: '/v1/jobs', headers: json, body: '{' }),
      send(stack.api.url, { method: 'GET', path: '/nowhere' }),
      send(stack.api.url, {
        method: 'POST',
        path: '/v1/jobs',
        headers: json,
        body: JSON.stringify({ operation: 'kontext.text2img', input: { prompt: 'p' } }),
      }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 401, 404, 400, 404, 202]);
    for (const res of answers) {
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toMatch(/^(DENY|SAMEORIGIN)$/);
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('on the board: its own CSP (scripts from itself only, no framing)', async () => {
    const page = await send(stack.api.url, {
      method: 'GET',
      path: '/admin/queues',
      headers: { authorization: basic },
    });
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-powered-by']).toBeUndefined();
  });
});
