import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { ObjectPresigner } from './presigner.ts';

const AT = Date.parse('2026-12-02T01:02:03.456Z');

function client(options: { endpoint?: string; region?: string; sessionToken?: string }): S3Client {
  return new S3Client({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    credentials: {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
    },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The SDK's own presigned URL for the same GET at the same time, without its `x-id` marker. */
async function sdkUrl(s3: S3Client, bucket: string, key: string): Promise<URL> {
  // `x-id=GetObject` is a marker the SDK adds to every request; it is signed with the rest, so it
  // is removed from the command's input by signing a request without it (middleware below).
  const command = new GetObjectCommand({ Bucket: bucket, Key: key });
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { query?: Record<string, unknown> };
      delete request.query?.['x-id'];
      return next(args);
    },
    { step: 'build', name: 'dropXId', priority: 'low' },
  );
  return new URL(await getSignedUrl(s3, command, { expiresIn: 3600, signingDate: new Date(AT) }));
}

describe('ObjectPresigner', () => {
  const cases = [
    { name: 'path-style custom endpoint', s3: () => client({ endpoint: 'http://127.0.0.1:9000' }) },
    { name: 'AWS virtual-hosted, another region', s3: () => client({ region: 'eu-west-3' }) },
    { name: 'temporary credentials', s3: () => client({ sessionToken: 'token/with+special=chars' }) },
  ];
  for (const { name, s3 } of cases) {
    it(`signs exactly as the SDK does: ${name}`, async () => {
      const client = s3();
      const presigner = new ObjectPresigner(client, 3600, () => AT);
      for (const key of ['jobs/a/0.png', "a cat (1)/it's *ok*!/café+é.png", 'x/~_-./sp ace']) {
        const ours = new URL(await presigner.url('my-bucket', key));
        const theirs = await sdkUrl(client, 'my-bucket', key);
        expect(ours.origin + ours.pathname).toBe(theirs.origin + theirs.pathname);
        expect(Object.fromEntries(ours.searchParams)).toEqual(Object.fromEntries(theirs.searchParams));
      }
    });
  }

  it('signs each second with its own date, and new credentials as soon as the client has them', async () => {
    let now = AT;
    // Temporary credentials that expire within the SDK's refresh window: it asks again every time.
    const expiring = (id: string) => ({
      accessKeyId: id,
      secretAccessKey: `secret-${id}`,
      expiration: new Date(Date.now() + 60_000),
    });
    let credentials = expiring('AKID1');
    const s3 = new S3Client({ region: 'us-east-1', credentials: async () => credentials });
    const presigner = new ObjectPresigner(s3, 60, () => now);
    const first = new URL(await presigner.url('b', 'k.png'));
    now += 1_000;
    const second = new URL(await presigner.url('b', 'k.png'));
    expect(first.searchParams.get('X-Amz-Date')).toBe('20261202T010203Z');
    expect(second.searchParams.get('X-Amz-Date')).toBe('20261202T010204Z');
    credentials = expiring('AKID2');
    const third = new URL(await presigner.url('b', 'k.png'));
    expect(third.searchParams.get('X-Amz-Credential')).toMatch(/^AKID2\//);
  });

  it('refuses a validity SigV4 cannot sign', () => {
    const s3 = client({});
    expect(() => new ObjectPresigner(s3, 0)).toThrow(RangeError);
    expect(() => new ObjectPresigner(s3, 7 * 24 * 3600 + 1)).toThrow(RangeError);
  });
});
