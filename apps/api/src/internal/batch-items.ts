/**
 * One batch item from a parsed JSON value: an element of `items` or `prompts` in a JSON body, or
 * one NDJSON line. A malformed element does not fail the request: it becomes an item carrying its
 * issues, rejected like an item that fails validation (so `skipInvalid` can skip it), with the
 * same row numbering as the rest.
 */
import type { BatchItem, ItemIssue } from '@genqueue/core';
import { nestsDeeperThan } from '@genqueue/core';
import { z } from 'zod';
import { formatPath } from '../http-error.ts';
import { metadataSchema } from './request-checks.ts';

/** Deepest nesting accepted inside one item's input. */
export const MAX_ITEM_DEPTH = 32;

const envelopeSchema = z
  .object({ input: z.record(z.unknown()), metadata: metadataSchema.optional() })
  .strict();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectedItem(issues: ItemIssue[]): BatchItem {
  return { input: {}, issues };
}

/** An `items[i]` element: `{ input, metadata? }`, nothing else. */
export function itemFromEnvelope(value: unknown): BatchItem {
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) {
    return rejectedItem(
      parsed.error.issues.map((issue) => ({
        path: issue.path.length ? formatPath(issue.path) : 'item',
        message: issue.message,
      })),
    );
  }
  if (nestsDeeperThan(parsed.data.input, MAX_ITEM_DEPTH)) {
    return rejectedItem([{ path: 'input', message: `nests deeper than ${MAX_ITEM_DEPTH} levels` }]);
  }
  return parsed.data.metadata === undefined
    ? { input: parsed.data.input }
    : { input: parsed.data.input, metadata: parsed.data.metadata };
}

/** A `prompts[i]` element: a string, standing for `{ input: { prompt } }`. */
export function itemFromPrompt(value: unknown): BatchItem {
  if (typeof value !== 'string') {
    return rejectedItem([{ path: 'input.prompt', message: 'must be a string' }]);
  }
  return { input: { prompt: value } };
}

/**
 * An NDJSON value: `{ input, metadata? }` when the object has an object `input` and no keys besides
 * `input` and `metadata`; any other object is the input itself.
 */
export function itemFromNdjson(value: unknown): BatchItem {
  if (!isPlainObject(value)) {
    return rejectedItem([{ path: 'item', message: 'must be a JSON object' }]);
  }
  const keys = Object.keys(value);
  const isEnvelope = isPlainObject(value.input) && keys.every((key) => key === 'input' || key === 'metadata');
  return itemFromEnvelope(isEnvelope ? value : { input: value });
}
