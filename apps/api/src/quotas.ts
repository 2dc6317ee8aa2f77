/**
 * Per-tenant quotas (`TENANTS`), checked before new work is accepted: a cap on the tenant's jobs
 * `queued` at once (`maxQueuedJobs`) and the provider points its jobs may keep per UTC day
 * (`dailyPoints`). Past either, new jobs and batches answer `429` with a code that says which
 * (`tenant_queue_full`, `tenant_budget_spent`); work already accepted runs on.
 *
 * The counts are the job store's (kept by every transition in the same step as the state
 * change). Two requests checked at the same moment can both pass: the cap may be overshot by
 * what concurrent requests add, never by more.
 */
import { type Config, tenantSettings } from '@genqueue/config';
import type { JobStore } from '@genqueue/core';
import { ApiError } from './http-error.ts';

export class TenantQuotas {
  constructor(
    private readonly store: JobStore,
    private readonly tenants: Config['tenants'],
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws `429` unless the tenant may add `jobs` queued jobs now. */
  async admit(tenant: string, jobs: number): Promise<void> {
    const settings = tenantSettings(this.tenants, tenant);
    if (settings.dailyPoints !== undefined) {
      const spent = await this.store.tenantPointsOn(tenant, this.now());
      if (spent >= settings.dailyPoints) {
        throw new ApiError(
          429,
          'tenant_budget_spent',
          `tenant ${tenant} has spent its daily budget of ${settings.dailyPoints} points (${spent} today, UTC); new work is accepted again tomorrow`,
        );
      }
    }
    if (settings.maxQueuedJobs !== undefined) {
      const queued = await this.store.tenantQueued(tenant);
      if (queued + jobs > settings.maxQueuedJobs) {
        throw new ApiError(
          429,
          'tenant_queue_full',
          `tenant ${tenant} may have ${settings.maxQueuedJobs} jobs queued at once; ${queued} are queued and this request adds ${jobs}`,
        );
      }
    }
  }
}
