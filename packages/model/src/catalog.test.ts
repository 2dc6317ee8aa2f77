import { describe, expect, it } from 'vitest';
import { jobTag, PROMPT_EXCERPT_CHARS, promptExcerpt } from './catalog.ts';

describe('promptExcerpt', () => {
  it('keeps a short prompt, flattens whitespace and cuts a long one with an ellipsis', () => {
    expect(promptExcerpt({ prompt: 'a cat' })).toBe('a cat');
    expect(promptExcerpt({ prompt: ' a\n cat\t on a  mat ' })).toBe('a cat on a mat');
    const cut = promptExcerpt({ prompt: 'a cat on a windowsill at dusk, oil painting' });
    expect(cut).toBe('a cat on a windowsill a…');
    expect([...cut]).toHaveLength(PROMPT_EXCERPT_CHARS);
    // Characters, not UTF-16 units: an emoji is never split in half.
    expect([...promptExcerpt({ prompt: '😺'.repeat(40) })]).toHaveLength(PROMPT_EXCERPT_CHARS);
    expect(promptExcerpt({ image_list: ['x'] })).toBe('');
  });
});

describe('jobTag', () => {
  it('names the job after its operation and prompt, and carries the ids Bull Board readers need', () => {
    expect(
      jobTag({
        id: 'b_abc-3',
        provider: 'liblib',
        operation: 'kontext.text2img',
        input: { prompt: 'a cat on a windowsill at dusk' },
        batchId: 'b_abc',
      }),
    ).toEqual({
      name: 'kontext.text2img · a cat on a windowsill a…',
      data: { jobId: 'b_abc-3', provider: 'liblib', batchId: 'b_abc', prompt: 'a cat on a windowsill a…' },
    });
    expect(jobTag({ id: 'j_1', provider: 'replicate', operation: 'flux', input: {} })).toEqual({
      name: 'flux',
      data: { jobId: 'j_1', provider: 'replicate' },
    });
  });
});
