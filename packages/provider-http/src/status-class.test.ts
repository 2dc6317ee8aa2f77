import type { ErrorClass } from '@genqueue/model';
import { describe, expect, it } from 'vitest';
import { classifyStatus } from './status-class.ts';

describe('classifyStatus: the one HTTP status table of every adapter', () => {
  const table: [number, ErrorClass, 'qps' | undefined][] = [
    [400, 'invalid_job', undefined], // bad parameters (001 §6)
    [401, 'account', undefined], // signature / key refused (002 §13, 001 §6)
    [402, 'account', undefined], // payment required: the account must pay, the job is fine
    [403, 'account', undefined], // no entitlement, points exhausted (002 §13)
    [404, 'invalid_job', undefined], // unknown model, version or task
    [405, 'invalid_job', undefined],
    [408, 'transient', undefined], // the server timed out waiting for the request
    [409, 'transient', undefined], // conflict with the server's state, clears by itself
    [410, 'invalid_job', undefined],
    [413, 'invalid_job', undefined], // the job's input is too large
    [415, 'invalid_job', undefined],
    [422, 'invalid_job', undefined], // Replicate's validation errors
    [429, 'retry_later', 'qps'], // too many requests (002 §13: submission QPS)
    [499, 'invalid_job', undefined],
    [500, 'transient', undefined], // internal error (001 §6: retry)
    [502, 'transient', undefined],
    [503, 'transient', undefined],
    [504, 'transient', undefined],
    [599, 'transient', undefined],
    [301, 'transient', undefined], // a redirect is a gateway's answer, not the provider's verdict
    [304, 'transient', undefined],
    [100, 'transient', undefined],
  ];
  it.each(table)('%i → %s', (status, errorClass, limit) => {
    expect(classifyStatus(status)).toEqual(limit ? { errorClass, limit } : { errorClass });
  });
});
