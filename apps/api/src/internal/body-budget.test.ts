import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { silentLogger } from '@genqueue/core';
import express from 'express';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { errorMiddleware } from '../http-error.ts';
import { bodyBudget } from './body-budget.ts';

const MB = 1024 * 1024;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(): Promise<string> {
  const app = express();
  app.use(bodyBudget({ limitBytes: 4 * MB, budgetBytes: 5 * MB }));
  app.use(express.json({ limit: 4 * MB }));
  app.post('/', (req, res) => {
    res.json({ bytes: JSON.stringify(req.body).length });
  });
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(errorMiddleware(silentLogger()));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const body = (bytes: number) => JSON.stringify({ pad: 'x'.repeat(bytes - 10) });

describe('bodyBudget', () => {
  it('answers 503 with Retry-After to a large body that does not fit beside one being read, then takes it', async () => {
    const url = await serve();
    // A 3 MB body that is still arriving holds its reservation.
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${3 * MB}\r\n\r\n{"pad":"`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    const refused = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(3 * MB),
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(((await refused.body.json()) as { error: { code: string } }).error.code).toBe('unavailable');

    // Small bodies are never held back.
    const small = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(1000),
    });
    expect(small.statusCode).toBe(200);
    await small.body.dump();

    // Requests without a body (no Content-Length, no Transfer-Encoding) reserve nothing, however
    // many arrive at once.
    const reads = await Promise.all(Array.from({ length: 4 }, () => request(url)));
    expect(reads.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    await Promise.all(reads.map((r) => r.body.dump()));

    // Once the first request ends, its bytes are free again.
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const taken = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(3 * MB),
    });
    expect(taken.statusCode).toBe(200);
    await taken.body.dump();
  });
});
