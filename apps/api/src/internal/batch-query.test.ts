import { describe, expect, it } from 'vitest';
import { parseJsonBodyQuery, parseListQuery, parseUploadQuery } from './batch-query.ts';

describe('parseUploadQuery', () => {
  it('reads every setting, joining repeated events', () => {
    expect(
      parseUploadQuery({
        operation: 'kontext.text2img',
        webhookUrl: 'https://h.test/x',
        events: ['job.failed', 'job.succeeded'],
        maxPoints: '250.5',
        skipInvalid: 'TRUE',
        defaults: '{"aspectRatio":"1:1"}',
        metadata: '{"run":7}',
        'set.model': 'pro',
      }),
    ).toEqual({
      provider: 'liblib',
      operation: 'kontext.text2img',
      webhookUrl: 'https://h.test/x',
      events: ['job.failed', 'job.succeeded'],
      maxPoints: 250.5,
      skipInvalid: true,
      defaults: { aspectRatio: '1:1' },
      metadata: { run: 7 },
      set: { model: 'pro' },
    });
  });
  it('lists every bad parameter', () => {
    try {
      parseUploadQuery({
        operation: ['a', 'b'],
        events: 'job.done',
        maxPoints: '0',
        'set.': 'x',
        extra: '1',
      });
      expect.unreachable();
    } catch (error) {
      const paths = (error as { issues: { path: string }[] }).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['operation', 'set.', 'events[0]', 'maxPoints', 'query']));
    }
  });
});

describe('parseJsonBodyQuery', () => {
  it('takes skipInvalid only', () => {
    expect(parseJsonBodyQuery({ skipInvalid: '0' })).toEqual({ skipInvalid: false });
    expect(() => parseJsonBodyQuery({ operation: 'x' })).toThrow(/settings go in the body/);
  });
});

describe('parseListQuery', () => {
  it('defaults, parses states and the cursor, and refuses out-of-range values', () => {
    expect(parseListQuery({})).toEqual({ states: undefined, limit: 100, start: 0 });
    expect(parseListQuery({ state: 'failed,canceled', limit: '1000', cursor: '250' })).toEqual({
      states: new Set(['failed', 'canceled']),
      limit: 1000,
      start: 250,
    });
    for (const query of [
      { limit: '1001' },
      { limit: '0' },
      { state: 'nope' },
      { cursor: 'x' },
      { page: '2' },
    ]) {
      expect(() => parseListQuery(query)).toThrow();
    }
  });
});
