import { actionFor, type ErrorClass } from '@genqueue/model';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classifyLiblibCode, LIBLIB_ERROR_CODES, LiblibValidationError, liblibCodeError } from './errors.ts';

describe('classifyLiblibCode (002 §13)', () => {
  it.each([
    [429, 'retry_later', 'delay', 'qps'],
    [100054, 'retry_later', 'delay', 'in_flight'],
    [401, 'account', 'pause_provider'],
    [402, 'account', 'pause_provider'],
    [403, 'account', 'pause_provider'],
    [100010, 'account', 'pause_provider'],
    [100020, 'account', 'pause_provider'],
    [100021, 'account', 'pause_provider'],
    [408, 'transient', 'retry'],
    [409, 'transient', 'retry'],
    [500, 'transient', 'retry'],
    [503, 'transient', 'retry'],
    [599, 'transient', 'retry'],
    [100032, 'transient', 'retry'],
    [200000, 'transient', 'retry'],
    [210000, 'transient', 'retry'],
    [400, 'invalid_job', 'fail'],
    [404, 'invalid_job', 'fail'],
    [100000, 'invalid_job', 'fail'],
    [100030, 'invalid_job', 'fail'],
    [100031, 'invalid_job', 'fail'],
    [100050, 'invalid_job', 'fail'],
    [100051, 'invalid_job', 'fail'],
    [100052, 'invalid_job', 'fail'],
    [100053, 'invalid_job', 'fail'],
    [100055, 'invalid_job', 'fail'],
    [100120, 'invalid_job', 'fail'],
    [200001, 'invalid_job', 'fail'],
    [999999, 'invalid_job', 'fail'],
    [-1, 'invalid_job', 'fail'],
  ] as [number, ErrorClass, string, string?][])('%i → %s (queue: %s)', (code, errorClass, action, limit) => {
    const verdict = classifyLiblibCode(code);
    expect(verdict.errorClass).toBe(errorClass);
    expect(verdict.limit).toBe(limit);
    expect(actionFor(verdict.errorClass)).toBe(action);
  });

  it('knows every code of the manual', () => {
    expect(Object.keys(LIBLIB_ERROR_CODES)).toHaveLength(20);
  });

  it('builds a ProviderError that names the call, the code and its meaning, and keeps Retry-After only for retry_later', () => {
    const busy = liblibCodeError({
      code: 100054,
      fromHttpStatus: false,
      httpStatus: 200,
      what: 'POST /x',
      retryAfterMs: 5,
    });
    expect(busy.message).toBe('POST /x failed with code 100054 (concurrent task limit reached)');
    expect(busy.retryAfterMs).toBe(5);
    expect(busy.limit).toBe('in_flight');
    const bad = liblibCodeError({
      code: 400,
      fromHttpStatus: true,
      httpStatus: 400,
      what: 'POST /x',
      retryAfterMs: 5,
    });
    expect(bad.message).toBe('POST /x failed with HTTP 400 (unknown error code)');
    expect(bad.retryAfterMs).toBeUndefined();
    expect(bad.toJobError()).toEqual({ code: '400', message: bad.message });
  });
});

describe('LiblibValidationError', () => {
  it('lists every issue with its path', () => {
    const result = z
      .object({ prompt: z.string().max(2), imgCount: z.number().max(4) })
      .safeParse({ prompt: 'abc', imgCount: 5 });
    const error = LiblibValidationError.fromZod('kontext.text2img', result.error!);
    expect(error.operation).toBe('kontext.text2img');
    expect(error.issues.map((i) => i.path)).toEqual(['prompt', 'imgCount']);
    expect(error.message.split('\n')).toHaveLength(3);
    expect(error.message).toContain('kontext.text2img');
  });
});
