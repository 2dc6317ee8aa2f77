/**
 * The account's limits, enforced like the provider does (002 §2.3): submissions per second and
 * tasks in progress. Shared by every mode; the simulator logs each refusal so tests and benchmarks
 * can prove a client never exceeded them.
 */

/** Why a submission was refused. */
export type LimitVerdict = 'ok' | 'qps' | 'in-flight';

/** The limit values, read on every check so `configure()` applies at once. */
export interface LimitSettings {
  /** Accepted submissions per second. */
  submitQps: number;
  /** Tasks in progress. */
  maxInFlight: number;
}

/**
 * QPS is a strict sliding window over accepted submissions: with `submitQps >= 1`, at most
 * `floor(submitQps)` acceptances in any 1000 ms; below 1, one acceptance per `1000 / submitQps` ms.
 * Refused submissions do not take a slot: they create no task, so only accepted ones are counted.
 * In flight counts tasks from acceptance until their `endsAt`, polled or not.
 */
export class SubmissionLimits {
  private acceptedAt: number[] = [];

  constructor(private readonly settings: () => LimitSettings) {}

  /** Window length and capacity for the current QPS. */
  private window(): { ms: number; capacity: number } {
    const qps = Math.max(this.settings().submitQps, 1e-6);
    if (qps >= 1) return { ms: 1000, capacity: Math.floor(qps) };
    return { ms: 1000 / qps, capacity: 1 };
  }

  /**
   * Decides one submission at `now` given the tasks in flight.
   * QPS is checked first: the provider's gateway answers 429 before it looks at the account.
   */
  check(now: number, inFlight: number): LimitVerdict {
    const { ms, capacity } = this.window();
    this.acceptedAt = this.acceptedAt.filter((t) => now - t < ms);
    if (this.acceptedAt.length >= capacity) return 'qps';
    if (inFlight >= this.settings().maxInFlight) return 'in-flight';
    return 'ok';
  }

  /** Records an accepted submission (a task was created) at `now`. */
  recordAccepted(now: number): void {
    this.acceptedAt.push(now);
  }
}
