import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallAbortedError, ProviderError } from '@genqueue/model';
import { Agent, buildConnector } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpClient, type HttpClientOptions, NOT_SENT_CODES } from './http-client.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let handler: Handler;
let server: Server;
let baseUrl: string;
let connections = 0;
const seen: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    seen.push({ url: req.url ?? '', headers: req.headers, body });
    handler(req, res, body);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  };
});

function client(overrides: Partial<HttpClientOptions> = {}) {
  return createHttpClient({
    provider: 'test',
    baseUrl,
    headers: { authorization: 'Bearer secret-token' },
    defaultRequestMs: 2_000,
    ...overrides,
  });
}

const errorFor = ({ status }: { status: number }) =>
  new ProviderError({ provider: 'test', errorClass: 'invalid_job', status, message: `HTTP ${status}` });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('createHttpClient', () => {
  it('sends JSON below the base URL with the client headers and the query, and reuses the connection', async () => {
    const http = client();
    const before = connections;
    const first = await http.call({
      method: 'POST',
      path: '/run',
      query: 'Signature=abc',
      json: { prompt: 'p' },
      mayCreate: true,
      errorFor,
    });
    await new Promise((resolve) => setTimeout(resolve, 20)); // let the first socket go idle
    await http.call({ method: 'GET', path: '/tasks/1', mayCreate: false, errorFor });
    await http.close();
    expect(first.body).toEqual({ ok: true });
    expect(seen[0]).toMatchObject({ url: '/prefix/run?Signature=abc', body: '{"prompt":"p"}' });
    expect(seen[0]?.headers).toMatchObject({
      authorization: 'Bearer secret-token',
      'content-type': 'application/json',
      accept: 'application/json',
    });
    expect(seen[1]?.url).toBe('/prefix/tasks/1');
    // keep-alive: both calls went over one socket
    expect(connections - before).toBe(1);
  });

  it('hands non-2xx answers to errorFor, and calls a 2xx without JSON malformed and transient', async () => {
    const http = client();
    handler = (_req, res) => {
      res.writeHead(418);
      res.end('teapot');
    };
    expect(await failure(http.call({ method: 'GET', path: '/x', mayCreate: false, errorFor }))).toMatchObject(
      {
        errorClass: 'invalid_job',
        status: 418,
      },
    );
    handler = (_req, res) => res.end('<html>proxy</html>');
    const error = await failure(http.call({ method: 'POST', path: '/x', mayCreate: true, errorFor }));
    await http.close();
    expect(error).toMatchObject({ errorClass: 'transient', code: 'malformed_response', ambiguous: true });
  });

  it('answers any status with send(), as text, for clients with their own envelope', async () => {
    const http = client();
    handler = (_req, res) => {
      res.writeHead(503, { 'retry-after': '2' });
      res.end('{"code":200000}');
    };
    const answer = await http.send({ method: 'POST', path: '/x', mayCreate: true });
    await http.close();
    expect(answer).toMatchObject({ status: 503, text: '{"code":200000}', headers: { 'retry-after': '2' } });
  });

  it('ends a hung call at the request deadline as transient, ambiguous only when it may create', async () => {
    handler = () => {}; // never answers
    const http = client({ timeouts: { requestMs: 200 } });
    const submit = await failure(http.send({ method: 'POST', path: '/run', mayCreate: true }));
    const status = await failure(http.send({ method: 'GET', path: '/t', mayCreate: false }));
    await http.close();
    expect(submit).toBeInstanceOf(ProviderError);
    expect(submit).toMatchObject({ errorClass: 'transient', code: 'timeout', ambiguous: true });
    expect((submit as Error).message).toMatch(/^test: POST \/run: timed out after 200 ms/);
    expect(status).toMatchObject({ errorClass: 'transient', code: 'timeout', ambiguous: false });
  });

  it('honours a per-call deadline over the client default', async () => {
    handler = (_req, res) => setTimeout(() => res.end('{}'), 400);
    const http = client({ timeouts: { requestMs: 100 } });
    await expect(
      http.call({ method: 'GET', path: '/slow', mayCreate: false, requestMs: 2_000, errorFor }),
    ).resolves.toMatchObject({ status: 200 });
    await http.close();
  });

  it('marks a reset after sending ambiguous for a submission', async () => {
    handler = (req) => req.socket.destroy();
    const http = client();
    const error = await failure(http.send({ method: 'POST', path: '/run', mayCreate: true }));
    await http.close();
    expect(error).toMatchObject({ errorClass: 'transient', ambiguous: true });
  });

  it.each([
    ['a refused connection', 'refused', 'ECONNREFUSED'],
    ['a closed agent', 'closed', 'UND_ERR_DESTROYED'],
    ['a destroyed agent', 'destroyed', 'UND_ERR_DESTROYED'],
  ])('knows %s never sent the request: not ambiguous', async (_name, how, code) => {
    expect(NOT_SENT_CODES.has(code)).toBe(true);
    let http: ReturnType<typeof client>;
    if (how === 'refused') {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise((resolve) => closed.close(resolve));
      http = client({ baseUrl: `http://127.0.0.1:${port}` });
    } else {
      const agent = new Agent();
      if (how === 'closed') await agent.close();
      else await agent.destroy();
      http = client({ dispatcher: agent });
    }
    const error = await failure(http.send({ method: 'POST', path: '/run', mayCreate: true }));
    await http.close();
    expect(error).toMatchObject({ errorClass: 'transient', code, ambiguous: false });
    expect((error as Error).message).not.toContain('secret-token');
  });

  it("reports the caller's abort as CallAbortedError, never as a provider error", async () => {
    handler = () => {};
    const http = client();
    const controller = new AbortController();
    const pending = failure(
      http.send({ method: 'POST', path: '/run', mayCreate: true, signal: controller.signal }),
    );
    await expect.poll(() => seen.length).toBe(1);
    controller.abort(new Error('shutting down'));
    const error = await pending;
    expect(error).toBeInstanceOf(CallAbortedError);
    expect(error).not.toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: 'test', ambiguous: true });

    const before = seen.length;
    const early = await failure(
      http.send({ method: 'POST', path: '/run', mayCreate: true, signal: AbortSignal.abort() }),
    );
    await http.close();
    expect(early).toMatchObject({ name: 'CallAbortedError', ambiguous: false });
    expect(seen.length).toBe(before);
  });

  it('calls requestSent once the request is written, after a slow connection set-up, and awaits it', async () => {
    // A new connection (a TCP or TLS handshake) takes long: the hook ends a QPS turn, so calling it
    // before the handshake would let the handshake's time pass as time on the way to the provider.
    const order: string[] = [];
    const connector = buildConnector({});
    const dispatcher = new Agent({
      connect: (opts, callback) => {
        setTimeout(() => {
          order.push('connected');
          connector(opts, callback);
        }, 150);
      },
    });
    const http = client({ dispatcher });
    handler = (_req, res) => {
      order.push('request');
      res.end('{}');
    };
    await http.call({
      method: 'POST',
      path: '/run',
      json: { prompt: 'p' },
      mayCreate: true,
      errorFor,
      requestSent: async () => {
        order.push('requestSent');
        await new Promise((resolve) => setTimeout(resolve, 50));
        order.push('requestSent done');
      },
    });
    order.push('answered');
    await http.close();
    await dispatcher.close();
    expect(order.indexOf('connected')).toBe(0);
    expect(order.filter((o) => o === 'requestSent')).toHaveLength(1);
    expect(order.indexOf('requestSent')).toBeGreaterThan(order.indexOf('connected'));
    expect(order.indexOf('requestSent done')).toBeLessThan(order.indexOf('answered'));
  });
});
