/**
 * Checks shared by the routes that create work (`/v1/jobs`, `/v1/batches`): finding the provider
 * and operation a request names, turning zod errors into API issues, the SSRF check of the URLs a
 * request carries, and the envelope fields both routes accept (`webhookUrl`, `metadata`).
 */
import {
  checkUrlsBounded,
  type OperationSpec,
  type ProviderOperations,
  URL_CHECK_BOUNDS,
} from '@genqueue/core';
import { z } from 'zod';
import { formatPath, type Issue, invalidRequest } from '../http-error.ts';

/** How long an `Idempotency-Key` is remembered, in seconds. */
export const IDEMPOTENCY_TTL_SECONDS = 86_400;

// Visible ASCII and spaces: the key ends up in a Redis key and in logs.
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/** The request's `Idempotency-Key`, if it sent one. Throws `400` for a malformed key. */
export function idempotencyKeyOf(req: { get(name: string): string | undefined }): string | undefined {
  const key = req.get('idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw invalidRequest([
      { path: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' },
    ]);
  }
  return key;
}

/** The provider used when a request names none. */
export const DEFAULT_PROVIDER = 'liblib';

/** Largest `metadata`, as JSON bytes. */
export const MAX_METADATA_BYTES = 16 * 1024;

const jsonObject = z.record(z.unknown());

/** A webhook URL: absolute http(s), at most 2048 characters. The SSRF check is separate (`checkUrls`). */
export const webhookUrlSchema = z
  .string()
  .max(2048)
  .url()
  .refine((url) => /^https?:\/\//i.test(url), 'must be an http(s) URL');

/** A JSON object of at most `MAX_METADATA_BYTES` bytes, stored and shown back as is. */
export const metadataSchema = jsonObject.refine(
  (value) => Buffer.byteLength(JSON.stringify(value), 'utf8') <= MAX_METADATA_BYTES,
  `must be at most ${MAX_METADATA_BYTES} bytes as JSON`,
);

/** A zod error as API issues, each path prefixed with `prefix` (e.g. `['input']`). */
export function zodIssues(error: z.ZodError, prefix: (string | number)[] = []): Issue[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}

/**
 * The provider and operation a request names. Throws `400 invalid_request` listing the valid
 * names, so a typo is answered with what would have worked.
 */
export function resolveOperation(
  providers: ReadonlyMap<string, ProviderOperations>,
  providerName: string,
  operation: string,
): { provider: ProviderOperations; spec: OperationSpec } {
  const provider = providers.get(providerName);
  if (!provider) {
    const valid = [...providers.keys()].join(', ');
    const message =
      valid === ''
        ? `unknown provider "${providerName}"; no provider is configured on this server`
        : `unknown provider "${providerName}"; valid providers: ${valid}`;
    throw invalidRequest([{ path: 'provider', message }]);
  }
  const spec = Object.hasOwn(provider.operations, operation) ? provider.operations[operation] : undefined;
  if (!spec) {
    const valid = Object.keys(provider.operations).join(', ');
    throw invalidRequest([
      {
        path: 'operation',
        message: `unknown operation "${operation}" for provider ${providerName}; valid operations: ${valid}`,
      },
    ]);
  }
  return { provider, spec };
}

/**
 * Runs the SSRF guard on every URL (concurrently) and throws `400 invalid_request` listing each
 * refused one. More than `maxUrls` URLs is refused outright: each may cost a DNS lookup.
 */
export async function checkUrls(
  checkUrl: (url: string) => Promise<void>,
  urls: { path: (string | number)[]; url: string }[],
  maxUrls: number,
): Promise<void> {
  if (urls.length > maxUrls) {
    throw invalidRequest([{ path: 'input', message: `holds more than ${maxUrls} URLs` }]);
  }
  const verdicts = await checkUrlsBounded(
    urls.map(({ url }) => url),
    checkUrl,
  );
  if (!verdicts.ok) {
    throw invalidRequest([
      { path: 'input', message: `names more than ${URL_CHECK_BOUNDS.maxHosts} distinct hosts` },
    ]);
  }
  const issues: Issue[] = [];
  for (const { path, url } of urls) {
    const refusal = verdicts.refusals.get(url);
    if (refusal !== undefined) issues.push({ path: formatPath(path), message: `URL refused: ${refusal}` });
  }
  if (issues.length > 0) throw invalidRequest(issues);
}
