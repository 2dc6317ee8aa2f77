/**
 * Walks an operation's image fields (see `LiblibOperation.imageFields`) and replaces each value
 * through `replace`, returning a copy; the input is never mutated. Paths are dotted; `name[]` means
 * every element of the array `name`, `*` every property of an object.
 */
export async function mapImageFields(
  params: Record<string, unknown>,
  fields: readonly string[],
  replace: (value: string, path: string) => Promise<string>,
): Promise<Record<string, unknown>> {
  let result: unknown = params;
  for (const field of fields) {
    result = await walk(result, field.split('.'), '', replace);
  }
  return result as Record<string, unknown>;
}

async function walk(
  node: unknown,
  segments: string[],
  at: string,
  replace: (value: string, path: string) => Promise<string>,
): Promise<unknown> {
  if (segments.length === 0) {
    // Empty strings stand for "no image" in the manual's examples (ControlNet `maskImage: ""`).
    return typeof node === 'string' && node !== '' ? replace(node, at) : node;
  }
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
  const [head, ...rest] = segments as [string, ...string[]];
  const record = node as Record<string, unknown>;
  const join = (key: string) => (at ? `${at}.${key}` : key);

  if (head === '*') {
    const copy: Record<string, unknown> = { ...record };
    for (const key of Object.keys(record)) copy[key] = await walk(record[key], rest, join(key), replace);
    return copy;
  }
  if (head.endsWith('[]')) {
    const key = head.slice(0, -2);
    const list = record[key];
    if (!Array.isArray(list)) return node;
    const mapped: unknown[] = [];
    for (const [i, item] of list.entries()) mapped.push(await walk(item, rest, `${join(key)}.${i}`, replace));
    return { ...record, [key]: mapped };
  }
  if (!(head in record)) return node;
  return { ...record, [head]: await walk(record[head], rest, join(head), replace) };
}
