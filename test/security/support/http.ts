/**
 * A raw HTTP client for the security suite. `node:http` with a keep-alive agent instead of undici or
 * fetch because it writes the request target as latin1 bytes without re-encoding it, so the fuzzer
 * can send paths and header values with bytes that are not UTF-8, broken percent-escapes and
 * control characters (everything but CR, LF and NUL, which no server would even parse).
 */
import { Agent, request as httpRequest } from 'node:http';

/** A request as the fuzzer generates it. */
export interface RawRequest {
  method: string;
  /** Request target as it goes on the wire (latin1), e.g. `/v1/jobs/%ZZ?x=1`. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** What came back. `json` is the parsed body when it parsed. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json?: unknown;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/**
 * Sends one request to `baseUrl` (e.g. `http://127.0.0.1:3000`) and reads the whole answer.
 * A request sent on a kept-alive socket that the server closed for idleness at that very moment
 * fails with ECONNRESET before the server saw it (node's documented keep-alive race): it is sent
 * once more on a new socket, as browsers do.
 */
export async function send(baseUrl: string, req: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  try {
    return await sendOnce(baseUrl, req, timeoutMs);
  } catch (error) {
    if (
      (error as { reusedSocket?: boolean }).reusedSocket &&
      (error as NodeJS.ErrnoException).code === 'ECONNRESET'
    ) {
      return sendOnce(baseUrl, req, timeoutMs);
    }
    throw error;
  }
}

function sendOnce(baseUrl: string, req: RawRequest, timeoutMs: number): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const outgoing = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        // Header values may hold latin1 bytes; node sends them as given.
        headers: {
          // A chunked body carries no length (both together is a request smuggling pattern
          // that node's parser refuses before the app sees it).
          ...(body && !req.headers?.['transfer-encoding'] ? { 'content-length': String(body.length) } : {}),
          ...req.headers,
        },
        timeout: timeoutMs,
        insecureHTTPParser: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', (error) => reject(Object.assign(error, { reusedSocket: outgoing.reusedSocket })));
    outgoing.end(body);
  });
}

/** Closes the kept-alive sockets (call in `afterAll`). */
export function closeAgent(): void {
  agent.destroy();
}

/**
 * Why an answer breaks the API's promise, or undefined when it keeps it: never a 5xx, and every
 * 4xx is JSON `{ error: { code, message } }` with a non-empty message a user can act on.
 */
export function brokenPromise(res: RawResponse): string | undefined {
  if (res.status >= 500 || res.status < 100) return `status ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.status < 400) return undefined;
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) return `${res.status} answered as ${type || 'no content type'}`;
  const error = (res.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string' || error.message.trim() === '') {
    return `${res.status} without { error: { code, message } }: ${res.text.slice(0, 300)}`;
  }
  return undefined;
}
