/**
 * The provider accounts one simulator serves. Each has its own keys and its own limits, enforced
 * and counted on its own (002 §2.3 sets the QPS and in-flight limits per account), and sees only
 * the tasks it created. Without `accounts` in the options, the top-level keys and limits are one
 * account, `default`, read live so `configure()` of those fields applies at once.
 */
import { SubmissionLimits } from './limits.ts';
import type {
  ResolvedSimAccount,
  ResolvedSimulatorOptions,
  SimAccount,
  SimAccountStats,
  SimSubmission,
} from './types.ts';

/**
 * What the simulator counts per account. The outcomes (accepted, each breach, account errors) are
 * not counted apart: `statsOf` reads them from `log`. `submissions` is counted, since the log has
 * no entry for a submission refused after the limits passed it (an invalid body, too few points).
 */
export type AccountCounters = Pick<
  SimAccountStats,
  'submissions' | 'uploads' | 'maxInFlightObserved' | 'log'
>;

function zeroed(): AccountCounters {
  return { submissions: 0, uploads: 0, maxInFlightObserved: 0, log: [] };
}

function count(log: readonly SimSubmission[], outcome: SimSubmission['outcome']): number {
  return log.reduce((n, entry) => (entry.outcome === outcome ? n + 1 : n), 0);
}

export class SimAccounts {
  private readonly counters = new Map<string, AccountCounters>();
  private readonly limits = new Map<string, SubmissionLimits>();
  /** Runtime changes by `configureAccount`, applied over the options. */
  private readonly patches = new Map<string, Partial<SimAccount>>();

  constructor(private readonly options: () => ResolvedSimulatorOptions) {}

  /** Every account, with defaults and runtime changes applied. */
  list(): ResolvedSimAccount[] {
    const opts = this.options();
    const given: SimAccount[] =
      opts.accounts.length > 0
        ? opts.accounts
        : [
            {
              id: 'default',
              accessKey: opts.accessKey,
              secretKey: opts.secretKey,
              token: opts.token,
            },
          ];
    return given.map((account) => {
      const merged = { ...account, ...this.patches.get(account.id) };
      return {
        id: merged.id,
        accessKey: merged.accessKey ?? `${merged.id}-access-key`,
        secretKey: merged.secretKey ?? `${merged.id}-secret-key`,
        token: merged.token ?? `${merged.id}-token`,
        submitQps: merged.submitQps ?? opts.submitQps,
        maxInFlight: merged.maxInFlight ?? opts.maxInFlight,
        accountError: merged.accountError ?? false,
      };
    });
  }

  get(id: string): ResolvedSimAccount | undefined {
    return this.list().find((a) => a.id === id);
  }

  byAccessKey(accessKey: string): ResolvedSimAccount | undefined {
    return this.list().find((a) => a.accessKey === accessKey);
  }

  byToken(token: string): ResolvedSimAccount | undefined {
    return this.list().find((a) => a.token === token);
  }

  /** Changes one account at runtime; throws for an unknown id. */
  configure(id: string, patch: Partial<Omit<SimAccount, 'id'>>): void {
    if (!this.get(id)) throw new TypeError(`no simulator account ${id}`);
    this.patches.set(id, { ...this.patches.get(id), ...patch });
  }

  countersOf(id: string): AccountCounters {
    let counters = this.counters.get(id);
    if (!counters) {
      counters = zeroed();
      this.counters.set(id, counters);
    }
    return counters;
  }

  /** The account's own QPS window and in-flight check, reading its live limits. */
  limitsOf(id: string): SubmissionLimits {
    let limits = this.limits.get(id);
    if (!limits) {
      limits = new SubmissionLimits(
        () =>
          this.get(id) ?? { submitQps: this.options().submitQps, maxInFlight: this.options().maxInFlight },
      );
      this.limits.set(id, limits);
    }
    return limits;
  }

  /** The account's stats, with `inFlight` as the caller counts it now. */
  statsOf(id: string, inFlight: number): SimAccountStats {
    const { submissions, uploads, maxInFlightObserved, log } = this.countersOf(id);
    return {
      submissions,
      accepted: count(log, 'accepted'),
      qpsBreaches: count(log, 'qps'),
      inFlightBreaches: count(log, 'in-flight'),
      accountErrors: count(log, 'account-error'),
      uploads,
      maxInFlightObserved,
      log: [...log],
      inFlight,
    };
  }

  /** Zeroes the counters (the QPS windows stay: they are the provider's, not the test's). */
  reset(): void {
    for (const counters of this.counters.values()) Object.assign(counters, zeroed());
  }
}
