/**
 * Test support: an independent LiblibAI request signer (002 §2.4, written from the manual's Python
 * reference, not imported from the client package) and a PNG decoder that checks every CRC.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';

/** Overrides for one signed request, to forge bad ones. */
export interface SignOverrides {
  accessKey?: string;
  secretKey?: string;
  timestamp?: string;
  nonce?: string;
  signature?: string;
  /** Path used in the signature when it differs from the request path. */
  signedPath?: string;
}

/** The LiblibAI envelope as tests read it. */
export interface Envelope {
  code: number;
  msg: string;
  data: EnvelopeData | null;
}

/** The `data` fields tests look at. */
export interface EnvelopeData {
  generateUuid?: string;
  generateStatus?: number;
  percentCompleted?: number;
  generateMsg?: string;
  pointsCost?: number;
  accountBalance?: number;
  images?: { imageUrl: string; seed: number; auditStatus: number }[];
  videos?: { videoUrl: string; coverPath: string; auditStatus: number }[];
  [field: string]: unknown;
}

/** A minimal signed LiblibAI caller for tests. */
export function liblibCaller(
  baseUrl: string,
  keys: { accessKey: string; secretKey: string },
  now: () => number = Date.now,
) {
  const sign = (path: string, o: SignOverrides = {}): string => {
    const timestamp = o.timestamp ?? String(now());
    const nonce = o.nonce ?? randomUUID();
    const digest = createHmac('sha1', o.secretKey ?? keys.secretKey)
      .update(`${o.signedPath ?? path}&${timestamp}&${nonce}`)
      .digest();
    // The manual's reference: base64.urlsafe_b64encode(digest).rstrip(b'=')
    const signature =
      o.signature ?? digest.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const q = new URLSearchParams({
      AccessKey: o.accessKey ?? keys.accessKey,
      Signature: signature,
      Timestamp: timestamp,
      SignatureNonce: nonce,
    });
    return `${baseUrl}${path}?${q}`;
  };
  const post = async (
    path: string,
    body: unknown,
    o: SignOverrides = {},
  ): Promise<{ status: number; json: Envelope | undefined; text: string }> => {
    const res = await fetch(sign(path, o), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let json: Envelope | undefined;
    try {
      json = JSON.parse(text) as Envelope;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };
  return { sign, post };
}

/** A decoded PNG: header fields, chunk types in order, and the unfiltered RGB rows. */
export interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  chunks: string[];
  pixels: Buffer;
}

/** Decodes an 8-bit RGB PNG with filter 0 rows, verifying the signature and every chunk CRC. */
export function decodePng(bytes: Buffer): DecodedPng {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!bytes.subarray(0, 8).equals(signature)) throw new Error('bad PNG signature');
  let pos = 8;
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let ihdr: Buffer | undefined;
  while (pos < bytes.length) {
    const length = bytes.readUInt32BE(pos);
    const type = bytes.toString('latin1', pos + 4, pos + 8);
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    const crc = bytes.readUInt32BE(pos + 8 + length);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + length)) >>> 0 !== crc) throw new Error(`bad CRC in ${type}`);
    chunks.push(type);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    pos += 12 + length;
    if (type === 'IEND') break;
  }
  if (!ihdr) throw new Error('no IHDR');
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  if (raw.length !== (stride + 1) * height) throw new Error('IDAT size does not match IHDR');
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    if (raw[y * (stride + 1)] !== 0) throw new Error('unexpected filter type');
    raw.copy(pixels, y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
  }
  return { width, height, bitDepth: ihdr[8]!, colorType: ihdr[9]!, chunks, pixels };
}

/** A settable clock for simulators under test. */
export function manualClock(start = Date.UTC(2025, 0, 1)) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** An HTTP answer with its body parsed as JSON where it is JSON (else the text). */
export interface JsonAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
}

/** A JSON request with a bearer token, answered as a `JsonAnswer`. */
export async function bearerRequest(
  url: string,
  options: { method: string; token: string; body?: unknown; headers?: Record<string, string> },
): Promise<JsonAnswer> {
  const res = await fetch(url, {
    method: options.method,
    headers: {
      authorization: `Bearer ${options.token}`,
      'content-type': 'application/json',
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}
