/**
 * Provider faults, one kind at a time, against two worker processes: each phase injects a burst
 * through the simulator (`inject()`), posts a dozen jobs, and checks that every one still succeeds
 * with its images in S3, within the provider's limits, submitted once.
 */
import type { Fault } from '@genqueue/simulator';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type ChaosStack, startChaos } from '../support/chaos-stack.ts';
import { QUICK } from '../support/tally.ts';

interface Phase {
  name: string;
  faults: Fault[];
  jobs?: number;
  /** Duplicates the phase provokes on purpose. */
  duplicatesAllowed?: number;
}

/** Answers per storm kind and form. */
const STORM = QUICK ? 4 : 10;

const PHASES: Phase[] = [
  {
    name: '5xx bursts',
    faults: [
      { kind: '5xx', endpoint: 'submit', count: 4 },
      { kind: '5xx', endpoint: 'status', count: 6 },
      { kind: '5xx', endpoint: 'image', count: 3 },
    ],
  },
  {
    // The client gives up after LIBLIB_TIMEOUT_MS (1.5 s here); the sink after its 30 s header
    // timeout, so the image hang only runs in the full suite.
    name: 'hung connections',
    faults: [
      { kind: 'hang', endpoint: 'submit', count: 2 },
      { kind: 'hang', endpoint: 'status', count: 3 },
      ...(QUICK ? [] : [{ kind: 'hang', endpoint: 'image', count: 1 } satisfies Fault]),
    ],
  },
  {
    name: 'connection resets',
    faults: [
      { kind: 'reset', endpoint: 'submit', count: 3 },
      { kind: 'reset', endpoint: 'status', count: 3 },
      { kind: 'reset', endpoint: 'image', count: 2 },
    ],
  },
  {
    name: 'malformed JSON',
    faults: [
      { kind: 'malformed-json', endpoint: 'submit', count: 3 },
      { kind: 'malformed-json', endpoint: 'status', count: 3 },
    ],
  },
  {
    name: '429 and 100054 storms, HTTP and body forms',
    // Each answer holds the whole submit queue for the provider's wait (1 s without Retry-After).
    faults: [
      { kind: 'rate-limit', form: 'http', count: STORM },
      { kind: 'rate-limit', form: 'body', count: STORM },
      { kind: 'concurrency-limit', form: 'http', count: STORM },
      { kind: 'concurrency-limit', form: 'body', count: STORM },
    ],
  },
  {
    // The provider creates the task but answers after the client's 1.5 s timeout: the client
    // cannot tell this from a call that never arrived, so the retry submits the prompt again.
    name: 'submission answered after the client timed out',
    faults: [{ kind: 'accept-hang', delayMs: 3_000 }],
    jobs: 4,
    duplicatesAllowed: 1,
  },
  { name: 'status going backwards', faults: [{ kind: 'status-backwards', count: 15 }] },
  { name: 'image 404 then 200', faults: [{ kind: 'image-404', count: 6 }] },
  { name: 'very slow image downloads', faults: [{ kind: 'slow-image', delayMs: 4_000, count: 4 }], jobs: 8 },
];

export function providerFaultScenarios(): void {
  describe('provider faults', () => {
    let stack: ChaosStack;
    beforeAll(async () => {
      stack = await startChaos({ name: 'provider faults' });
      await Promise.all([stack.spawnWorker().ready, stack.spawnWorker().ready]);
    });
    afterAll(async () => {
      await stack?.close();
    });

    for (const phase of PHASES) {
      it(phase.name, async () => {
        stack.phase(phase.name);
        for (const fault of phase.faults) stack.sim.inject(fault);
        const ids = await stack.post(phase.jobs ?? 12, 'job');
        await stack.check(ids, { duplicatesAllowed: phase.duplicatesAllowed ?? 0 });
        // Whatever was not consumed must not leak into the next phase.
        await fetch(`${stack.sim.url}/__sim/faults`, { method: 'DELETE' });
      });
    }
  });
}
