import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coerceCell, inputFieldSchemas, jsonValueOf } from './batch-coerce.ts';

const schema = z
  .object({
    prompt: z.string().min(1),
    imgCount: z.number().int().min(1).max(4).optional(),
    flag: z.boolean().optional(),
    duration: z.union([z.enum(['5', '10']), z.literal(5)]).optional(),
    image_list: z.array(z.string()).optional(),
  })
  .passthrough()
  .refine(() => true);

describe('inputFieldSchemas', () => {
  it('unwraps refinements, defaults and optionals down to the object', () => {
    expect(Object.keys(inputFieldSchemas(schema.optional().default({ prompt: 'x' }))!)).toEqual([
      'prompt',
      'imgCount',
      'flag',
      'duration',
      'image_list',
    ]);
  });
  it('answers undefined for schemas that are not objects', () => {
    expect(inputFieldSchemas(z.record(z.unknown()))).toBeUndefined();
    expect(inputFieldSchemas(z.union([z.object({}), z.object({ a: z.string() })]))).toBeUndefined();
  });
});

describe('coerceCell', () => {
  const fields = inputFieldSchemas(schema)!;
  it('types cells by what the field accepts', () => {
    expect(coerceCell('2', fields.imgCount)).toBe(2);
    expect(coerceCell('9', fields.imgCount)).toBe(9); // out of range, but a number: validation says so
    expect(coerceCell('true', fields.flag)).toBe(true);
    expect(coerceCell('42', fields.prompt)).toBe('42');
    expect(coerceCell('5', fields.duration)).toBe('5');
    expect(coerceCell('["https://a.test/x.png"]', fields.image_list)).toEqual(['https://a.test/x.png']);
    expect(coerceCell('many', fields.imgCount)).toBe('many');
  });
  it('parses JSON-looking cells of unknown fields and leaves the rest as text', () => {
    expect(coerceCell('1.5', undefined)).toBe(1.5);
    expect(coerceCell('{"a":1}', undefined)).toEqual({ a: 1 });
    expect(coerceCell('null', undefined)).toBe('null');
    expect(coerceCell('007', undefined)).toBe('007');
    expect(coerceCell('[broken', undefined)).toBe('[broken');
  });
  it('reads only JSON numbers, booleans, objects and arrays', () => {
    expect(jsonValueOf(' -3e2 ')).toBe(-300);
    expect(jsonValueOf('TRUE')).toBeUndefined();
    expect(jsonValueOf('"quoted"')).toBeUndefined();
  });
});
