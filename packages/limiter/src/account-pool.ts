import { randomBytes } from 'node:crypto';
import { type Clock, type RedisClient, systemClock } from '@genqueue/core';
import {
  ACCOUNT_KEYS,
  END_TURN_LUA,
  IN_FLIGHT_LUA,
  PAUSE_LUA,
  REFRESH_LUA,
  RELEASE_LUA,
  RESUME_LUA,
  TRY_ACQUIRE_LUA,
} from './internal/scripts.ts';

/** One provider account as the pool sees it: its id and its configured limits (no secrets). */
export interface PoolAccount {
  /** Unique within the provider, `[A-Za-z0-9_-]{1,32}`. The single-account configuration is `default`. */
  id: string;
  /** Submissions per second for this account (may be fractional, e.g. 0.5). LiblibAI: 1 (002 §2.3). */
  submitQps: number;
  /** Tasks in flight for this account. LiblibAI: 5 (002 §2.3). */
  maxInFlight: number;
  /** Among accounts with as many free slots, the higher weight is chosen first. Default 1. */
  weight?: number;
  /** What the account owns (private models, LoRAs); a job may require tags. Default none. */
  tags?: readonly string[];
}

/**
 * A configured account (`AccountConfig` of @genqueue/config: its secrets are not read) as the pool
 * sees it. Workers and the API build their pools with it, so both agree on every account's limits.
 */
export function poolAccountOf(account: {
  id: string;
  limits: { submitQps: number; maxInFlight: number };
  weight?: number;
  tags?: readonly string[];
}): PoolAccount {
  return {
    id: account.id,
    submitQps: account.limits.submitQps,
    maxInFlight: account.limits.maxInFlight,
    weight: account.weight,
    tags: account.tags,
  };
}

/**
 * Options of {@link AccountPool}. The configured limits travel with every call as script
 * arguments; limits changed at runtime ({@link AccountPool.setLimits}) live in Redis and win.
 */
export interface AccountPoolOptions {
  /** ioredis connection. The pool defines its scripts on it (`redis.defineCommand`). */
  redis: RedisClient;
  /**
   * Prefix of the pool's keys, one per provider, holding a `{hash tag}` so that every account's
   * keys share a Redis Cluster slot: `limiterKeyPrefix(queuePrefix, provider)` from core.
   */
  keyPrefix: string;
  /** The provider's accounts, at least one. */
  accounts: readonly PoolAccount[];
  /**
   * Extra length added to the QPS window, in ms. Default 10. With held turns (see `tryAcquire`) the
   * window already counts from the provider's answer, so this only covers the provider's own clock
   * granularity.
   */
  marginMs?: number;
  /**
   * Without a held turn, how long after its grant a submission is assumed to reach the provider, in
   * ms. Default 50: it covers the worker's own delay between the grant and the send (a Redis round
   * trip, signing, a busy event loop).
   */
  sendAllowanceMs?: number;
  /**
   * How long a held turn may stay open before the gate treats its request as over, in ms. Default
   * 35 000: longer than a provider call's own timeout, so only a caller that died mid-call hits it.
   * A grant's lease lives this long too until its turn ends: no task can exist before the send.
   */
  turnTtlMs?: number;
  /**
   * A lease expires this long after its turn ended or its last refresh, in ms, so a worker that died
   * holding a slot cannot keep it forever. Default 35 min: LiblibAI times a task out 30 min after
   * creation (002, task status 7), plus a margin. The poller refreshes the lease of every task it
   * sees alive, so a shorter TTL only shortens how long a dead worker's slot stays taken.
   */
  leaseTtlMs?: number;
  /** While an account is paused by an account error, one probe submission per this interval, in ms. Default 60 000. */
  probeIntervalMs?: number;
  /** Stamps the balance {@link AccountPool.recordCost} remembers. Default: the system clock. */
  clock?: Clock;
}

/** A granted slot: only this triple can end its turn, refresh it or release it. */
export interface Lease {
  /** The account whose slot it is. */
  account: string;
  /** The stable id of the task-to-be (the job id). */
  holder: string;
  /** Drawn at the grant; a lease is released and refreshed only by whoever holds it. */
  token: string;
}

/** Which accounts a job may use. Empty: any account of the provider. */
export interface AccountFilter {
  /** Only this account. */
  account?: string;
  /** Only accounts that have every one of these tags. */
  tags?: readonly string[];
}

/** The answer of {@link AccountPool.tryAcquire}. `inFlight` counts live leases after the call. */
export type AcquireResult =
  /** Submit now with `lease.account`. `probe` is true when this grant is a paused account's one probe. */
  | { granted: true; lease: Lease; probe: boolean; inFlight: number }
  /**
   * No eligible account has room; ask again in `retryInMs` (ms). `reason` is that of the account
   * that will have room soonest; `inFlight` is the eligible accounts' total.
   */
  | { granted: false; reason: 'qps' | 'in_flight' | 'paused'; retryInMs: number; inFlight: number };

/** An account's pause in {@link AccountState}; times are ms since the epoch by Redis TIME. */
export type PauseState =
  | { paused: false }
  /** Paused by an account error; one probe is let through at `nextProbeAt`. */
  | { paused: true; manual: false; reason: string; since: number; nextProbeAt: number }
  /** Paused by an operator until the operator resumes it; never probed. */
  | { paused: true; manual: true; reason: string; since: number };

/** Limits changed at runtime, see {@link AccountPool.setLimits}. `null` goes back to the configured value. */
export interface LimitsChange {
  /** Submissions per second (> 0, may be fractional). */
  submitQps?: number | null;
  /** Tasks in flight (integer >= 1). */
  maxInFlight?: number | null;
}

/** One account's state, as {@link AccountPool.accountStates} reports it. Never a secret. */
export interface AccountState {
  id: string;
  tags: readonly string[];
  weight: number;
  /** Effective limits (a runtime change, else the configured value). */
  submitQps: number;
  maxInFlight: number;
  /** The configured limits, what `null` in {@link LimitsChange} goes back to. */
  configured: { submitQps: number; maxInFlight: number };
  inFlight: number;
  pause: PauseState;
  /** Tasks this account submitted (accepted by the provider). */
  submitted: number;
  /** Points the provider kept for this account's ended tasks. */
  pointsSpent: number;
  /** The last balance the provider reported, and when (ms since the epoch). */
  balance?: { value: number; at: number };
}

/** Thrown when a pin or a tag filter matches no account of the pool. */
export class NoMatchingAccountError extends Error {
  override readonly name = 'NoMatchingAccountError';
}

/** Account ids: the form configuration accepts, also used in Redis keys and metric labels. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

const DEFAULT_MARGIN_MS = 10;
const DEFAULT_SEND_ALLOWANCE_MS = 50;
const DEFAULT_TURN_TTL_MS = 35_000;
const DEFAULT_LEASE_TTL_MS = 35 * 60_000;
const DEFAULT_PROBE_INTERVAL_MS = 60_000;

// Namespaced so they cannot clash with scripts other code defines on the same connection; a number
// of keys of 0 means "given with the call" (the grant takes a variable number of accounts).
const COMMANDS = {
  tryAcquire: { name: 'genqPoolTryAcquire', lua: TRY_ACQUIRE_LUA, keys: undefined },
  endTurn: { name: 'genqPoolEndTurn', lua: END_TURN_LUA, keys: 3 },
  release: { name: 'genqPoolRelease', lua: RELEASE_LUA, keys: 3 },
  refresh: { name: 'genqPoolRefresh', lua: REFRESH_LUA, keys: 1 },
  inFlight: { name: 'genqPoolInFlight', lua: IN_FLIGHT_LUA, keys: 1 },
  pause: { name: 'genqPoolPause', lua: PAUSE_LUA, keys: 1 },
  resume: { name: 'genqPoolResume', lua: RESUME_LUA, keys: 1 },
} as const;

type CommandName = keyof typeof COMMANDS;
type ScriptCall = (...keysAndArgs: (string | number)[]) => Promise<unknown>;
type AccountKeys = Record<(typeof ACCOUNT_KEYS)[number] | 'stats', string>;

/**
 * The global submission gate of one provider's accounts. Per account: a lease-based semaphore (tasks
 * in flight), a QPS spacer (submissions per second), a paused state and runtime limits, all in Redis.
 * One Lua script chooses an account with room and grants it atomically, so two workers can never
 * take the same slot or the same turn, on one account or across accounts.
 *
 * BullMQ's own limiter counts job starts and its global concurrency counts active jobs, but a
 * provider task stays in flight after the submitting job has moved on (to polling), so the slot is a
 * lease: taken at submission, released when the task ends, expiring if its holder dies.
 */
export class AccountPool {
  private readonly redis: RedisClient;
  private readonly clock: Clock;
  private readonly keyPrefix: string;
  private readonly byId: ReadonlyMap<string, Required<PoolAccount>>;
  private readonly marginMs: number;
  private readonly leaseTtlMs: number;
  private readonly probeIntervalMs: number;
  private readonly turnTtlMs: number;
  private readonly sendAllowanceMs: number;

  constructor(options: AccountPoolOptions) {
    if (typeof options.keyPrefix !== 'string' || options.keyPrefix.length === 0) {
      throw new RangeError('AccountPool: keyPrefix must be a non-empty string');
    }
    if (!Array.isArray(options.accounts) || options.accounts.length === 0) {
      throw new RangeError('AccountPool: accounts must hold at least one account');
    }
    this.redis = options.redis;
    this.clock = options.clock ?? systemClock;
    this.keyPrefix = options.keyPrefix;
    const byId = new Map<string, Required<PoolAccount>>();
    for (const account of options.accounts) {
      if (!ACCOUNT_ID_PATTERN.test(account.id)) {
        throw new RangeError(
          `AccountPool: account id ${JSON.stringify(account.id)} must match [A-Za-z0-9_-]{1,32}`,
        );
      }
      if (byId.has(account.id)) throw new RangeError(`AccountPool: account ${account.id} is listed twice`);
      const weight = account.weight ?? 1;
      if (!Number.isFinite(weight))
        throw new RangeError(`AccountPool: account ${account.id}: weight must be a number`);
      byId.set(account.id, {
        id: account.id,
        submitQps: checkQps(account.id, account.submitQps),
        maxInFlight: checkMaxInFlight(account.id, account.maxInFlight),
        weight,
        tags: Object.freeze([...(account.tags ?? [])]),
      });
    }
    this.byId = byId;
    this.marginMs = checkMs('marginMs', options.marginMs ?? DEFAULT_MARGIN_MS, 0);
    this.leaseTtlMs = checkMs('leaseTtlMs', options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, 1);
    this.probeIntervalMs = checkMs(
      'probeIntervalMs',
      options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
      1,
    );
    this.turnTtlMs = checkMs('turnTtlMs', options.turnTtlMs ?? DEFAULT_TURN_TTL_MS, 1);
    this.sendAllowanceMs = checkMs(
      'sendAllowanceMs',
      options.sendAllowanceMs ?? DEFAULT_SEND_ALLOWANCE_MS,
      0,
    );
    for (const { name, lua, keys } of Object.values(COMMANDS)) {
      this.redis.defineCommand(name, keys === undefined ? { lua } : { lua, numberOfKeys: keys });
    }
  }

  /** The configured accounts, in configuration order. */
  get accounts(): readonly Required<PoolAccount>[] {
    return [...this.byId.values()];
  }

  /** How long a lease lives without a refresh, in ms (the poller refreshes well within it). */
  get leaseTtl(): number {
    return this.leaseTtlMs;
  }

  has(account: string): boolean {
    return this.byId.has(account);
  }

  /**
   * The accounts a filter allows, in configuration order. Throws {@link NoMatchingAccountError}
   * when none does: a pin to an unknown account, or tags no account has.
   */
  candidates(filter: AccountFilter = {}): Required<PoolAccount>[] {
    let accounts = this.accounts;
    if (filter.account !== undefined) {
      const pinned = this.byId.get(filter.account);
      if (!pinned) throw new NoMatchingAccountError(`no account ${JSON.stringify(filter.account)}`);
      accounts = [pinned];
    }
    const tags = filter.tags ?? [];
    const matching = accounts.filter((a) => tags.every((tag) => a.tags.includes(tag)));
    if (matching.length === 0) {
      throw new NoMatchingAccountError(
        `no account${filter.account === undefined ? '' : ` ${filter.account}`} has tags ${tags.join(', ')}`,
      );
    }
    return matching;
  }

  /**
   * Atomically, across the accounts the filter allows: drops expired leases; skips accounts paused
   * until their next probe, at capacity (unless this same grant is asked again with its `token`) or
   * whose QPS window is full; grants the best of the rest (see `internal/scripts.ts`) and returns
   * its lease. When none has room, the denial says why and when to ask again (`in_flight`: <= 250 ms
   * or the earliest expiry; `qps`: until the oldest submission leaves the window, or a 20 ms recheck
   * while a turn is open; `paused`: until the next probe).
   *
   * `holdTurn`: the submission counts as "on its way" until `endTurn(lease)`, and then for one
   * window from that moment, so the next one on that account can never reach the provider within a
   * window of it. Use it whenever the caller can say when the request is over (polled providers:
   * the answer is quick). Without it the submission counts from its grant plus `sendAllowanceMs`.
   */
  async tryAcquire(
    holder: string,
    options: AccountFilter & { holdTurn?: boolean; token?: string } = {},
  ): Promise<AcquireResult> {
    checkHolder(holder);
    const candidates = this.candidates(options);
    const token = options.token ?? newToken();
    const keys: string[] = [`${this.keyPrefix}:lastGrant`];
    const args: (string | number)[] = [
      member(holder, token),
      options.holdTurn ? this.turnTtlMs : this.leaseTtlMs,
      this.probeIntervalMs,
      this.turnTtlMs,
      options.holdTurn ? '1' : '0',
      this.sendAllowanceMs,
      this.marginMs,
      this.leaseTtlMs,
    ];
    for (const account of candidates) {
      const accountKeys = this.keysOf(account.id);
      keys.push(...ACCOUNT_KEYS.map((name) => accountKeys[name]));
      args.push(account.id, account.submitQps, account.maxInFlight, account.weight);
    }
    const fn = this.script('tryAcquire');
    const reply = (await fn.call(this.redis, keys.length, ...keys, ...args)) as
      | [1, string, 0 | 1, number]
      | [0, 'qps' | 'in_flight' | 'paused', number, number];
    if (reply[0] === 1) {
      return {
        granted: true,
        lease: { account: reply[1], holder, token },
        probe: reply[2] === 1,
        inFlight: reply[3],
      };
    }
    return { granted: false, reason: reply[1], retryInMs: reply[2], inFlight: reply[3] };
  }

  /**
   * Ends the lease's open QPS turn (see `tryAcquire`'s `holdTurn`): call it as soon as the
   * submission's request is over, whatever its outcome, or with `sending: true` as soon as a
   * request whose answer will be slow (a synchronous provider's) has been written to its connection:
   * the window then counts from now plus `sendAllowanceMs`. From here a task may exist, so the
   * lease is held for the full lease TTL. Returns whether a turn was open.
   */
  async endTurn(lease: Lease, options: { sending?: boolean } = {}): Promise<boolean> {
    const keys = this.keysOf(this.known(lease.account));
    const allowanceMs = options.sending ? this.sendAllowanceMs : 0;
    return (
      (await this.call(
        'endTurn',
        keys.leases,
        keys.sending,
        keys.sent,
        memberOf(lease),
        allowanceMs,
        this.leaseTtlMs,
      )) === 1
    );
  }

  /**
   * Frees the lease's slot at once (task ended, or the submission failed), ending its turn if still
   * open. Only the holder of the token frees anything: a worker that lost a job to another worker
   * cannot free the other's slot. True when a lease was removed.
   */
  async release(lease: Lease): Promise<boolean> {
    const keys = this.keysOf(this.known(lease.account));
    return (await this.call('release', keys.leases, keys.sending, keys.sent, memberOf(lease))) === 1;
  }

  /**
   * Keeps the lease for another `ttlMs` (default `leaseTtlMs`) from now: the poller calls it for
   * every task it sees alive. It takes the slot back even if the lease had expired (the task is in
   * flight at the provider whatever the gate says; counting it keeps new submissions from
   * overshooting). False when the lease had expired or did not exist.
   */
  async refresh(lease: Lease, options: { ttlMs?: number } = {}): Promise<boolean> {
    const keys = this.keysOf(this.known(lease.account));
    const ttlMs = checkMs('ttlMs', options.ttlMs ?? this.leaseTtlMs, 1);
    return (await this.call('refresh', keys.leases, memberOf(lease), ttlMs)) === 1;
  }

  /** Live (unexpired) leases of one account, or of all accounts. */
  async inFlight(account?: string): Promise<number> {
    const ids = account === undefined ? [...this.byId.keys()] : [this.known(account)];
    const counts = await Promise.all(ids.map((id) => this.call('inFlight', this.keysOf(id).leases)));
    return counts.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  /**
   * Pauses one account. An account error (`manual` false, the default) is idempotent (the first
   * reason and time stay) and lets one probe through every `probeIntervalMs`; with `probeFailed`
   * (the error answered a probe) the next probe is due one interval after now, so probes are an
   * interval apart at the provider however long each took. An operator's pause (`manual`)
   * replaces it and lasts until `resume(account, { manual: true })`.
   */
  async pause(
    account: string,
    reason: string,
    options: { manual?: boolean; probeFailed?: boolean } = {},
  ): Promise<void> {
    await this.call(
      'pause',
      this.keysOf(this.known(account)).pause,
      reason,
      this.probeIntervalMs,
      options.manual ? '1' : '0',
      options.probeFailed ? '1' : '0',
    );
  }

  /**
   * Lifts an account error's pause (a probe succeeded), or with `manual` any pause (an operator).
   * True when a pause was lifted.
   */
  async resume(account: string, options: { manual?: boolean } = {}): Promise<boolean> {
    const key = this.keysOf(this.known(account)).pause;
    return (await this.call('resume', key, options.manual ? '1' : '0')) === 1;
  }

  /**
   * Changes an account's limits for every process at once, from the next grant on (stored in Redis;
   * `null` goes back to the configured value). Validates every value before writing any.
   */
  async setLimits(account: string, change: LimitsChange): Promise<void> {
    const id = this.known(account);
    if (change.submitQps != null) checkQps(id, change.submitQps);
    if (change.maxInFlight != null) checkMaxInFlight(id, change.maxInFlight);
    const key = this.keysOf(id).limits;
    const multi = this.redis.multi();
    for (const field of ['submitQps', 'maxInFlight'] as const) {
      const value = change[field];
      if (value === null) multi.hdel(key, field);
      else if (value !== undefined) multi.hset(key, field, String(value));
    }
    await multi.exec();
  }

  /** Counts a task the provider accepted on `account`. */
  async recordSubmitted(account: string): Promise<void> {
    await this.redis.hincrby(this.keysOf(this.known(account)).stats, 'submitted', 1);
  }

  /** Adds the points the provider kept for an ended task, and remembers the balance it reported. */
  async recordCost(account: string, cost: { points?: number; balance?: number }): Promise<void> {
    const key = this.keysOf(this.known(account)).stats;
    const multi = this.redis.multi();
    if (cost.points !== undefined && Number.isFinite(cost.points) && cost.points !== 0) {
      multi.hincrbyfloat(key, 'points', cost.points);
    }
    if (cost.balance !== undefined && Number.isFinite(cost.balance)) {
      multi.hset(key, 'balance', String(cost.balance), 'balanceAt', String(this.clock.now()));
    }
    await multi.exec();
  }

  /** Every account's limits, load, pause and counters, in configuration order. */
  async accountStates(): Promise<AccountState[]> {
    const ids = [...this.byId.keys()];
    const multi = this.redis.multi();
    for (const id of ids) {
      const keys = this.keysOf(id);
      multi.hgetall(keys.limits).hgetall(keys.pause).hgetall(keys.stats);
    }
    const [replies, inFlight] = await Promise.all([
      multi.exec(),
      Promise.all(ids.map((id) => this.inFlight(id))),
    ]);
    return ids.map((id, i) => {
      const account = this.byId.get(id)!;
      const [limits, pause, stats] = [0, 1, 2].map((j) => {
        const [error, value] = replies![i * 3 + j]!;
        if (error) throw error;
        return value as Record<string, string>;
      }) as [Record<string, string>, Record<string, string>, Record<string, string>];
      return {
        id,
        tags: account.tags,
        weight: account.weight,
        submitQps: limits.submitQps === undefined ? account.submitQps : Number(limits.submitQps),
        maxInFlight: limits.maxInFlight === undefined ? account.maxInFlight : Number(limits.maxInFlight),
        configured: { submitQps: account.submitQps, maxInFlight: account.maxInFlight },
        inFlight: inFlight[i]!,
        pause: parsePause(pause),
        submitted: Number(stats.submitted ?? 0),
        pointsSpent: Number(stats.points ?? 0),
        ...(stats.balance === undefined
          ? {}
          : { balance: { value: Number(stats.balance), at: Number(stats.balanceAt) } }),
      };
    });
  }

  private known(account: string): string {
    if (!this.byId.has(account)) throw new NoMatchingAccountError(`no account ${JSON.stringify(account)}`);
    return account;
  }

  private keysOf(account: string): AccountKeys {
    const base = `${this.keyPrefix}:${account}`;
    return {
      leases: `${base}:leases`,
      sending: `${base}:sending`,
      sent: `${base}:sent`,
      pause: `${base}:pause`,
      limits: `${base}:limits`,
      stats: `${base}:stats`,
    };
  }

  private script(command: CommandName): ScriptCall {
    // defineCommand adds methods ioredis's types cannot know about.
    return (this.redis as unknown as Record<string, ScriptCall>)[COMMANDS[command].name]!;
  }

  private call(command: CommandName, ...keysAndArgs: (string | number)[]): Promise<unknown> {
    return this.script(command).apply(this.redis, keysAndArgs);
  }
}

function parsePause(hash: Record<string, string>): PauseState {
  if (hash.since === undefined) return { paused: false };
  const common = { paused: true as const, reason: hash.reason ?? '', since: Number(hash.since) };
  if (hash.manual === '1') return { ...common, manual: true };
  return { ...common, manual: false, nextProbeAt: Number(hash.nextProbeAt) };
}

function newToken(): string {
  return randomBytes(8).toString('hex');
}

function member(holder: string, token: string): string {
  if (typeof token !== 'string' || token.length === 0 || token.includes('#')) {
    throw new TypeError('AccountPool: a lease token must be a non-empty string without #');
  }
  return `${holder}#${token}`;
}

function memberOf(lease: Lease): string {
  checkHolder(lease.holder);
  return member(lease.holder, lease.token);
}

function checkQps(account: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `AccountPool: account ${account}: submitQps must be a finite number > 0, got ${value}`,
    );
  }
  return value;
}

function checkMaxInFlight(account: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `AccountPool: account ${account}: maxInFlight must be an integer >= 1, got ${value}`,
    );
  }
  return value;
}

function checkMs(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`AccountPool: ${name} must be a finite number >= ${min} (ms), got ${value}`);
  }
  // Redis TIME is whole milliseconds here; rounding up never shortens a gap.
  return Math.ceil(value);
}

function checkHolder(holder: string): void {
  if (typeof holder !== 'string' || holder.length === 0) {
    throw new TypeError('AccountPool: holder must be a non-empty string');
  }
}
