/**
 * Test helpers for the adapter ↔ simulator conformance tests: a simulator per test, drive a task to
 * its end through the `Provider` port only, and fetch an output's bytes (http(s) or `data:` URL).
 */

import {
  type CallContext,
  isTaskEnded,
  type Provider,
  type ProviderDescriptor,
  ProviderError,
  type TaskStatus,
} from '@genqueue/core';
import { type Simulator, type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { afterEach } from 'vitest';
import { descriptorOf } from '../catalog.ts';

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

/** Something a test opened and `afterEach` must close (an adapter, a client). */
interface Closable {
  close?(): Promise<void>;
}

/**
 * A simulator per test, and the adapters built on it, all closed after each test. `start` merges
 * `defaults` (fast tasks, loose limits) with the test's own options; `own` registers what to close.
 */
export function simulatorFixture(defaults: SimulatorOptions) {
  let sim: Simulator | undefined;
  const owned: Closable[] = [];
  const closeSimulator = async () => {
    await sim?.close();
    sim = undefined;
  };
  afterEach(async () => {
    for (const item of owned.splice(0)) await item.close?.();
    await closeSimulator();
  });
  return {
    async start(options: SimulatorOptions = {}): Promise<Simulator> {
      sim = await startSimulator({
        latencyMs: { min: 20, max: 60 },
        submitQps: 100,
        maxInFlight: 20,
        ...defaults,
        ...options,
      });
      return sim;
    },
    own<T extends Closable>(item: T): T {
      owned.push(item);
      return item;
    },
    /** Closes the simulator now (its sockets too), e.g. to end a request it holds. */
    closeSimulator,
  };
}

/**
 * An adapter of `descriptor` on `sim`, built by its own `createAdapter` as the worker builds it,
 * with the simulator's credentials unless others are given. Calls time out after `timeoutMs`.
 */
export function adapterOn(
  descriptor: ProviderDescriptor,
  sim: Simulator,
  options: { credentials?: Record<string, string>; timeoutMs?: number } = {},
): Provider {
  return descriptor.createAdapter(
    {
      id: 'conformance',
      baseUrl: sim.url,
      credentials: descriptor.credentials.parse(options.credentials ?? sim.credentials),
      limits: descriptor.defaults.limits,
      timeoutMs: options.timeoutMs ?? 3_000,
      options: descriptor.options.parse({}),
    },
    {},
  );
}
