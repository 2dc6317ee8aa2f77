/**
 * `--set key=value`: input defaults typed from the command line.
 *
 * A value becomes a number, boolean or null when it is written exactly like one (`2`, `-1.5`,
 * `1e3`, `true`, `false`, `null`), JSON when it starts like an object, array or string
 * (`{"a":1}`, `[1,2]`, `"007"` to force a string), and stays a string otherwise (`3:4`, `007`,
 * `a cat`). Values that only look like JSON but do not parse stay strings.
 */
import { CliError, EXIT_USAGE } from './errors.ts';

// Plain decimal numbers only: `007`, `0x10`, `Infinity` and `1_000` stay strings.
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Types one `--set` value (see the module note). */
export function parseSetValue(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (NUMBER.test(raw)) {
    const n = Number(raw);
    // `1e999` is Infinity, and integers beyond 2^53 lose digits: keep those as written.
    if (Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n))) return n;
    return raw;
  }
  const first = raw.trimStart()[0];
  if (first === '{' || first === '[' || first === '"') {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

/** Turns repeated `key=value` strings into one object; a later key wins. Throws a usage error on `=value` or no `=`. */
export function parseSet(pairs: readonly string[]): Record<string, unknown> {
  const entries = new Map<string, unknown>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at === -1 ? '' : pair.slice(0, at).trim();
    if (at === -1 || key === '') {
      throw new CliError(`--set expects key=value, got "${pair}"`, EXIT_USAGE);
    }
    entries.set(key, parseSetValue(pair.slice(at + 1)));
  }
  // fromEntries defines own properties, so a `__proto__` key cannot change the object's prototype.
  return Object.fromEntries(entries);
}
