/**
 * `@genqueue/providers/testing`: helpers for tests of adapters, whatever serves them (a scripted
 * server or the simulator): drive a task to its end through the `Provider` port only, fetch an
 * output's bytes (http(s) or `data:` URL), and catch the `ProviderError` a call must throw.
 */

import {
  type CallContext,
  isTaskEnded,
  type Provider,
  ProviderError,
  type TaskStatus,
} from '@genqueue/model';
import { descriptorOf } from './catalog.ts';

/** Submits and, for polled providers, polls until the task ends. Answers the task id and end status. */
export async function runToEnd(
  provider: Provider,
  operation: string,
  input: Record<string, unknown>,
  options: { ctx?: CallContext; timeoutMs?: number; pollMs?: number } = {},
): Promise<{ taskId: string; status: TaskStatus; polls: number }> {
  const ctx = options.ctx ?? { jobId: 'conformance' };
  const submitted = await provider.submit(operation, input, ctx);
  if (submitted.status && isTaskEnded(submitted.status)) {
    return { taskId: submitted.taskId, status: submitted.status, polls: 0 };
  }
  if (descriptorOf(provider.name)?.capabilities.synchronous)
    throw new Error('a synchronous provider answered no ended status');
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let polls = 0;
  for (;;) {
    const status = await provider.status(operation, submitted.taskId, ctx);
    polls++;
    if (isTaskEnded(status)) return { taskId: submitted.taskId, status, polls };
    if (Date.now() > deadline)
      throw new Error(`task ${submitted.taskId} did not end in time (${status.providerStatus})`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 20));
  }
}

/** The bytes behind an output URL: decoded for `data:` URLs, downloaded otherwise. */
export async function outputBytes(url: string): Promise<Buffer> {
  if (url.startsWith('data:')) return Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Awaits a call expected to fail, answering its `ProviderError` (anything else fails the test). */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw new Error(`expected a ProviderError, got ${String(error)}`);
  }
  throw new Error('expected a ProviderError, but the call succeeded');
}

/** Waits until `condition` holds, checking every 10 ms; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
