/**
 * Capture helpers for the secret scan: an in-memory log destination with the production logger
 * (same redaction), and a recording HTTP proxy in front of the simulator that keeps every
 * LiblibAI `Signature` the client sent (002 §2.4), so the scan can look for each one.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@genqueue/core';

/** A logger at `level` writing JSON lines into memory; `text()` returns everything logged so far. */
export function memoryLogger(
  name: string,
  level = 'debug',
): { logger: Logger; text(): string; lines(): number } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    logger: createLogger({ level, name, destination }),
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).length,
  };
}

/** A pass-through proxy that records the `Signature` query value of every request. */
export interface SignatureProxy {
  url: string;
  /** Every `Signature` seen, in order. */
  signatures: string[];
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 that forwards every request to `target` unchanged. */
export async function startSignatureProxy(target: string): Promise<SignatureProxy> {
  const upstream = new URL(target);
  const signatures: string[] = [];
  const server: Server = createServer((req, res) => {
    const signature = new URL(req.url ?? '/', 'http://proxy').searchParams.get('Signature');
    if (signature) signatures.push(signature);
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    signatures,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
