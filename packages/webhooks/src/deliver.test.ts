import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverWebhook } from './deliver.ts';
import { createGuardedDispatcher } from './url-guard.ts';

const secret = `whsec_${randomBytes(24).toString('base64')}`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local receiver whose answer each test scripts; it records what it received. */
async function startReceiver(answer: RequestListener) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let dispatcher: Dispatcher;
beforeAll(() => {
  dispatcher = createGuardedDispatcher({ allowPrivate: true });
});
afterAll(async () => {
  await dispatcher.close();
});

const base = {
  secret,
  id: 'dlv_1',
  type: 'job.succeeded',
  payload: { id: 'job_1', outputs: ['https://x/1.png'] },
};

describe('deliverWebhook', () => {
  it('POSTs a signed Standard Webhooks request that standardwebhooks verifies', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    const result = await deliverWebhook({
      ...base,
      url: `${receiver.url}/hooks`,
      timestamp: new Date('2026-01-02T03:04:05.000Z'),
      dispatcher,
    });
    expect(result).toMatchObject({ ok: true, status: 204, gone: false });
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(0);

    const [request] = receiver.received;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['user-agent']).toBe('genqueue-webhooks');
    expect(request?.headers['webhook-id']).toBe('dlv_1');
    const verified = new Webhook(secret).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    });
    expect(verified).toEqual({
      type: 'job.succeeded',
      timestamp: '2026-01-02T03:04:05.000Z',
      data: { id: 'job_1', outputs: ['https://x/1.png'] },
    });
    await receiver.stop();
  });

  it('signs with the attempt time from the injected clock', async () => {
    const receiver = await startReceiver((_req, res) => res.end());
    const now = () => Date.parse('2026-03-01T00:00:10.500Z');
    await deliverWebhook({ ...base, url: receiver.url, dispatcher, now });
    expect(receiver.received[0]?.headers['webhook-timestamp']).toBe(
      String(Date.parse('2026-03-01T00:00:10Z') / 1000),
    );
    expect(JSON.parse(receiver.received[0]!.body).timestamp).toBe('2026-03-01T00:00:10.500Z');
    await receiver.stop();
  });

  it('reports a 500 as a failure, and a 410 as gone', async () => {
    let status = 500;
    const receiver = await startReceiver((_req, res) => res.writeHead(status).end('nope'));
    const failed = await deliverWebhook({ ...base, url: receiver.url, dispatcher });
    expect(failed).toMatchObject({ ok: false, status: 500, gone: false, error: 'HTTP 500' });
    status = 410;
    const gone = await deliverWebhook({ ...base, url: receiver.url, dispatcher });
    expect(gone).toMatchObject({ ok: false, status: 410, gone: true });
    await receiver.stop();
  });

  it('parses Retry-After in seconds and as an HTTP date', async () => {
    let retryAfter = '120';
    const receiver = await startReceiver((_req, res) =>
      res.writeHead(429, { 'retry-after': retryAfter }).end(),
    );
    const seconds = await deliverWebhook({ ...base, url: receiver.url, dispatcher });
    expect(seconds).toMatchObject({ ok: false, status: 429, retryAfterMs: 120_000 });
    retryAfter = 'Wed, 21 Oct 2026 07:28:00 GMT';
    const now = () => Date.parse('2026-10-21T07:27:00Z');
    const date = await deliverWebhook({ ...base, url: receiver.url, dispatcher, now });
    expect(date.retryAfterMs).toBe(60_000);
    await receiver.stop();
  });

  it('gives up on a receiver slower than the timeout', async () => {
    const receiver = await startReceiver(() => {
      // Never answers.
    });
    const result = await deliverWebhook({ ...base, url: receiver.url, dispatcher, timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, gone: false });
    expect(result.status).toBeUndefined();
    expect(result.error).toContain('timed out after 200 ms');
    await receiver.stop();
  });

  it('does not follow a redirect to loopback', async () => {
    const target = await startReceiver((_req, res) => res.end('stolen'));
    const receiver = await startReceiver((_req, res) =>
      res.writeHead(302, { location: `${target.url}/internal-admin` }).end(),
    );
    const result = await deliverWebhook({ ...base, url: receiver.url, dispatcher });
    expect(result).toMatchObject({ ok: false, status: 302, error: 'redirect (HTTP 302) not followed' });
    expect(target.received).toHaveLength(0);
    await target.stop();
    await receiver.stop();
  });

  it('is refused by the guard for private targets when they are not allowed', async () => {
    const receiver = await startReceiver((_req, res) => res.end());
    const guarded = createGuardedDispatcher({ allowPrivate: false });
    const result = await deliverWebhook({ ...base, url: receiver.url, dispatcher: guarded });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^refused: .*loopback/);
    expect(receiver.received).toHaveLength(0);
    await guarded.close();
    await receiver.stop();
  });

  it('refuses unsupported schemes without sending anything', async () => {
    const result = await deliverWebhook({ ...base, url: 'file:///etc/passwd', dispatcher });
    expect(result).toMatchObject({ ok: false, gone: false });
    expect(result.error).toContain('scheme file:');
  });
});
