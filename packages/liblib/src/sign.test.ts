import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sign, signedQuery, signedQueryString } from './sign.ts';

/**
 * The manual's Python reference (002 §2.4.2), run at test time. It reads a JSON list of
 * [secretKey, uri, timestamp, nonce] from stdin and prints one signature per line.
 */
const PYTHON_REFERENCE = `
import base64, hmac, json, sys
from hashlib import sha1
for secret_key, uri, timestamp, nonce in json.load(sys.stdin):
    content = '&'.join((uri, timestamp, nonce))
    digest = hmac.new(secret_key.encode(), content.encode(), sha1).digest()
    print(base64.urlsafe_b64encode(digest).rstrip(b'=').decode())
`;

function pythonSign(vectors: [string, string, string, string][]): string[] {
  const out = execFileSync('python3', ['-c', PYTHON_REFERENCE], {
    input: JSON.stringify(vectors),
    encoding: 'utf8',
  });
  return out.trimEnd().split('\n');
}

describe('sign (002 §2.4)', () => {
  // Pinned with the Python reference above (python3 3.11); the first row is the manual's own
  // example request (/api/genImg, Timestamp=1725458584000, SignatureNonce=random1232).
  it.each([
    [
      'KppKsn7ezZxhi6lIDjbo7YyVYzanSu2d',
      '/api/genImg',
      '1725458584000',
      'random1232',
      'v8LFs5whUd1L23JFHAGZq2_mYLw',
    ],
    [
      'KppKsn7ezZxhi6lIDjbo7YyVYzanSu2d',
      '/api/generate/webui/text2img',
      '1725458584000',
      '0123456789',
      't8w-Qm3l7FfqV8nRdTioKEgUKf8',
    ],
    [
      'secret',
      '/api/generate/kontext/text2img',
      '1700000000123',
      'f47ac10b-58cc-4372-a567-0e02b2c3d479',
      'T71mX9MsmO-Vfuf3dfoE5Bnvx40',
    ],
    ['密钥-ünïcode', '/api/generate/status', '1', 'nonce with spaces & amp', 'cE31Zlg6lAFgosRwQ36cxsUOw1A'],
    ['', '/api/generate/upload/signature', '0', '', 'fbddHDKfwE8R3i-kO1d6brXrZrg'],
  ])('matches the pinned Python vector for %s %s', (secretKey, uri, timestamp, nonce, expected) => {
    expect(sign({ secretKey, uri, timestamp, nonce })).toBe(expected);
  });

  it('matches the Python reference byte for byte on random inputs', () => {
    const vectors: [string, string, string, string][] = [];
    for (let i = 0; i < 50; i++) {
      vectors.push([
        randomBytes(24)
          .toString('base64')
          .slice(0, 8 + (i % 30)),
        `/api/generate/${randomBytes(6).toString('hex')}`,
        String(1_700_000_000_000 + i * 7919),
        // Include non-ASCII and URL-special characters: both sides hash UTF-8 bytes.
        `${randomBytes(8).toString('base64url')}-é&=${i}`,
      ]);
    }
    const expected = pythonSign(vectors);
    expect(
      vectors.map(([secretKey, uri, timestamp, nonce]) => sign({ secretKey, uri, timestamp, nonce })),
    ).toEqual(expected);
  });

  it('never pads and only uses the URL-safe alphabet', () => {
    for (let i = 0; i < 200; i++) {
      const signature = sign({ secretKey: `k${i}`, uri: '/api/x', timestamp: i, nonce: `n${i}` });
      expect(signature).toMatch(/^[A-Za-z0-9_-]{27}$/);
    }
  });

  it('builds the four query parameters with a millisecond timestamp string', () => {
    const query = signedQuery({
      accessKey: 'KIQMFXjHaobx7wqo9XvYKA',
      secretKey: 'KppKsn7ezZxhi6lIDjbo7YyVYzanSu2d',
      uri: '/api/genImg',
      timestamp: 1725458584000,
      nonce: 'random1232',
    });
    expect(query).toEqual({
      AccessKey: 'KIQMFXjHaobx7wqo9XvYKA',
      Signature: 'v8LFs5whUd1L23JFHAGZq2_mYLw',
      Timestamp: '1725458584000',
      SignatureNonce: 'random1232',
    });
    expect(signedQueryString(query)).toBe(
      'AccessKey=KIQMFXjHaobx7wqo9XvYKA&Signature=v8LFs5whUd1L23JFHAGZq2_mYLw&Timestamp=1725458584000&SignatureNonce=random1232',
    );
  });
});
