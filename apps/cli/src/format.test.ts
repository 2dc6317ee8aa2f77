import type { JobView } from '@genqueue/model';
import { describe, expect, it } from 'vitest';
import { ApiConnectionError, ApiResponseError, CliError } from './errors.ts';
import { formatBytes, formatError, formatJobLine, formatRejected } from './format.ts';

describe('formatError', () => {
  it('prints the API message once, the other issues, and rejected rows', () => {
    const error = new ApiResponseError(400, 'invalid_request', 'operation: unknown operation "nope"', [
      { path: 'operation', message: 'unknown operation "nope"' },
    ]);
    expect(formatError(error)).toBe('error: operation: unknown operation "nope" (HTTP 400 invalid_request)');

    const invalid = new ApiResponseError(
      400,
      'invalid_request',
      '2 rows are invalid',
      [
        { path: 'rows[2].input.prompt', message: 'Required' },
        { path: 'rows[5].input.imgCount', message: 'Expected number' },
      ],
      {
        rejected: [
          { row: 2, line: 3, issues: [{ path: 'input.prompt', message: 'Required' }] },
          { row: 5, line: 7, issues: [{ path: 'input.imgCount', message: 'Expected number' }] },
        ],
      },
    );
    // The rows, with the file's lines, instead of the same issues twice.
    expect(formatError(invalid).split('\n')).toEqual([
      'error: 2 rows are invalid (HTTP 400 invalid_request)',
      '  row 2 (line 3): input.prompt: Required',
      '  row 5 (line 7): input.imgCount: Expected number',
    ]);
    const listed = new ApiResponseError(400, 'invalid_request', 'query: bad', [
      { path: 'maxPoints', message: 'must be a positive number' },
      { path: 'events[0]', message: 'Invalid enum value' },
    ]);
    expect(formatError(listed).split('\n')).toEqual([
      'error: query: bad (HTTP 400 invalid_request)',
      '  maxPoints: must be a positive number',
      '  events[0]: Invalid enum value',
    ]);
  });

  it('hints at the token on a 401 and at starting the API on connection refused', () => {
    expect(formatError(new ApiResponseError(401, 'unauthorized', 'missing bearer token'))).toContain(
      'hint: set GENQUEUE_TOKEN',
    );
    const refused = formatError(
      new ApiConnectionError(
        'http://127.0.0.1:3000',
        'ECONNREFUSED',
        'cannot reach http://127.0.0.1:3000 (connection refused)',
      ),
    );
    expect(refused.split('\n')).toHaveLength(2);
    expect(refused).toMatch(
      /^error: cannot reach .*\nhint: is the API running\? start it with `npm run api`/,
    );
    expect(
      formatError(new ApiConnectionError('http://x', 'ENOTFOUND', 'cannot reach http://x (host not found)')),
    ).toBe('error: cannot reach http://x (host not found)');
    expect(formatError(new CliError('no such file: "a.txt"', 2))).toBe('error: no such file: "a.txt"');
  });
});

describe('formatRejected', () => {
  it('lists every issue of the first rows and counts the rest', () => {
    const rows = Array.from({ length: 4 }, (_, i) => ({
      row: i + 1,
      issues: [{ path: 'input.prompt', message: 'Required' }],
    }));
    expect(formatRejected(rows, 2)).toEqual([
      '  row 1: input.prompt: Required',
      '  row 2: input.prompt: Required',
      '  … and 2 more rows',
    ]);
  });
});

describe('formatJobLine', () => {
  const job = (fields: Partial<JobView>) =>
    ({ id: 'b_1-0', state: 'succeeded', outputs: [], ...fields }) as JobView;

  it('shows output keys of a succeeded job and the error of a failed one', () => {
    expect(
      formatJobLine(
        job({ outputs: [{ key: 'jobs/b_1-0/0.png' }, { key: 'jobs/b_1-0/1.png' }] as JobView['outputs'] }),
      ),
    ).toBe('b_1-0  succeeded   jobs/b_1-0/0.png jobs/b_1-0/1.png');
    expect(formatJobLine(job({ state: 'failed', error: { code: '100052', message: 'moderation' } }))).toBe(
      'b_1-0  failed      100052: moderation',
    );
    expect(formatJobLine(job({ state: 'queued' }))).toBe('b_1-0  queued');
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [20 * 1024 * 1024, '20.0 MiB'],
  ])('%d bytes is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
