import { describe, expect, it } from 'vitest';
import { itemFromEnvelope, itemFromNdjson, itemFromPrompt } from './batch-items.ts';
import { ndjsonItems } from './batch-ndjson.ts';

describe('ndjsonItems', () => {
  it('reads envelopes and bare inputs, skips blank lines, and keeps bad lines as bad rows', async () => {
    async function* source() {
      yield Buffer.from('{"input":{"prompt":"a"},"metadata":{"k":1}}\n\n{"prompt":"b"}\r\nnope\n');
    }
    const out = [];
    for await (const row of ndjsonItems(source())) out.push(row);
    expect(out).toEqual([
      { input: { prompt: 'a' }, metadata: { k: 1 }, line: 1 },
      { input: { prompt: 'b' }, line: 3 },
      {
        input: {},
        issues: [{ path: 'item', message: expect.stringMatching(/^is not valid JSON/) }],
        line: 4,
      },
    ]);
  });
});

describe('batch items', () => {
  it('tells an envelope from a bare input that has an input field', () => {
    expect(itemFromNdjson({ input: { prompt: 'x' }, prompt: 'y' })).toEqual({
      input: { input: { prompt: 'x' }, prompt: 'y' },
    });
    expect(itemFromNdjson([1])).toEqual({
      input: {},
      issues: [{ path: 'item', message: 'must be a JSON object' }],
    });
  });
  it('reports envelope problems relative to the item', () => {
    expect(itemFromEnvelope({ input: 'x' }).issues?.[0]?.path).toBe('input');
    expect(itemFromEnvelope({ input: {}, extra: 1 }).issues?.[0]?.path).toBe('item');
    expect(itemFromEnvelope({ input: {}, metadata: { big: 'x'.repeat(20_000) } }).issues?.[0]?.path).toBe(
      'metadata',
    );
    expect(itemFromPrompt(3)).toEqual({
      input: {},
      issues: [{ path: 'input.prompt', message: 'must be a string' }],
    });
    expect(itemFromPrompt('p')).toEqual({ input: { prompt: 'p' } });
  });
});
