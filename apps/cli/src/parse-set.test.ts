import { describe, expect, it } from 'vitest';
import { CliError } from './errors.ts';
import { parseSet, parseSetValue } from './parse-set.ts';

describe('parseSetValue', () => {
  it.each([
    ['2', 2],
    ['-1', -1],
    ['0.75', 0.75],
    ['1e3', 1000],
    ['0', 0],
    ['true', true],
    ['false', false],
    ['null', null],
    ['{"strength":0.5}', { strength: 0.5 }],
    ['[1,"a"]', [1, 'a']],
    ['"007"', '007'],
    ['"true"', 'true'],
  ])('types %s', (raw, expected) => {
    expect(parseSetValue(raw)).toEqual(expected);
  });

  it.each([
    '3:4',
    '007',
    '0x10',
    'Infinity',
    'NaN',
    '1_000',
    '1.',
    '',
    'a cat, at dusk',
    'True',
    '{not json',
    '[1,',
    '1e999',
    '12345678901234567890',
  ])('keeps %j a string', (raw) => {
    expect(parseSetValue(raw)).toBe(raw);
  });
});

describe('parseSet', () => {
  it('builds one object from repeated pairs, splitting at the first =', () => {
    expect(parseSet(['aspectRatio=3:4', 'imgCount=2', 'prompt=a=b', 'aspectRatio=1:1'])).toEqual({
      aspectRatio: '1:1',
      imgCount: 2,
      prompt: 'a=b',
    });
  });

  it('accepts an empty value as an empty string', () => {
    expect(parseSet(['negative='])).toEqual({ negative: '' });
  });

  it.each(['noequals', '=3', ' =3'])('refuses %j with a usage error', (pair) => {
    expect(() => parseSet([pair])).toThrow(CliError);
    try {
      parseSet([pair]);
    } catch (error) {
      expect((error as CliError).exitCode).toBe(2);
      expect((error as CliError).message).toContain('key=value');
    }
  });

  it('cannot change the prototype of the result', () => {
    const result = parseSet(['__proto__={"polluted":true}']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(result))).toEqual(JSON.parse('{"__proto__":{"polluted":true}}'));
  });
});
