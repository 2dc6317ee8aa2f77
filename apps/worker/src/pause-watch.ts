/**
 * Says in the log when every account of a provider is paused (its jobs wait) and when one is back,
 * once per change and process rather than once per refused job. It learns from the gate's
 * answers to jobs that may use any account: the gate answers `paused` only when the account with
 * room soonest is paused, which the watch confirms against every account's state before it logs.
 */
import type { Logger } from '@genqueue/core';
import type { AccountPool } from '@genqueue/limiter';

export class PauseWatch {
  private readonly allPaused = new Set<string>();
  private readonly checking = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** The gate granted a slot of `provider` (any account is submitting again). */
  granted(provider: string): void {
    if (!this.allPaused.delete(provider)) return;
    this.logger.info({ provider }, `${provider}: an account is submitting again; submissions resume`);
  }

  /**
   * The gate refused a job that may use any account of `provider`, for `reason`. Resolves once a
   * change, if any, is logged; never rejects (a failed read only delays the message).
   */
  async refused(provider: string, pool: AccountPool, reason: 'qps' | 'in_flight' | 'paused'): Promise<void> {
    if (reason !== 'paused') return this.granted(provider);
    if (this.allPaused.has(provider) || this.checking.has(provider)) return;
    this.checking.add(provider);
    try {
      const states = await pool.accountStates();
      if (!states.every((s) => s.pause.paused) || this.allPaused.has(provider)) return;
      this.allPaused.add(provider);
      this.logger.error(
        {
          provider,
          accounts: states.map(({ id, pause }) => ({
            id,
            ...(pause.paused
              ? {
                  reason: pause.reason,
                  manual: pause.manual,
                  ...(pause.manual ? {} : { nextProbeAt: new Date(pause.nextProbeAt).toISOString() }),
                }
              : {}),
          })),
        },
        `${provider}: every account is paused; its jobs wait until a probe succeeds or an operator resumes one`,
      );
    } catch (error) {
      this.logger.warn({ provider, err: (error as Error).message }, 'pause watch: account states not read');
    } finally {
      this.checking.delete(provider);
    }
  }

  /** Whether this process last saw every account of `provider` paused. */
  isAllPaused(provider: string): boolean {
    return this.allPaused.has(provider);
  }
}
