import { createHash, createHmac } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** Where a bucket's objects live and in which region they are signed, learned once per bucket. */
interface BucketBase {
  /** `http://127.0.0.1:9000` or `https://bucket.s3.eu-west-1.amazonaws.com`. */
  origin: string;
  /** The `Host` header the URL is signed for. */
  host: string;
  /** Path before the key, without a trailing slash: `/bucket` path-style, `` virtual-hosted. */
  pathPrefix: string;
  region: string;
}

const PROBE_KEY = 'genqueue-presign-probe';
/** SigV4 caps a presigned URL's validity at 7 days. */
const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;

/**
 * Presigned GET URLs for stored objects, about 4 µs each. The SDK's `getSignedUrl` takes about
 * 600 µs a URL (it runs the command's whole middleware stack) and its `S3RequestPresigner` about
 * 60 µs (a fresh HMAC of the secret for its key cache, generic header hoisting): either one alone
 * caps a 50,000-row results file with presigned URLs at 2,000 or 9,000 lines per second.
 *
 * So the SDK does what is subtle and this does only the arithmetic: one `getSignedUrl` per
 * bucket, through the caller's client, gives the endpoint the SDK's rules chose (path-style or
 * virtual-hosted, custom endpoint or AWS) and its signing region; credentials come from the
 * client's own provider (refreshed by the SDK); and every object URL is then the fixed-form
 * query-string signature of AWS Signature Version 4 for a GET of that one object, with an unsigned
 * payload and the `host` header alone signed. The tests check it against the SDK's signer.
 */
export class ObjectPresigner {
  private readonly bases = new Map<string, Promise<BucketBase>>();
  private signingKey?: { scope: string; secret: string; key: Buffer };
  private lastQuery?: {
    second: number;
    region: string;
    credentials: object;
    amzDate: string;
    scope: string;
    query: string;
  };

  constructor(
    private readonly s3: S3Client,
    private readonly expiresInSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    if (
      !Number.isInteger(expiresInSeconds) ||
      expiresInSeconds < 1 ||
      expiresInSeconds > MAX_EXPIRES_SECONDS
    ) {
      throw new RangeError(`presigned URLs last 1 to ${MAX_EXPIRES_SECONDS} s, got ${expiresInSeconds}`);
    }
  }

  async url(bucket: string, key: string): Promise<string> {
    const base = await this.baseOf(bucket);
    const credentials = await this.s3.config.credentials();
    const { amzDate, scope, query } = this.queryFor(base.region, credentials);
    const path = `${base.pathPrefix}/${encodeKey(key)}`;
    const canonicalRequest = `GET\n${path}\n${query}\nhost:${base.host}\n\nhost\nUNSIGNED-PAYLOAD`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.keyFor(scope, credentials.secretAccessKey))
      .update(stringToSign)
      .digest('hex');
    return `${base.origin}${path}?${query}&X-Amz-Signature=${signature}`;
  }

  /**
   * The signed query of every URL of one second, region and set of credentials (all but the
   * signature), kept until one of them changes: a results file signs thousands a second.
   */
  private queryFor(
    region: string,
    credentials: { accessKeyId: string; sessionToken?: string },
  ): { amzDate: string; scope: string; query: string } {
    const second = Math.floor(this.now() / 1000);
    const cached = this.lastQuery;
    if (
      cached &&
      cached.second === second &&
      cached.region === region &&
      cached.credentials === credentials
    ) {
      return cached;
    }
    const amzDate = new Date(second * 1000).toISOString().replace(/[-:]|\.\d{3}/g, '');
    const scope = `${amzDate.slice(0, 8)}/${region}/s3/aws4_request`;
    // Already in canonical order (sorted by name) and encoding.
    let query =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD' +
      `&X-Amz-Credential=${uriEncode(`${credentials.accessKeyId}/${scope}`)}` +
      `&X-Amz-Date=${amzDate}&X-Amz-Expires=${this.expiresInSeconds}`;
    if (credentials.sessionToken) query += `&X-Amz-Security-Token=${uriEncode(credentials.sessionToken)}`;
    query += '&X-Amz-SignedHeaders=host';
    this.lastQuery = { second, region, credentials, amzDate, scope, query };
    return this.lastQuery;
  }

  /** The SigV4 signing key of one day, region and secret: four HMACs, kept until one of them changes. */
  private keyFor(scope: string, secret: string): Buffer {
    const cached = this.signingKey;
    if (cached && cached.scope === scope && cached.secret === secret) return cached.key;
    let key: Buffer = Buffer.from(`AWS4${secret}`, 'utf8');
    for (const part of scope.split('/')) key = createHmac('sha256', key).update(part).digest();
    this.signingKey = { scope, secret, key };
    return key;
  }

  private baseOf(bucket: string): Promise<BucketBase> {
    let base = this.bases.get(bucket);
    if (!base) {
      base = this.resolve(bucket);
      // A failed resolution (credentials not yet available) is tried again on the next URL.
      base.catch(() => this.bases.delete(bucket));
      this.bases.set(bucket, base);
    }
    return base;
  }

  private async resolve(bucket: string): Promise<BucketBase> {
    const probe = new URL(
      await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: bucket, Key: PROBE_KEY }), {
        expiresIn: this.expiresInSeconds,
      }),
    );
    if (!probe.pathname.endsWith(`/${PROBE_KEY}`)) {
      throw new Error(
        `unexpected presigned URL shape for bucket ${bucket}: ${probe.origin}${probe.pathname}`,
      );
    }
    // X-Amz-Credential is <access key>/<date>/<region>/<service>/aws4_request: the region the
    // endpoint rules chose for this bucket, which need not be the client's.
    const region = (probe.searchParams.get('X-Amz-Credential') ?? '').split('/').at(-3);
    if (!region) throw new Error(`presigned URL for bucket ${bucket} has no credential scope`);
    return {
      origin: probe.origin,
      host: probe.host,
      pathPrefix: probe.pathname.slice(0, -PROBE_KEY.length - 1),
      region,
    };
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** SigV4's URI encoding: everything but RFC 3986's unreserved characters, so `!'()*` too. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** An S3 key as a URL path: each segment encoded, the slashes kept (S3 does not double-encode). */
function encodeKey(key: string): string {
  // genqueue's own keys (ids, indexes, extensions) need no escaping: skip the per-segment work.
  if (/^[A-Za-z0-9\-._~/]*$/.test(key)) return key;
  return key.split('/').map(uriEncode).join('/');
}
