/**
 * Finds the URL strings in a job's input, so the API can refuse ones pointing at private hosts
 * before a provider or our sink is asked to fetch them (SSRF).
 */

/** A URL string and where it sits in the request body. */
export interface FoundUrl {
  path: (string | number)[];
  url: string;
}

const HTTP_URL = /^https?:\/\//i;

/**
 * Every string in `value` that is an http(s) URL (after trimming), depth first. Strings that merely
 * contain a URL (a prompt mentioning one) are not fetched by anyone and are left alone.
 * Stops after `limit + 1` finds so a hostile body can't make the caller resolve thousands of hosts.
 */
export function findUrls(value: unknown, basePath: (string | number)[], limit: number): FoundUrl[] {
  const found: FoundUrl[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (found.length > limit) return;
    if (typeof node === 'string') {
      const trimmed = node.trim();
      if (HTTP_URL.test(trimmed)) found.push({ path, url: trimmed });
    } else if (Array.isArray(node)) {
      for (const [index, item] of node.entries()) walk(item, [...path, index]);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, item] of Object.entries(node)) walk(item, [...path, key]);
    }
  };
  walk(value, basePath);
  return found;
}

/**
 * Whether a parsed JSON value nests deeper than `max` levels. Iterative, so a hostile body of a
 * million nested arrays can't overflow the stack here (it would in `JSON.stringify` later).
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}
