import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { batchQuery, GenqueueClient } from './client.ts';
import { ApiConnectionError, ApiResponseError } from './errors.ts';
import { closedPort, type ScriptedServer, startScriptedServer } from './internal/scripted-server.ts';

const TOKEN = 'secret-token-abcdef';
let server: ScriptedServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('GenqueueClient', () => {
  it('posts a JSON batch with the bearer token and returns the created batch', async () => {
    server = await startScriptedServer(() => ({ status: 202, json: { id: 'b_1', total: 2, rejected: [] } }));
    const client = new GenqueueClient({ baseUrl: `${server.url}/`, token: TOKEN });
    const created = await client.submitBatch({
      kind: 'prompts',
      operation: 'kontext.text2img',
      defaults: { aspectRatio: '3:4' },
      prompts: ['a', 'b'],
    });
    expect(created).toEqual({ id: 'b_1', total: 2, rejected: [] });
    const [req] = server.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/v1/batches');
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.body.toString())).toEqual({
      operation: 'kontext.text2img',
      defaults: { aspectRatio: '3:4' },
      prompts: ['a', 'b'],
    });
  });

  it('streams a CSV body with its settings as query parameters', async () => {
    server = await startScriptedServer(() => ({ status: 202, json: { id: 'b_2', total: 2 } }));
    const client = new GenqueueClient({ baseUrl: server.url, token: TOKEN });
    const csv = 'prompt\na cat\na dog\n';
    const created = await client.submitBatch({
      kind: 'stream',
      contentType: 'text/csv',
      body: Readable.from([Buffer.from(csv.slice(0, 9)), Buffer.from(csv.slice(9))]),
      provider: 'liblib',
      operation: 'kontext.text2img',
      defaults: { imgCount: 2 },
      events: ['job.failed', 'batch.completed'],
      maxPoints: 500,
      skipInvalid: true,
      webhookUrl: 'https://example.com/hook',
    });
    expect(created.rejected).toEqual([]);
    const [req] = server.requests;
    expect(req!.headers['content-type']).toBe('text/csv');
    expect(req!.body.toString()).toBe(csv);
    expect(Object.fromEntries(req!.query)).toEqual(
      Object.fromEntries(
        Object.entries(
          batchQuery({
            provider: 'liblib',
            operation: 'kontext.text2img',
            defaults: { imgCount: 2 },
            events: ['job.failed', 'batch.completed'],
            maxPoints: 500,
            skipInvalid: true,
            webhookUrl: 'https://example.com/hook',
          }),
        ).map(([k, v]) => [k, String(v)]),
      ),
    );
    expect(req!.query.get('events')).toBe('job.failed,batch.completed');
    expect(req!.query.get('maxPoints')).toBe('500');
  });

  it('pages through a batch’s jobs with the cursor the API hands back', async () => {
    server = await startScriptedServer(({ query }) => {
      const cursor = query.get('cursor');
      if (!cursor) return { status: 200, json: { items: [{ id: 'j1' }, { id: 'j2' }], nextCursor: 'c2' } };
      if (cursor === 'c2') return { status: 200, json: { items: [{ id: 'j3' }], nextCursor: null } };
      return { status: 400, json: { error: { code: 'invalid_request', message: 'bad cursor' } } };
    });
    const client = new GenqueueClient({ baseUrl: server.url, token: TOKEN });
    const ids: string[] = [];
    for await (const job of client.batchJobs('b_9', { state: 'failed', limit: 2 })) ids.push(job.id);
    expect(ids).toEqual(['j1', 'j2', 'j3']);
    expect(server.requests.map((r) => r.path)).toEqual(['/v1/batches/b_9/jobs', '/v1/batches/b_9/jobs']);
    expect(server.requests.map((r) => r.query.get('state'))).toEqual(['failed', 'failed']);
    expect(server.requests[1]!.query.get('cursor')).toBe('c2');
  });

  it('turns an API error body into a typed error with its issues, exit code 2 for a 4xx', async () => {
    server = await startScriptedServer(() => ({
      status: 400,
      json: {
        error: {
          code: 'invalid_request',
          message: 'operation: unknown operation "nope"',
          issues: [{ path: 'operation', message: 'unknown operation "nope"' }],
          rejected: [{ row: 2, issues: [] }],
        },
      },
    }));
    const client = new GenqueueClient({ baseUrl: server.url, token: TOKEN });
    const error = await client.getBatch('b_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiResponseError);
    const e = error as ApiResponseError;
    expect([e.status, e.code, e.message, e.exitCode]).toEqual([
      400,
      'invalid_request',
      'operation: unknown operation "nope"',
      2,
    ]);
    expect(e.issues).toEqual([{ path: 'operation', message: 'unknown operation "nope"' }]);
    expect(e.details).toEqual({ rejected: [{ row: 2, issues: [] }] });
  });

  it('reports a 5xx without a JSON body as a server failure (exit 1)', async () => {
    server = await startScriptedServer(() => ({ status: 502, raw: '<html>bad gateway</html>' }));
    const client = new GenqueueClient({ baseUrl: server.url });
    const error = (await client.getBatch('b_1').catch((e: unknown) => e)) as ApiResponseError;
    expect(error).toBeInstanceOf(ApiResponseError);
    expect([error.code, error.exitCode, error.message]).toEqual(['http_502', 1, 'the API answered HTTP 502']);
  });

  it('never repeats the token, even when an error body echoes it', async () => {
    server = await startScriptedServer(() => ({
      status: 401,
      json: { error: { code: 'unauthorized', message: `token ${TOKEN} is not valid` } },
    }));
    const client = new GenqueueClient({ baseUrl: server.url, token: TOKEN });
    const error = (await client.cancelBatch('b_1').catch((e: unknown) => e)) as ApiResponseError;
    expect(error.message).toBe('token [token] is not valid');
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });

  it('says "connection refused" when nothing listens, naming the origin without credentials', async () => {
    const port = await closedPort();
    const client = new GenqueueClient({ baseUrl: `http://user:pw@127.0.0.1:${port}`, token: TOKEN });
    const error = (await client.retryBatch('b_1').catch((e: unknown) => e)) as ApiConnectionError;
    expect(error).toBeInstanceOf(ApiConnectionError);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toBe(`cannot reach http://[redacted]@127.0.0.1:${port} (connection refused)`);
    expect(error.message).not.toContain(TOKEN);
  });

  it('downloads storage URLs without sending the API token', async () => {
    server = await startScriptedServer(() => ({ status: 200, raw: 'png-bytes' }));
    const client = new GenqueueClient({ baseUrl: 'http://127.0.0.1:1', token: TOKEN });
    const response = await client.download(`${server.url}/bucket/jobs/j1/0.png?X-Amz-Signature=abc`);
    expect(await response.body.text()).toBe('png-bytes');
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });
});
