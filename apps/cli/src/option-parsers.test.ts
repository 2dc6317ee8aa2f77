import { JOB_STATES } from '@genqueue/model';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { commaList, httpUrl, integerIn, jobState, positiveNumber } from './option-parsers.ts';

describe('option parsers', () => {
  it('parses integers within bounds and refuses the rest', () => {
    const n = integerIn(1, 64);
    expect(n('8')).toBe(8);
    for (const bad of ['0', '65', '1.5', 'eight', '', '1e2'])
      expect(() => n(bad)).toThrow(InvalidArgumentError);
  });

  it('parses positive numbers only', () => {
    expect(positiveNumber('500')).toBe(500);
    expect(positiveNumber('12.5')).toBe(12.5);
    for (const bad of ['0', '-3', 'abc', '1e3', ''])
      expect(() => positiveNumber(bad)).toThrow(InvalidArgumentError);
  });

  it('accepts job states only', () => {
    for (const state of JOB_STATES) expect(jobState(state)).toBe(state);
    expect(() => jobState('broken')).toThrow(/expected one of queued, submitting/);
  });

  it('splits and accumulates comma lists', () => {
    expect(commaList('job.failed, job.succeeded,', ['batch.completed'])).toEqual([
      'batch.completed',
      'job.failed',
      'job.succeeded',
    ]);
    expect(() => commaList(' , ')).toThrow(InvalidArgumentError);
  });

  it('accepts http(s) URLs only', () => {
    expect(httpUrl('https://example.com/hook')).toBe('https://example.com/hook');
    for (const bad of ['example.com', 'ftp://example.com', 'file:///etc/passwd']) {
      expect(() => httpUrl(bad)).toThrow(InvalidArgumentError);
    }
  });
});
