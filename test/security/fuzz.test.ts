/**
 * The API fuzzer: at least 1,000 generated invalid or odd requests per route, against a real API
 * (real Redis, no worker, so nothing is submitted). Every answer must be a 2xx (valid by chance),
 * or a 4xx with a JSON `{ error: { code, message } }` — never a 5xx — and the process must still
 * answer `/healthz` after each route.
 *
 * Seeds: `FUZZ_SEED=<n>` replays a run; on failure fast-check prints the seed and the shrunk request.
 * `FUZZ_RUNS=<n>` changes the requests per route (default 1000).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, ADMIN_TOKEN, type Stack, startStack, TEST_TOKEN } from '../support/stack.ts';
import {
  bodyHeaders,
  brokenJsonText,
  contentType,
  deepJson,
  hugeBody,
  oddJson,
  oddNumber,
  oddQuery,
  oddSegment,
  oddString,
  wrongAuthorization,
} from './support/arbitraries.ts';
import { brokenPromise, closeAgent, type RawRequest, type RawResponse, send } from './support/http.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const BEARER = `Bearer ${TEST_TOKEN}`;
const METRICS_TOKEN = 'fuzz-metrics-token-77d1';
const BASIC = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

let stack: Stack;
/** Requests sent per route, printed at the end. */
const counts = new Map<string, number>();
/** Answers by status, per route, printed at the end. */
const statuses = new Map<string, Map<number, number>>();
/** Ids of real jobs and batches, so some fuzzed ids exist. */
const jobIds: string[] = [];
const batchIds: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    workers: 0,
    env: {
      METRICS_TOKEN: METRICS_TOKEN,
      WEBHOOK_SECRET: `whsec_${Buffer.from('fuzz-webhook-secret').toString('base64')}`,
    },
  });
  for (const prompt of ['one', 'two', 'three']) {
    const { status, body } = await stack.call<{ id: string }>('POST', '/v1/jobs', {
      operation: 'kontext.text2img',
      input: { prompt },
    });
    expect(status).toBe(202);
    jobIds.push(body.id);
  }
  for (const prompts of [['b-one', 'b-two'], ['b-three']]) {
    const { status, body } = await stack.call<{ id: string }>('POST', '/v1/batches', {
      operation: 'kontext.text2img',
      prompts,
    });
    expect(status).toBe(202);
    batchIds.push(body.id);
    jobIds.push((await stack.itemIds(body.id))[0]!);
  }
});

afterAll(async () => {
  closeAgent();
  await stack?.close();
  const rows = [...counts].map(([route, n]) => {
    const byStatus = [...(statuses.get(route) ?? [])]
      .sort(([a], [b]) => a - b)
      .map(([s, c]) => `${s}×${c}`)
      .join(' ');
    return `  ${route.padEnd(34)} ${String(n).padStart(6)}  ${byStatus}`;
  });
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzzed requests per route (seed ${SEED}):\n${rows.join('\n')}\n  total ${total}`);
});

/** What a generated request expects besides "never 5xx, 4xx as JSON". */
interface Case {
  req: RawRequest;
  /**
   * The answer must be this status (401 without credentials), unless node's HTTP parser refused
   * the request before any route saw it (see {@link parserRefusal}).
   */
  expectStatus?: number;
  /** Only "never 5xx": for Bull Board's own answers behind valid credentials (its code, not ours). */
  lenient?: boolean;
}

async function fuzzRoute(route: string, cases: fc.Arbitrary<Case>): Promise<void> {
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(cases, async ({ req, expectStatus, lenient }) => {
      counts.set(route, (counts.get(route) ?? 0) + 1);
      let res: RawResponse;
      try {
        res = await send(stack.api.url, req);
      } catch (error) {
        // When node's parser refuses the request line or headers, the body can't be framed: the
        // server answers and closes, and a client still sending a large body may see the reset
        // before the answer. That is fine only if the same request without a body is refused so.
        const code = (error as NodeJS.ErrnoException).code;
        const { 'transfer-encoding': _chunked, ...headers } = req.headers ?? {};
        const bare = { ...req, body: undefined, headers };
        const retry =
          req.body && (code === 'ECONNRESET' || code === 'EPIPE')
            ? await send(stack.api.url, bare).catch(() => undefined)
            : undefined;
        if (!retry || !parserRefusal(retry)) throw new Error(`no answer: ${(error as Error).message}`);
        res = retry;
      }
      const perStatus = statuses.get(route) ?? new Map<number, number>();
      perStatus.set(res.status, (perStatus.get(res.status) ?? 0) + 1);
      statuses.set(route, perStatus);
      const broken =
        lenient && res.status < 500
          ? undefined
          : (brokenPromise(res) ??
            (expectStatus !== undefined && res.status !== expectStatus && !parserRefusal(res)
              ? `expected ${expectStatus}, got ${res.status}: ${res.text.slice(0, 200)}`
              : undefined));
      if (broken) {
        failures.push(`${req.method} ${req.path.slice(0, 200)} → ${broken}`);
        throw new Error(broken);
      }
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: false },
  );
  expect(failures).toEqual([]);
  // The process is still up and answering.
  const health = await send(stack.api.url, { method: 'GET', path: '/healthz' });
  expect(health.status).toBe(200);
}

/**
 * An answer of the API's `clientError` handler: the request was not even valid HTTP (bytes outside
 * ASCII in the target, headers over 16 KiB), so no route or credential check ran; it closes.
 */
function parserRefusal(res: RawResponse): boolean {
  const code = (res.json as { error?: { code?: string } } | undefined)?.error?.code;
  return (
    res.headers.connection === 'close' &&
    ((res.status === 400 && code === 'bad_request') || (res.status === 431 && code === 'headers_too_large'))
  );
}

// ------------------------------------------------------------------------------------------------
// Building blocks

/** URLs a user might put where we fetch or call: odd schemes, hosts, ports and lengths. */
const oddUrl: fc.Arbitrary<unknown> = fc.oneof(
  fc.webUrl(),
  fc.constantFrom(
    'https://example.com/a.png',
    'http://example.com:99999/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://user:pass@example.com/',
    'ftp://example.com/a.png',
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_FLUSHALL',
    'http://',
    'http:/x',
    'https://exa mple.com/',
    `https://example.com/${'a'.repeat(3000)}`,
    'https://例え.jp/画像.png',
    'HTTPS://EXAMPLE.COM/A.PNG',
    ' https://example.com/padded.png ',
    'data:image/png;base64,iVBORw0KGgo=',
  ),
  oddString,
  oddJson,
);

/** A job input: right shapes mixed with wrong types, odd values and unknown keys. */
const oddInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: oddJson },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        prompt: fc.oneof(fc.constant('a lighthouse'), oddString, oddJson),
        aspectRatio: fc.oneof(fc.constantFrom('1:1', '16:9', '21:9', '0:0', ''), oddJson),
        imgCount: fc.oneof(fc.constantFrom(1, 4, 5), oddNumber, oddJson),
        guidance_scale: fc.oneof(oddNumber, oddJson),
        model: fc.oneof(fc.constantFrom('pro', 'max', 'ultra'), oddJson),
        image_list: fc.oneof(fc.array(oddUrl, { maxLength: 6 }), oddJson),
        templateUuid: fc.oneof(fc.constant('fe9928fde1b4491c9b360dd24aa2b115'), oddString),
        constructor: oddJson,
      },
      { requiredKeys: [] },
    ),
  },
);

/** A `POST /v1/jobs` envelope, near-valid: each field right, wrong or missing. */
const jobEnvelope: fc.Arbitrary<unknown> = fc.record(
  {
    provider: fc.oneof(fc.constantFrom('liblib', 'replicate', 'LIBLIB', ''), oddJson),
    operation: fc.oneof(
      fc.constantFrom('kontext.text2img', 'kontext.img2img', 'star3.text2img', 'model.version', 'toString'),
      oddJson,
    ),
    input: oddInput,
    webhookUrl: oddUrl,
    metadata: fc.oneof(oddJson, fc.dictionary(oddString, oddJson, { maxKeys: 4 })),
    webhook_url: oddUrl,
    extra: oddJson,
  },
  { requiredKeys: ['operation', 'input'] },
);

const latin1Header = (s: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s);

/** A JSON-ish body and the headers it travels with. */
const jsonishBody = (envelope: fc.Arbitrary<unknown>) =>
  fc
    .record({
      body: fc.oneof(
        { weight: 8, arbitrary: envelope.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
        { weight: 2, arbitrary: oddJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
        { weight: 3, arbitrary: brokenJsonText },
        { weight: 1, arbitrary: deepJson.map((t) => Buffer.from(t)) },
        { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
        { weight: 1, arbitrary: hugeBody },
      ),
      type: fc.oneof(
        { weight: 4, arbitrary: fc.constant('application/json') },
        { weight: 2, arbitrary: contentType },
      ),
      extra: bodyHeaders,
    })
    .map(({ body, type, extra }) => ({
      body: body.length > 0 || extra['transfer-encoding'] ? body : undefined,
      headers: { ...(type === undefined ? {} : { 'content-type': type }), ...extra },
    }));

/** Authorization: the right token most of the time, otherwise something wrong (then 401 is due). */
const auth = (right: string) =>
  fc.oneof(
    { weight: 9, arbitrary: fc.constant({ header: right as string | undefined, right: true }) },
    { weight: 1, arbitrary: wrongAuthorization.map((header) => ({ header, right: false })) },
  );

const withAuth = (headers: Record<string, string>, header: string | undefined) =>
  header === undefined ? headers : { ...headers, authorization: header };

const existingOrOddId = () =>
  fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...jobIds) }, { weight: 5, arbitrary: oddSegment });
const existingOrOddBatchId = () =>
  fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...batchIds) }, { weight: 5, arbitrary: oddSegment });

/** A JSON `POST /v1/batches` envelope, near-valid. */
const batchEnvelope: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        provider: fc.oneof(fc.constantFrom('liblib', 'nope'), oddJson),
        operation: fc.oneof(fc.constantFrom('kontext.text2img', 'kontext.img2img'), oddJson),
        defaults: fc.oneof(oddInput, oddJson),
        items: fc.oneof(
          fc.array(
            fc.oneof(fc.record({ input: oddInput, metadata: oddJson }, { requiredKeys: ['input'] }), oddJson),
            { maxLength: 8 },
          ),
          oddJson,
        ),
        prompts: fc.oneof(
          fc.array(fc.oneof(fc.constant('a cat'), oddString, oddJson), { maxLength: 8 }),
          oddJson,
        ),
        webhookUrl: oddUrl,
        events: fc.oneof(fc.constant(['job.succeeded']), fc.array(oddString, { maxLength: 3 }), oddJson),
        maxPoints: fc.oneof(oddNumber, oddJson),
        metadata: oddJson,
        skipInvalid: fc.oneof(fc.boolean(), oddJson),
        webhook_url: oddUrl,
      },
      { requiredKeys: ['operation'] },
    ),
  },
  // One of items or prompts, with a right operation: the rows decide.
  {
    weight: 4,
    arbitrary: fc
      .record({
        rows: fc.oneof(
          fc
            .array(fc.oneof(fc.constant('a cat'), oddString), { minLength: 1, maxLength: 8 })
            .map((prompts) => ({ prompts })),
          fc
            .array(fc.record({ input: oddInput, metadata: fc.option(oddJson) }), {
              minLength: 1,
              maxLength: 8,
            })
            .map((items) => ({ items })),
        ),
        skipInvalid: fc.boolean(),
      })
      .map(({ rows, skipInvalid }) => ({ operation: 'kontext.text2img', skipInvalid, ...rows })),
  },
  // Over the item limit (50,000).
  {
    weight: 1,
    arbitrary: fc.constant({ operation: 'kontext.text2img', prompts: new Array(50_001).fill('p') }),
  },
);

/** CSV texts: right and wrong headers, broken quoting, BOMs, odd line ends, bytes that are not UTF-8. */
const csvBody: fc.Arbitrary<Buffer> = fc
  .record({
    bom: fc.constantFrom('', '', '\uFEFF', '\uFEFF\uFEFF'),
    header: fc.oneof(
      fc.constantFrom(
        'prompt',
        'prompt,aspectRatio,imgCount',
        'prompt,metadata.customer',
        'prompt,image_list',
        'prompt,prompt',
        ',prompt',
        'prompt,',
        '"prompt',
        'metadata.,prompt',
        '',
        'a'.repeat(300),
        Array.from({ length: 300 }, (_, i) => `c${i}`).join(','),
      ),
      fc
        .array(
          oddString.filter((c) => c.length < 200),
          { minLength: 1, maxLength: 5 },
        )
        .map((c) => c.join(',')),
    ),
    rows: fc.array(
      fc.oneof(
        fc.constantFrom(
          'a cat',
          'a cat,16:9,2',
          '"a ""quoted"" cat",1:1,1',
          '"unterminated,1:1,1',
          'a "stray" quote,1:1',
          '"a cat"x,1:1',
          'a cat,0:0,999999999999999999999',
          'a cat,1:1,-1',
          ',,',
          ',',
          '"multi\nline",1:1,1',
          'https://127.0.0.1/a.png',
          'a cat,"[""https://169.254.169.254/x.png""]"',
          'x'.repeat(5_000),
          '\u0000\u0001,\u007f',
        ),
        fc
          .array(
            oddString.filter((c) => c.length < 500),
            { maxLength: 5 },
          )
          .map((c) => c.join(',')),
      ),
      { maxLength: 12 },
    ),
    eol: fc.constantFrom('\n', '\r\n', '\r', '\n\r'),
    junk: fc.option(fc.uint8Array({ minLength: 1, maxLength: 20 }), { freq: 6 }),
  })
  .map(({ bom, header, rows, eol, junk }) =>
    Buffer.concat([
      Buffer.from(`${bom}${[header, ...rows].join(eol)}`, 'utf8'),
      junk ? Buffer.from(junk) : Buffer.alloc(0),
    ]),
  );

/** NDJSON texts: item lines, bare inputs, broken lines, blank lines, BOMs, odd bytes. */
const ndjsonBody: fc.Arbitrary<Buffer> = fc
  .record({
    bom: fc.constantFrom('', '', '\uFEFF'),
    lines: fc.array(
      fc.oneof(
        fc
          .record({ input: oddInput, metadata: oddJson }, { requiredKeys: ['input'] })
          .map((v) => JSON.stringify(v)),
        oddInput.map((v) => JSON.stringify(v) ?? 'null'),
        oddJson.map((v) => JSON.stringify(v) ?? 'null'),
        fc.constantFrom(
          '',
          ' ',
          '{',
          '{"input":',
          '[]',
          'null',
          '{"prompt":"a cat"}',
          '{"input":{"prompt":"a cat"}}',
        ),
        deepJson.filter((t) => t.length < 100_000),
      ),
      { maxLength: 10 },
    ),
    eol: fc.constantFrom('\n', '\r\n'),
    junk: fc.option(fc.uint8Array({ minLength: 1, maxLength: 20 }), { freq: 6 }),
  })
  .map(({ bom, lines, eol, junk }) =>
    Buffer.concat([
      Buffer.from(`${bom}${lines.join(eol)}`, 'utf8'),
      junk ? Buffer.from(junk) : Buffer.alloc(0),
    ]),
  );

const shortOddString = oddString.filter((v) => v.length < 300);

/** The query string of an upload: its settings, right, wrong or missing. */
const uploadQuery: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '?operation=kontext.text2img',
      '?operation=kontext.text2img&skipInvalid=true',
      '?operation=kontext.text2img&set.aspectRatio=16:9&metadata=%7B%22k%22%3A1%7D',
    ),
  },
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          provider: fc.oneof(fc.constantFrom('liblib', 'x'), shortOddString),
          operation: fc.oneof(fc.constantFrom('kontext.text2img', 'kontext.img2img'), shortOddString),
          webhookUrl: oddUrl.map((u) => (typeof u === 'string' ? u : (JSON.stringify(u) ?? ''))),
          events: fc.oneof(
            fc.constantFrom('job.succeeded', 'job.succeeded,job.failed', 'nope'),
            shortOddString,
          ),
          maxPoints: fc.oneof(fc.constantFrom('10', '0', '-1', '1e309', '1.5'), shortOddString),
          skipInvalid: fc.oneof(fc.constantFrom('true', 'false', '1', 'yes'), shortOddString),
          defaults: fc.oneof(oddInput, oddJson).map((v) => (JSON.stringify(v) ?? '').slice(0, 3_000)),
          metadata: fc.oneof(
            oddJson.map((v) => JSON.stringify(v) ?? ''),
            oddString,
          ),
          'set.aspectRatio': fc.oneof(fc.constant('16:9'), oddString),
          'set.imgCount': fc.oneof(fc.constant('2'), oddString),
          webhook_url: oddString,
        },
        { requiredKeys: ['operation'] },
      )
      .map(
        (params) =>
          `?${Object.entries(params)
            .map(
              ([k, v]) =>
                `${encodeURIComponent(k)}=${encodeURIComponent(String(v).replace(/[\uD800-\uDFFF]/g, 'x'))}`,
            )
            .join('&')}`,
      ),
  },
  { weight: 1, arbitrary: oddQuery },
);

const uploadRequest = (kind: 'csv' | 'ndjson') =>
  fc
    .record({
      body: fc.oneof(
        { weight: 8, arbitrary: kind === 'csv' ? csvBody : ndjsonBody },
        { weight: 1, arbitrary: brokenJsonText },
        { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
      ),
      type: fc.oneof(
        {
          weight: 6,
          arbitrary:
            kind === 'csv'
              ? fc.constantFrom('text/csv', 'text/csv; charset=utf-8', 'TEXT/CSV', 'text/csv; header=present')
              : fc.constantFrom(
                  'application/x-ndjson',
                  'application/ndjson',
                  'application/jsonl',
                  'application/x-jsonlines',
                ),
        },
        { weight: 1, arbitrary: contentType },
      ),
      extra: bodyHeaders,
      query: uploadQuery,
      auth: auth(BEARER),
    })
    .map(({ body, type, extra, query, auth: a }) => ({
      req: {
        method: 'POST',
        path: `/v1/batches${query}`,
        headers: withAuth({ ...(type === undefined ? {} : { 'content-type': type }), ...extra }, a.header),
        body: body.length > 0 || extra['transfer-encoding'] ? body : undefined,
      },
      expectStatus: a.right ? undefined : 401,
    }));

// ------------------------------------------------------------------------------------------------

describe.concurrent(`API fuzzer (${RUNS} requests per route)`, () => {
  it('POST /v1/jobs', async () => {
    await fuzzRoute(
      'POST /v1/jobs',
      fc
        .record({
          body: jsonishBody(jobEnvelope),
          auth: auth(BEARER),
          query: fc.oneof({ weight: 5, arbitrary: fc.constant('') }, { weight: 1, arbitrary: oddQuery }),
          idempotencyKey: fc.option(
            fc.oneof(
              { weight: 5, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,40}$/) },
              { weight: 5, arbitrary: oddString.filter((s) => latin1Header(s) && s.length < 1_000) },
              { weight: 1, arbitrary: fc.constant('k'.repeat(20_000)) },
            ),
            { freq: 4 },
          ),
        })
        .map(({ body, auth: a, query, idempotencyKey }) => ({
          req: {
            method: 'POST',
            path: `/v1/jobs${query}`,
            headers: withAuth(
              { ...body.headers, ...(idempotencyKey === null ? {} : { 'idempotency-key': idempotencyKey }) },
              a.header,
            ),
            body: body.body,
          },
          expectStatus: a.right ? undefined : 401,
        })),
    );
  });

  it('GET /v1/jobs/:id', async () => {
    await fuzzRoute(
      'GET /v1/jobs/:id',
      fc
        .record({
          id: existingOrOddId(),
          query: oddQuery,
          auth: auth(BEARER),
          suffix: fc.constantFrom('', '/', '//'),
        })
        .map(({ id, query, auth: a, suffix }) => ({
          req: { method: 'GET', path: `/v1/jobs/${id}${suffix}${query}`, headers: withAuth({}, a.header) },
          expectStatus: a.right ? undefined : 401,
        })),
    );
  });

  it('POST /v1/jobs/:id/cancel', async () => {
    await fuzzRoute(
      'POST /v1/jobs/:id/cancel',
      fc
        .record({ id: existingOrOddId(), query: oddQuery, auth: auth(BEARER), body: jsonishBody(oddJson) })
        .map(({ id, query, auth: a, body }) => ({
          req: {
            method: 'POST',
            path: `/v1/jobs/${id}/cancel${query}`,
            headers: withAuth(body.headers, a.header),
            body: body.body,
          },
          expectStatus: a.right ? undefined : 401,
        })),
    );
  });

  it('POST /v1/batches (JSON)', async () => {
    await fuzzRoute(
      'POST /v1/batches (JSON)',
      fc
        .record({
          body: jsonishBody(batchEnvelope),
          auth: auth(BEARER),
          query: fc.oneof(
            { weight: 5, arbitrary: fc.constant('') },
            {
              weight: 1,
              arbitrary: fc.constantFrom('?skipInvalid=true', '?skipInvalid=nope', '?operation=x'),
            },
            { weight: 1, arbitrary: oddQuery },
          ),
        })
        .map(({ body, auth: a, query }) => ({
          req: {
            method: 'POST',
            path: `/v1/batches${query}`,
            // The JSON batch route takes up to 32 MB: a 2.5 MB body is a valid size there.
            headers: withAuth(body.headers, a.header),
            body: body.body,
          },
          expectStatus: a.right ? undefined : 401,
        })),
    );
  });

  it('POST /v1/batches (CSV)', async () => {
    await fuzzRoute('POST /v1/batches (CSV)', uploadRequest('csv'));
  });

  it('POST /v1/batches (NDJSON)', async () => {
    await fuzzRoute('POST /v1/batches (NDJSON)', uploadRequest('ndjson'));
  });

  it('GET /v1/batches/:id', async () => {
    await fuzzRoute(
      'GET /v1/batches/:id',
      fc
        .record({
          id: existingOrOddBatchId(),
          query: oddQuery,
          auth: auth(BEARER),
          suffix: fc.constantFrom('', '/'),
        })
        .map(({ id, query, auth: a, suffix }) => ({
          req: { method: 'GET', path: `/v1/batches/${id}${suffix}${query}`, headers: withAuth({}, a.header) },
          expectStatus: a.right ? undefined : 401,
        })),
    );
  });

  it('GET /v1/batches/:id/jobs', async () => {
    const listQuery = fc.oneof(
      oddQuery,
      fc
        .record(
          {
            limit: fc.oneof(fc.constantFrom('1', '1000', '1001', '0', '-5', '1e3', '9999999'), oddSegment),
            cursor: fc.oneof(fc.constantFrom('0', '1', '999999999', '1000000000', '-1', 'abc'), oddSegment),
            state: fc.oneof(fc.constantFrom('queued', 'failed,canceled', ',', 'QUEUED', 'nope'), oddSegment),
          },
          { requiredKeys: [] },
        )
        .map(
          (q) =>
            `?${Object.entries(q)
              .map(([k, v]) => `${k}=${v}`)
              .join('&')}`,
        ),
    );
    await fuzzRoute(
      'GET /v1/batches/:id/jobs',
      fc
        .record({ id: existingOrOddBatchId(), query: listQuery, auth: auth(BEARER) })
        .map(({ id, query, auth: a }) => ({
          req: { method: 'GET', path: `/v1/batches/${id}/jobs${query}`, headers: withAuth({}, a.header) },
          expectStatus: a.right ? undefined : 401,
        })),
    );
  });

  it('POST /v1/batches/:id/cancel and /retry', async () => {
    await fuzzRoute(
      'POST /v1/batches/:id/cancel|retry',
      fc
        .record({
          id: existingOrOddBatchId(),
          action: fc.constantFrom('cancel', 'retry'),
          query: oddQuery,
          auth: auth(BEARER),
          body: fc.option(jsonishBody(oddJson), { freq: 2 }),
        })
        .map(({ id, action, query, auth: a, body }) => ({
          req: {
            method: 'POST',
            path: `/v1/batches/${id}/${action}${query}`,
            headers: withAuth(body?.headers ?? {}, a.header),
            body: body?.body,
          },
          expectStatus: a.right ? undefined : 401,
        })),
    );
  });

  it('GET /metrics', async () => {
    await fuzzRoute(
      'GET /metrics',
      fc
        .record({
          path: fc.constantFrom('/metrics', '/metrics/', '/METRICS', '/metrics%00', '/metrics/x'),
          method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'DELETE'),
          query: oddQuery,
          auth: auth(`Bearer ${METRICS_TOKEN}`),
          accept: fc.constantFrom(
            undefined,
            'application/openmetrics-text; version=1.0.0',
            'text/plain',
            '*/*',
            'application/json',
          ),
        })
        .map(({ path, method, query, auth: a, accept }) => ({
          req: {
            method,
            path: `${path}${query}`,
            headers: withAuth(accept ? { accept } : {}, a.header),
          },
          // Only the exact route checks the metrics token; other paths are plain 404s.
          expectStatus: !a.right && method === 'GET' && /^\/metrics\/?$/.test(path) ? 401 : undefined,
        })),
    );
  });

  it('GET /healthz and /readyz', async () => {
    await fuzzRoute(
      'GET /healthz, /readyz',
      fc
        .record({
          path: fc.constantFrom('/healthz', '/readyz', '/healthz/', '/READYZ', '/healthz%00'),
          method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'),
          query: oddQuery,
          body: fc.option(jsonishBody(oddJson), { freq: 3 }),
          authorization: wrongAuthorization,
        })
        .map(({ path, method, query, body, authorization }) => ({
          req: {
            method,
            path: `${path}${query}`,
            headers: withAuth(body?.headers ?? {}, authorization),
            body: body?.body,
          },
        })),
    );
  });

  it('/admin/queues (Bull Board)', async () => {
    await fuzzRoute(
      '/admin/queues…',
      fc
        .record({
          sub: fc.oneof(
            fc.constantFrom(
              '',
              '/',
              '/api/queues',
              '/api/queues?activeQueue=poll&status=failed&page=1',
              '/api/redis/stats',
              '/api/queues/poll/retry/failed',
              '/api/queues/poll/clean/completed',
              '/api/queues/no-such-queue/pause',
              '/static/js/main.js',
              '/static/../../package.json',
              '/%2e%2e/%2e%2e/package.json',
              '/queue/poll',
            ),
            fc
              .tuple(fc.constantFrom('/api/queues/', '/static/', '/queue/', '/'), oddSegment)
              .map(([a, b]) => a + b),
          ),
          query: oddQuery,
          method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE'),
          creds: fc.oneof(
            { weight: 1, arbitrary: fc.constant(BASIC as string | undefined) },
            { weight: 2, arbitrary: wrongAuthorization },
          ),
        })
        .map(({ sub, query, method, creds }) => ({
          req: {
            method,
            path: `/admin/queues${sub}${query}`,
            headers: withAuth({}, creds),
          },
          // Without the right Basic credentials nothing of the board answers but our 401.
          expectStatus: creds === BASIC ? undefined : 401,
          lenient: creds === BASIC,
        })),
    );
  });

  it('GET /v1/accounts and PATCH /v1/accounts/:provider/:id', async () => {
    const change = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record(
          {
            submitQps: fc.oneof(oddNumber, fc.constant(null), oddJson),
            maxInFlight: fc.oneof(oddNumber, fc.constant(null), fc.integer({ min: 1, max: 1000 }), oddJson),
            paused: fc.oneof(fc.boolean(), oddJson),
          },
          { requiredKeys: [] },
        ),
      },
      { weight: 1, arbitrary: fc.dictionary(oddString, oddJson, { maxKeys: 4 }) },
    );
    await fuzzRoute(
      'GET|PATCH /v1/accounts',
      fc
        .record({
          patch: fc.boolean(),
          provider: fc.oneof(fc.constantFrom('liblib', 'replicate', 'LIBLIB'), oddSegment),
          id: fc.oneof(fc.constantFrom('default', 'main'), oddSegment),
          query: oddQuery,
          auth: auth(`Bearer ${ADMIN_TOKEN}`),
          basic: fc.boolean(),
          body: jsonishBody(change),
        })
        .map(({ patch, provider, id, query, auth: a, basic, body }) => {
          // The admin's Basic credentials are as good as an admin token.
          const header = a.right && basic ? BASIC : a.header;
          return {
            req: patch
              ? {
                  method: 'PATCH',
                  path: `/v1/accounts/${provider}/${id}${query}`,
                  headers: withAuth(body.headers, header),
                  body: body.body,
                }
              : { method: 'GET', path: `/v1/accounts${query}`, headers: withAuth({}, header) },
            expectStatus: a.right ? undefined : 401,
          };
        }),
    );
  });

  it('unknown paths and methods', async () => {
    await fuzzRoute(
      'unknown paths, odd methods',
      fc
        .record({
          path: fc.oneof(
            fc.array(oddSegment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`),
            fc.array(oddSegment, { minLength: 1, maxLength: 3 }).map((s) => `/v1/${s.join('/')}`),
            fc.constantFrom('/v1', '/v1/', '/v2/jobs', '/v1/jobs', '/v1/jobs/', '/%', '//', '/v1//jobs'),
          ),
          method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'TRACE'),
          query: oddQuery,
          auth: auth(BEARER),
          body: fc.option(jsonishBody(oddJson), { freq: 2 }),
        })
        .map(({ path, method, query, auth: a, body }) => ({
          req: {
            method,
            path: `${path}${query}`,
            headers: withAuth(body?.headers ?? {}, a.header),
            body: body?.body,
          },
        })),
    );
  });
});
