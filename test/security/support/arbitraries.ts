/**
 * fast-check generators of invalid and odd requests: wrong types, huge numbers, deep nesting,
 * unicode and control characters, bytes that are not UTF-8, empty and huge bodies, odd content
 * types, CSVs with broken quoting and BOMs, odd query strings and path parameters.
 */
import fc from 'fast-check';

/** Strings a careless parser trips on. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u0000\u0001\u0002\u001f\u007f',
  '\t\n\r\v\f',
  '\uFEFF',
  '\uD800',
  '\uDFFF\uD800',
  '\u202E\u2066RTL',
  '𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦 🏳️‍🌈',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̥̟',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style payload, on purpose
  '${jndi:ldap://x}',
  '{{7*7}}',
  "'; DROP TABLE jobs; --",
  '{"$gt": ""}',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '/etc/passwd',
  'file:///etc/passwd',
  'data:image/png;base64,AAAA',
  'http://127.0.0.1:6379/',
  'http://169.254.169.254/latest/meta-data/',
  'javascript:alert(1)',
  '<script>alert(1)</script>',
  '%00',
  '%',
  '%ZZ',
  '%E0%A4%A',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  'true',
  'null',
  'undefined',
  '0x10',
  'ｊ＿ｆｕｌｌｗｉｄｔｈ',
];

/** Any string, biased towards the nasty ones and towards control and astral characters. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) }),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

/** Numbers at the edges: huge, tiny, negative zero, beyond 2^53, fractional where integers are due. */
export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1.5,
    2 ** 53 + 1,
    -(2 ** 63),
    Number.MAX_SAFE_INTEGER,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
    -1e308,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Any JSON value, with odd strings and numbers mixed in. */
export const oddJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    oddString,
    oddNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(oddString, fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** A JSON text nested `depth` levels deep (arrays or objects). */
export const deepJson: fc.Arbitrary<string> = fc
  .record({ depth: fc.integer({ min: 30, max: 200_000 }), kind: fc.constantFrom('array', 'object', 'mixed') })
  .map(({ depth, kind }) => {
    if (kind === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return `{"operation":"kontext.text2img","input":{"prompt":"x","n":${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}}}`;
  });

/** JSON-ish texts that are not valid JSON, or valid JSON in odd encodings. */
export const brokenJsonText: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .constantFrom(
      '',
      '{',
      '}',
      '{"a":}',
      '{"a":1,}',
      "{'a':1}",
      '[1,2',
      'nul',
      'NaN',
      '{"a":1}{"b":2}',
      '{"a":1} trailing',
      '\uFEFF{"operation":"kontext.text2img","input":{"prompt":"bom"}}',
      '{"a":"\\ud800"}',
      '{"a":"\\u00"}',
      '{"__proto__":{"polluted":true},"operation":"kontext.text2img","input":{"prompt":"p"}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"operation":"kontext.text2img","operation":"x","input":{"prompt":"dup"}}',
      `{"n":1${'0'.repeat(400)}}`,
      '{"n":1e999999}',
      '{"n":-1e-999999}',
      '"just a string"',
      '12345',
      'true',
      'null',
      '[]',
    )
    .map((text) => Buffer.from(text, 'utf8')),
  // bytes that are not UTF-8 inside and outside strings
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc
    .uint8Array({ minLength: 1, maxLength: 40 })
    .map((bytes) =>
      Buffer.concat([
        Buffer.from('{"operation":"kontext.text2img","input":{"prompt":"'),
        Buffer.from(bytes),
        Buffer.from('"}}'),
      ]),
    ),
  fc.constantFrom(
    Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]), // UTF-16LE BOM + {}
    Buffer.from([0xc0, 0xaf]), // overlong '/'
    Buffer.from([0xed, 0xa0, 0x80]), // UTF-8 encoded surrogate
    Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
  ),
);

/** Content types, right and wrong. `undefined` sends none. */
export const contentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=klingon',
  'application/json; charset=""',
  'application/json;;;',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/x-ndjson',
  'application/csv',
  'text/csv',
  'text/csv; charset=utf-16',
  'text/plain',
  'text/html',
  'multipart/form-data; boundary=xyz',
  'multipart/form-data',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  '*/*',
  'json',
  '',
  ';',
  'a/b/c',
  'application/json\u00ff',
  undefined,
);

/** Headers that change how a body is read: encodings the API does not take, lengths that lie. */
export const bodyHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'x-nope', 'gzip, gzip')
      .map((e) => ({ 'content-encoding': e })),
  },
  { weight: 1, arbitrary: fc.constant({ 'transfer-encoding': 'chunked' }) },
);

/** A body between 1 MiB and 2.5 MiB: over the single-request limits. */
export const hugeBody: fc.Arbitrary<Buffer> = fc
  .record({ size: fc.integer({ min: 1_048_577, max: 2_500_000 }), json: fc.boolean() })
  .map(({ size, json }) =>
    json
      ? Buffer.from(`{"operation":"kontext.text2img","input":{"prompt":"${'p'.repeat(size)}"}}`)
      : Buffer.alloc(size, 0x61),
  );

/**
 * A path segment to put where an id goes, as wire text: percent-encoded unicode, raw latin1 bytes
 * (not UTF-8 once decoded), broken escapes, dot segments, long ones, and ids that look right.
 */
export const oddSegment: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 30 })
      .map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, 'x'))),
  },
  // Raw latin1 bytes 0x21-0xff except the ones that end a segment. Node's parser refuses the ones
  // over 0x7f before the app sees them, so these are kept rarer.
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc
        .integer({ min: 0x21, max: 0xff })
        .filter((c) => c !== 0x2f && c !== 0x3f && c !== 0x23)
        .map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 30,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '%',
      '%%',
      '%Z1',
      '%E0%A4%A',
      '%C0%AF',
      '%00',
      '%2F',
      '%2e%2e',
      '..',
      '.',
      '%FF%FE',
      '%ED%A0%80',
      'j_',
      'j_0000000000000000',
      'j_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz',
      `j_${'0'.repeat(41)}`,
      'b_0000000000000000',
      'b_0000000000000000-0',
      'b_0000000000000000-99999999',
      'J_0000000000000000',
      '__proto__',
      'constructor',
      '*',
      '[object%20Object]',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 8_000 }).map((n) => 'a'.repeat(n)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('j_', 'b_'), fc.stringMatching(/^[0-9a-z]{16,40}$/))
      .map(([p, s]) => `${p}${s}`),
  },
);

/** A query string (with its `?`), or empty: odd keys and values, repeats, brackets, broken escapes. */
export const oddQuery: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  {
    weight: 5,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(
              'limit',
              'cursor',
              'state',
              'after',
              'offset',
              'page',
              'operation',
              'provider',
              'webhookUrl',
              'skipInvalid',
              'format',
              '__proto__',
              '__proto__[x]',
              'a[b][c]',
              'constructor',
              '',
            ),
            oddSegment,
          ),
          fc.oneof(
            fc.constantFrom(
              '',
              '-1',
              '0',
              '1',
              '1e309',
              '99999999999999999999',
              'NaN',
              'true',
              'queued',
              'succeeded',
              'bogus',
              '%',
              '%ZZ',
            ),
            oddSegment,
          ),
        ),
        { maxLength: 6 },
      )
      .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '??', '?&&&', '?=', '?a', '?a=1&a=2&a=3', '?#frag') },
);

/** Authorization headers that are not the right credentials. */
export const wrongAuthorization: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'bearer x',
    'Basic dGVzdDp0ZXN0',
    'Basic',
    'Basic !!!',
    'Token abc',
    'Bearer \u00ff\u00fe',
  ),
  oddString.filter((s) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s)).map((s) => `Bearer ${s}`),
);
