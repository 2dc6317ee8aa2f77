/**
 * What every command gets from the outside world: output streams, the environment, the HTTP
 * dispatcher, a clock and a sleep. `main.ts` passes the process's; tests pass their own.
 */
import type { Dispatcher } from 'undici';
import { DEFAULT_API_URL, GenqueueClient } from './client.ts';

/** A writable stream as far as the CLI uses one. */
export interface Output {
  write(text: string): unknown;
  /** True when a terminal is attached: progress then redraws in place. */
  isTTY?: boolean;
}

/** The outside world of one CLI run. */
export interface CliContext {
  /** Results (batch ids, listings, JSON). */
  stdout: Output;
  /** Progress, notes and errors. */
  stderr: Output;
  /** Reads `GENQUEUE_URL` and `GENQUEUE_TOKEN`. */
  env: Record<string, string | undefined>;
  /** undici dispatcher for API calls and downloads. Default: undici's global one. */
  dispatcher?: Dispatcher;
  /** Epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Waits between polls. Default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
}

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  url?: string;
  token?: string;
}

/** The API client for these options: flags first, then `GENQUEUE_URL` / `GENQUEUE_TOKEN`, then defaults. */
export function clientFor(ctx: CliContext, options: GlobalOptions): GenqueueClient {
  return new GenqueueClient({
    baseUrl: options.url ?? ctx.env.GENQUEUE_URL ?? DEFAULT_API_URL,
    token: options.token ?? ctx.env.GENQUEUE_TOKEN,
    dispatcher: ctx.dispatcher,
  });
}

/** `ctx.now` or `Date.now`. */
export function nowOf(ctx: CliContext): () => number {
  return ctx.now ?? Date.now;
}

/** `ctx.sleep` or a timer. */
export function sleepOf(ctx: CliContext): (ms: number) => Promise<void> {
  return ctx.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
}
