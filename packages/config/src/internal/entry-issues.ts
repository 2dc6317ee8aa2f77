import type { z } from 'zod';

/**
 * The problems of one entry of a JSON list variable (`<PREFIX>_ACCOUNTS`, `API_KEYS`, `TENANTS`),
 * a field at a time: an unknown field is named by itself (zod reports it on the object), any other
 * by its path. `message` words an issue (default: zod's); it never sees the value, so a secret
 * in the entry cannot reach the error.
 */
export function entryIssues(
  error: z.ZodError,
  message: (issue: z.ZodIssue) => string = (issue) => issue.message,
): { field: string; message: string }[] {
  return error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? { field: issue.keys.join(', '), message: 'unknown field' }
      : { field: issue.path.map(String).join('.') || '(entry)', message: message(issue) },
  );
}
