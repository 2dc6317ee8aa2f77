/**
 * Text cells (CSV cells, `set.<field>=<value>` query parameters) to typed input values, guided by
 * the operation's schema: `imgCount` = `2` becomes the number 2 because the schema wants a number,
 * while a prompt that reads `42` stays the string "42" because the schema wants a string.
 */
import type { ZodTypeAny } from 'zod';

/** A zod schema's field schemas, for an object schema (possibly wrapped), else undefined. */
export type FieldSchemas = Readonly<Record<string, ZodTypeAny>>;

// The zod v3 internals we unwrap: refinements/transforms, optional/default wrappers, pipelines.
interface ZodDefLike {
  typeName?: string;
  schema?: ZodTypeAny;
  innerType?: ZodTypeAny;
  type?: ZodTypeAny;
  in?: ZodTypeAny;
  getter?: () => ZodTypeAny;
  shape?: () => Record<string, ZodTypeAny>;
}

/**
 * The field schemas of an operation's input schema. Unwraps refinements (`.refine`,
 * `.superRefine`, `.transform`), `.optional()`, `.default()`, `.nullable()`, `.readonly()`,
 * `.catch()`, `.brand()`, `.pipe()` and `z.lazy`; answers undefined for anything that is not an
 * object in the end (a union, a record), where cells are then typed by their look alone.
 */
export function inputFieldSchemas(schema: ZodTypeAny): FieldSchemas | undefined {
  let current: ZodTypeAny | undefined = schema;
  // Bounded: a lazy schema could refer to itself.
  for (let depth = 0; current && depth < 32; depth++) {
    const def = current._def as ZodDefLike;
    switch (def.typeName) {
      case 'ZodObject': {
        // Looked up by column and `set.<field>` names the client chooses: without a null prototype,
        // `constructor`, `toString` or `__proto__` found Object.prototype's members, not a schema
        // (a 500 on a CSV header naming them).
        const shape = def.shape?.();
        return shape ? Object.assign(Object.create(null) as Record<string, ZodTypeAny>, shape) : undefined;
      }
      case 'ZodEffects':
        current = def.schema;
        break;
      case 'ZodOptional':
      case 'ZodNullable':
      case 'ZodDefault':
      case 'ZodReadonly':
      case 'ZodCatch':
        current = def.innerType;
        break;
      case 'ZodBranded':
        current = def.type;
        break;
      case 'ZodPipeline':
        current = def.in;
        break;
      case 'ZodLazy':
        current = def.getter?.();
        break;
      default:
        return undefined;
    }
  }
  return undefined;
}

// Cells that read as a JSON number, boolean, object or array. `null` is left a string: an empty
// cell already means "not given".
const JSON_LOOKING = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|\{[\s\S]*\}|\[[\s\S]*\])$/;

/** The JSON value a cell spells (number, boolean, object, array), or undefined. */
export function jsonValueOf(cell: string): unknown {
  const trimmed = cell.trim();
  if (!JSON_LOOKING.test(trimmed)) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Types one cell for the field `field` describes:
 * - the cell as text, when the field accepts text (a prompt of `42` stays `"42"`);
 * - otherwise the JSON value the cell spells (`2`, `true`, `["https://…"]`), even when that value is
 *   out of range, so the validation error speaks of the number and not of a string;
 * - otherwise the text, and validation says what was expected.
 * Without a field schema (an unknown field of a passthrough schema), JSON-looking cells are parsed.
 */
export function coerceCell(cell: string, field: ZodTypeAny | undefined): unknown {
  if (field?.safeParse(cell).success) return cell;
  const value = jsonValueOf(cell);
  return value === undefined ? cell : value;
}
