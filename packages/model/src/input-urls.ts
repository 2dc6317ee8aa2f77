/**
 * Finds the URL strings in a request (a job's input, a batch's items and defaults), so the API can
 * refuse ones pointing at private hosts before a provider or our sink is asked to fetch them
 * (SSRF). The one finder for every path: a URL is what a provider would fetch, so leading and
 * trailing whitespace (which providers and URL parsers strip) does not hide one.
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

/** Bounds of {@link checkUrlsBounded}. */
export interface UrlCheckBounds {
  /** Most distinct hosts one request may name; past it the request is refused whole. */
  maxHosts: number;
  /** Checks (host resolutions) run at once. */
  concurrency: number;
  /** How long one check may take, in milliseconds; a check that takes longer refuses its URL. */
  timeoutMs: number;
}

/** Default bounds: a request names at most 64 hosts, resolved 8 at a time, 2 s each. */
export const URL_CHECK_BOUNDS: UrlCheckBounds = { maxHosts: 64, concurrency: 8, timeoutMs: 2_000 };

/**
 * Runs the SSRF check once per distinct URL, with bounded parallelism and a timeout per check, so
 * a hostile body of many hostnames cannot stall the API. Returns the refusal message of each
 * refused URL, or `too_many_hosts` when the URLs name more than `maxHosts` distinct hosts.
 */
export async function checkUrlsBounded(
  urls: Iterable<string>,
  check: (url: string) => Promise<void>,
  bounds: UrlCheckBounds = URL_CHECK_BOUNDS,
): Promise<
  { ok: true; refusals: Map<string, string> } | { ok: false; reason: 'too_many_hosts'; hosts: number }
> {
  const distinct = [...new Set(urls)];
  const hosts = new Set<string>();
  for (const url of distinct) {
    try {
      hosts.add(new URL(url).hostname.toLowerCase());
    } catch {
      hosts.add(url); // not a URL: the check refuses it, and it counts as a host of its own
    }
    if (hosts.size > bounds.maxHosts) return { ok: false, reason: 'too_many_hosts', hosts: hosts.size };
  }
  const refusals = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    while (next < distinct.length) {
      const url = distinct[next++]!;
      const refusal = await withTimeout(check(url), bounds.timeoutMs).then(
        () => undefined,
        (error: Error) => error.message,
      );
      if (refusal !== undefined) refusals.set(url, refusal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(bounds.concurrency, distinct.length) }, worker));
  return { ok: true, refusals };
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the host could not be checked within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
