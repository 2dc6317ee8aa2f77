/**
 * Commander argument parsers: they throw `InvalidArgumentError`, which commander prints as
 * `error: option '--x <n>' argument 'y' is invalid. …` and exits with the usage code.
 */
// The pure model, not @genqueue/core: the CLI must not load BullMQ or ioredis.
import { JOB_STATES, type JobState } from '@genqueue/model';
import { InvalidArgumentError } from 'commander';

/** A parser of integers in `[min, max]`. */
export function integerIn(min: number, max = Number.MAX_SAFE_INTEGER): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer ≥ ${min}`
          : `expected an integer from ${min} to ${max}`,
      );
    }
    return n;
  };
}

/** A job state name. */
export function jobState(raw: string): JobState {
  const state = JOB_STATES.find((s) => s === raw);
  if (!state) throw new InvalidArgumentError(`expected one of ${JOB_STATES.join(', ')}`);
  return state;
}

/** A comma-separated list, repeatable: `--events job.failed,job.succeeded --events batch.completed`. */
export function commaList(raw: string, previous: string[] = []): string[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return [...previous, ...items];
}

/** Collects a repeatable option's values. */
export function collect(raw: string, previous: string[] = []): string[] {
  return [...previous, raw];
}

/** An absolute http(s) URL. */
export function httpUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidArgumentError('expected an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('expected an absolute http(s) URL');
  }
  return raw;
}

/** A positive, finite decimal number (`500`, `12.5`). */
export function positiveNumber(raw: string): number {
  const n = Number(raw);
  if (!/^\d+(?:\.\d+)?$/.test(raw.trim()) || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError('expected a positive number');
  }
  return n;
}
