import { describe, expect, it } from 'vitest';
import { actionFor, type ErrorAction, type ErrorClass, ProviderError, parseRetryAfter } from './errors.ts';

describe('actionFor', () => {
  const table: [ErrorClass, ErrorAction][] = [
    ['retry_later', 'delay'],
    ['transient', 'retry'],
    ['invalid_job', 'fail'],
    ['account', 'pause_provider'],
  ];
  it.each(table)('%s → %s', (errorClass, action) => {
    expect(actionFor(errorClass)).toBe(action);
  });
});

describe('ProviderError', () => {
  it('shows the provider code, else the HTTP status, else the class, in the job error', () => {
    const base = { provider: 'liblib', message: 'm' } as const;
    expect(new ProviderError({ ...base, errorClass: 'invalid_job', code: '100052' }).toJobError()).toEqual({
      code: '100052',
      message: 'm',
    });
    expect(new ProviderError({ ...base, errorClass: 'transient', status: 502 }).toJobError().code).toBe(
      'http_502',
    );
    expect(new ProviderError({ ...base, errorClass: 'transient' }).toJobError().code).toBe('transient');
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['3', 3000],
    ['0.5', 500],
    ['Thu, 01 Jan 1970 00:00:10 GMT', 9000],
    ['soon', undefined],
    [undefined, undefined],
  ])('%s → %s ms', (value, expected) => {
    expect(parseRetryAfter(value, 1000)).toBe(expected);
  });
});
