/**
 * Request signing for the LiblibAI OpenAPI (002 §2.4).
 *
 * Every call carries four query parameters: `AccessKey`, `Signature`, `Timestamp` (milliseconds,
 * as a string, valid 5 minutes) and `SignatureNonce`. The signature is
 *
 *     content   = uri + "&" + timestamp + "&" + nonce        (uri = the path only, no host, no query)
 *     signature = base64url(HMAC-SHA1(secretKey, content)) without the trailing "=" padding
 *
 * which reproduces the manual's Python reference byte for byte:
 *
 *     digest = hmac.new(secret_key.encode(), content.encode(), sha1).digest()
 *     sign = base64.urlsafe_b64encode(digest).rstrip(b'=').decode()
 */
import { createHmac } from 'node:crypto';

/** What one signature is computed from. */
export interface SignInput {
  /** The API secret key (never logged, never placed in an error message). */
  secretKey: string;
  /** The request path only, e.g. `/api/generate/webui/text2img` (no host, no query string). */
  uri: string;
  /** Milliseconds since the epoch, as sent in `Timestamp`. */
  timestamp: string | number;
  /** The random string sent in `SignatureNonce`. */
  nonce: string;
}

/** Computes `Signature` for one request (002 §2.4). Pure; UTF-8 throughout, like the reference. */
export function sign(input: SignInput): string {
  const content = `${input.uri}&${String(input.timestamp)}&${input.nonce}`;
  // Node's 'base64url' encoding is the URL-safe alphabet with the padding already removed, which
  // is exactly `urlsafe_b64encode(...).rstrip(b'=')`.
  return createHmac('sha1', Buffer.from(input.secretKey, 'utf8')).update(content, 'utf8').digest('base64url');
}

/** The four query parameters of a signed request (002 §2.4.1). */
export interface SignedQuery {
  AccessKey: string;
  Signature: string;
  Timestamp: string;
  SignatureNonce: string;
}

/**
 * Builds the signed query parameters for `uri`. `timestamp` is in milliseconds.
 * The caller appends them to the URL; see {@link signedQueryString}.
 */
export function signedQuery(options: {
  accessKey: string;
  secretKey: string;
  uri: string;
  timestamp: number;
  nonce: string;
}): SignedQuery {
  const Timestamp = String(Math.trunc(options.timestamp));
  return {
    AccessKey: options.accessKey,
    Signature: sign({
      secretKey: options.secretKey,
      uri: options.uri,
      timestamp: Timestamp,
      nonce: options.nonce,
    }),
    Timestamp,
    SignatureNonce: options.nonce,
  };
}

/** `AccessKey=…&Signature=…&Timestamp=…&SignatureNonce=…`, URL-encoded. */
export function signedQueryString(query: SignedQuery): string {
  return new URLSearchParams({ ...query }).toString();
}
