/**
 * The simulator side of the conformance tests: a simulator per test, and adapters built on it as a
 * worker builds them, all closed after each test.
 */
import type { Provider, ProviderDescriptor } from '@genqueue/model';
import { type Simulator, type SimulatorOptions, startSimulator } from '@genqueue/simulator';
import { afterEach } from 'vitest';

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
  options: {
    credentials?: Record<string, string>;
    timeoutMs?: number;
    /** The provider's own options as the environment gives them (`{ preferWait: '5' }`). */
    settings?: Record<string, string>;
  } = {},
): Provider {
  return descriptor.createAdapter(
    {
      id: 'conformance',
      baseUrl: sim.url,
      credentials: descriptor.credentials.parse(options.credentials ?? sim.credentials),
      limits: descriptor.defaults.limits,
      timeoutMs: options.timeoutMs ?? 3_000,
      options: descriptor.options.parse(options.settings ?? {}),
    },
    {},
  );
}
