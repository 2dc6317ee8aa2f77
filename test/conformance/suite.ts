/**
 * The one conformance suite every provider runs against its simulator mode over real HTTP
 * (conventions §4): the same cases for every adapter, so no fake can drift from its client.
 *
 * `describeProviderConformance(descriptor, mode, cases)` checks: authentication refused and accepted; every
 * operation's schema against a valid and an invalid example; every operation submitted and
 * followed to its end (or answered at once, for a synchronous provider) with outputs byte-equal
 * to what the simulator serves; the error class of each injected transport fault, on submit and
 * on status; cancel where the provider can; and retry-later in every form the provider uses,
 * injected and by really outrunning the account's limits, each saying which limit it hit.
 * What only one provider does stays in its own `test/conformance/<name>.test.ts`.
 */
import { type ErrorClass, isTaskEnded, type ProviderDescriptor, type RetryLimit } from '@genqueue/model';
import { outputBytes, providerError, runToEnd, until } from '@genqueue/providers/testing';
import type { Fault, SimulatorMode, SimulatorOptions } from '@genqueue/simulator';
import { describe, expect, it } from 'vitest';
import { adapterOn, simulatorFixture } from './fixture.ts';

/** One operation's examples. */
export interface OperationExamples {
  /** An input the schema accepts and the simulator runs to success. */
  valid: Record<string, unknown>;
  /** An input the schema refuses. Default `{}`. */
  invalid?: Record<string, unknown>;
  /** How many outputs `valid` produces. Default 1. */
  outputs?: number;
}

/** A retry-later answer the provider gives, and what the adapter must make of it. */
export interface RetryLaterForm {
  /** The injected fault, or a real breach of the account's limit. */
  cause: Pick<Fault, 'kind' | 'form'> | 'outrun-qps' | 'outrun-in-flight';
  /** What the error must carry (`errorClass: 'retry_later'` and `ambiguous: false` always). */
  expect: { status: number; code?: string; limit: RetryLimit; retryAfterMs?: number };
}

/**
 * The retry-later forms of a provider that answers both limits with one 429 and `Retry-After: 1`
 * (Replicate's throttle, OpenAI-style APIs): the answer cannot say which limit was hit, so the
 * adapter reports `qps`.
 */
export const ONE_429_FOR_BOTH_LIMITS: readonly RetryLaterForm[] = (
  [{ kind: 'rate-limit' }, { kind: 'concurrency-limit' }, 'outrun-qps', 'outrun-in-flight'] as const
).map((cause) => ({ cause, expect: { status: 429, limit: 'qps', retryAfterMs: 1_000 } }));

/** What the descriptor does not say: examples and the provider's answers to faults and limits. */
export interface ConformanceCases {
  /** Examples for every operation the descriptor declares. */
  examples: Readonly<Record<string, OperationExamples>>;
  /** The provider's own status of a canceled task, where it can cancel. */
  canceledProviderStatus?: string;
  /** The class of an injected transport fault on submit, when not `transient`. */
  submitFaultClass?: Partial<Record<'5xx' | 'malformed-json' | 'reset', ErrorClass>>;
  /** Every form of retry-later answer the provider uses. */
  retryLater: readonly RetryLaterForm[];
  /** Extra simulator options for every case (e.g. a seed). */
  simulator?: SimulatorOptions;
}

const ctx = { jobId: 'conformance' };
const SUBMIT_FAULTS = ['5xx', 'malformed-json', 'reset'] as const;
const STATUS_FAULTS = ['5xx', 'malformed-json', 'reset'] as const;

/**
 * Registers the shared conformance cases of `descriptor`'s adapter (built by its own
 * `createAdapter`, like the worker builds it) against the simulator's `mode`.
 */
export function describeProviderConformance(
  descriptor: ProviderDescriptor,
  mode: SimulatorMode,
  cases: ConformanceCases,
): void {
  const subject = { name: descriptor.name, ...cases };
  const fixture = simulatorFixture({ ...cases.simulator, mode });

  async function setup(options: SimulatorOptions = {}, credentials: 'valid' | 'wrong' = 'valid') {
    const sim = await fixture.start({ ...options, mode });
    // Wrong credentials: every field replaced, so whichever the provider checks is refused.
    const given: Record<string, string> =
      credentials === 'valid'
        ? { ...sim.credentials }
        : Object.fromEntries(Object.keys(sim.credentials).map((field) => [field, `wrong-${field}-value`]));
    const provider = fixture.own(adapterOn(descriptor, sim, { credentials: given }));
    return { sim, provider, secrets: Object.values({ ...sim.credentials, ...given }) };
  }

  const operations = Object.keys(subject.examples);
  // The fault, cancel and limit cases use the descriptor's own example job.
  const first = descriptor.example.operation;
  const firstInput = { ...descriptor.example.input };

  describe(`${subject.name} adapter ↔ simulator (${mode} mode): shared conformance`, () => {
    it('has examples for exactly the operations the descriptor and its adapter declare', async () => {
      const { provider } = await setup();
      expect(provider.name).toBe(subject.name);
      expect(Object.keys(descriptor.operations).sort()).toEqual([...operations].sort());
      expect(Object.keys(provider.operations).sort()).toEqual([...operations].sort());
    });

    it('is refused with wrong credentials: account, nothing secret in the message, no task', async () => {
      const { sim, provider, secrets } = await setup({}, 'wrong');
      const error = await providerError(provider.submit(first, firstInput, ctx));
      expect(error).toMatchObject({ errorClass: 'account', ambiguous: false });
      for (const secret of secrets) expect(error.message).not.toContain(secret);
      expect(sim.stats()).toMatchObject({ accepted: 0 });
      expect(sim.stats().authFailures).toBeGreaterThan(0);
    });

    it.each(operations)('%s: the schema takes the valid example and refuses the invalid one', async (op) => {
      const { provider } = await setup();
      const { valid, invalid = {} } = subject.examples[op]!;
      const spec = provider.operations[op]!;
      expect(spec.schema.safeParse(valid).success).toBe(true);
      expect(spec.schema.safeParse(invalid).success).toBe(false);
    });

    it.each(operations)(
      '%s: runs to success with the right credentials, outputs byte-equal to the served files',
      async (op) => {
        const { sim, provider } = await setup();
        const { valid, outputs = 1 } = subject.examples[op]!;
        const input = provider.operations[op]!.schema.parse(valid);
        const { status, polls } = await runToEnd(provider, op, input);
        expect(status, JSON.stringify(status)).toMatchObject({ state: 'succeeded' });
        if (status.state !== 'succeeded') return;
        if (descriptor.capabilities.synchronous) expect(polls).toBe(0);
        else expect(polls).toBeGreaterThan(0);
        expect(status.outputs).toHaveLength(outputs);
        for (const output of status.outputs) {
          expect(output.kind).toBe(provider.operations[op]!.output);
          expect((await outputBytes(output.url)).equals(sim.imageBytes(output.url)!)).toBe(true);
        }
        expect(sim.stats()).toMatchObject({
          accepted: 1,
          qpsBreaches: 0,
          inFlightBreaches: 0,
          authFailures: 0,
        });
      },
    );

    it.each(SUBMIT_FAULTS)(
      'classifies an injected %s on submit, and the next submission works',
      async (kind) => {
        const { sim, provider, secrets } = await setup();
        sim.inject({ kind, endpoint: 'submit' });
        const error = await providerError(provider.submit(first, firstInput, ctx));
        expect(error.errorClass).toBe(subject.submitFaultClass?.[kind] ?? 'transient');
        for (const secret of secrets) expect(error.message).not.toContain(secret);
        expect(sim.stats().accepted).toBe(0);
        await expect(provider.submit(first, firstInput, ctx)).resolves.toMatchObject({
          taskId: expect.any(String),
        });
      },
    );

    it.each(STATUS_FAULTS)(
      'classifies an injected %s on status as transient, not ambiguous, and reads the task to its end',
      async (kind) => {
        const { sim, provider } = await setup();
        if (descriptor.capabilities.synchronous) {
          // Nothing to poll: a synchronous task ended when it was submitted.
          const { taskId } = await provider.submit(first, firstInput, ctx);
          expect((await providerError(provider.status(first, taskId, ctx))).errorClass).toBe('invalid_job');
          return;
        }
        const { taskId } = await provider.submit(first, firstInput, ctx);
        sim.inject({ kind, endpoint: 'status' });
        const error = await providerError(provider.status(first, taskId, ctx));
        expect(error).toMatchObject({ errorClass: 'transient', ambiguous: false });
        // The same task, read again once the fault has passed, ends as it would have.
        let status = await provider.status(first, taskId, ctx);
        while (!isTaskEnded(status)) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          status = await provider.status(first, taskId, ctx);
        }
        expect(status.state).toBe('succeeded');
      },
    );

    it('cancels a running task where the provider can, which frees its in-flight slot', async () => {
      const { sim, provider } = await setup({ maxInFlight: 1, latencyMs: { min: 60_000, max: 60_000 } });
      if (!descriptor.capabilities.cancelable) {
        expect(provider.cancel).toBeUndefined();
        return;
      }
      const { taskId } = await provider.submit(first, firstInput, ctx);
      expect(sim.stats().inFlight).toBe(1);
      await provider.cancel!(first, taskId, ctx);
      await expect(provider.status(first, taskId, ctx)).resolves.toEqual({
        state: 'canceled',
        providerStatus: subject.canceledProviderStatus ?? expect.any(String),
      });
      expect(sim.stats().inFlight).toBe(0);
      await expect(provider.submit(first, firstInput, ctx)).resolves.toMatchObject({
        taskId: expect.any(String),
      });
    });

    it.each(subject.retryLater.map((form) => [describeCause(form.cause), form] as const))(
      'answers %s as retry_later, saying which limit, and creates nothing',
      async (_name, { cause, expect: expected }) => {
        const outrun = typeof cause === 'string';
        const { sim, provider } = await setup(
          cause === 'outrun-qps'
            ? { submitQps: 1 }
            : cause === 'outrun-in-flight'
              ? { maxInFlight: 1, latencyMs: { min: 60_000, max: 60_000 } }
              : {},
        );
        const sync = descriptor.capabilities.synchronous;
        let held: Promise<unknown> | undefined;
        if (outrun) {
          // A synchronous provider holds the first request until its task ends: leave it open.
          held = provider.submit(first, firstInput, ctx).catch(() => undefined);
          await until(() => sim.stats().accepted === 1);
        } else {
          sim.inject({ kind: cause.kind, form: cause.form, endpoint: 'submit' });
        }
        const accepted = sim.stats().accepted;
        const error = await providerError(provider.submit(first, firstInput, ctx));
        expect(error).toMatchObject({ errorClass: 'retry_later', ambiguous: false, ...expected });
        expect(sim.stats().accepted).toBe(accepted);
        if (cause === 'outrun-qps') expect(sim.stats().qpsBreaches).toBe(1);
        if (cause === 'outrun-in-flight') expect(sim.stats().inFlightBreaches).toBe(1);
        if (sync && held) {
          // Closing the simulator ends the held request.
          await fixture.closeSimulator();
          await held;
        }
      },
    );
  });
}

function describeCause(cause: RetryLaterForm['cause']): string {
  if (cause === 'outrun-qps') return 'really outrunning the QPS limit';
  if (cause === 'outrun-in-flight') return 'really outrunning the in-flight limit';
  return `an injected ${cause.kind}${cause.form ? ` (${cause.form} form)` : ''}`;
}
