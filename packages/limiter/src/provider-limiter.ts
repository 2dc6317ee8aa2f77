import { type Clock, type RedisClient, systemClock } from '@genqueue/core';
import {
  ADOPT_LUA,
  END_TURN_LUA,
  EXTEND_LUA,
  HOLDERS_LUA,
  IN_FLIGHT_LUA,
  PAUSE_LUA,
  TRY_ACQUIRE_LUA,
} from './internal/scripts.ts';

/**
 * Options of {@link ProviderLimiter}. The limits travel with every call as script arguments, so each
 * process applies its own configured values to the shared state.
 */
export interface ProviderLimiterOptions {
  /** ioredis connection. The limiter defines its scripts on it (`redis.defineCommand`). */
  redis: RedisClient;
  /**
   * Prefix of the limiter's keys, e.g. `genq:limits:liblib`: one prefix per provider account. May
   * contain a `{hash tag}` for Redis Cluster; all keys share it.
   */
  keyPrefix: string;
  /** Submissions per second across all processes (may be fractional, e.g. 0.5). LiblibAI: 1 (002 §2.3). */
  submitQps: number;
  /** Tasks in flight (submitted, not yet ended) across all processes. LiblibAI: 5 (002 §2.3). */
  maxInFlight: number;
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
   */
  turnTtlMs?: number;
  /**
   * A lease expires this long after its last grant, refresh or adoption, in ms, so a worker that died
   * holding a slot cannot keep it forever. Default 35 min: LiblibAI times a task out 30 min after
   * creation (002, task status 7), plus a margin; a live worker never loses a lease to expiry before
   * the provider has ended its task.
   */
  leaseTtlMs?: number;
  /** While the account is paused, one probe submission per this interval, in ms. Default 60 000. */
  probeIntervalMs?: number;
  /** Sleeps between polls in {@link ProviderLimiter.acquire}. Default: the system clock. */
  clock?: Clock;
}

/** The answer of {@link ProviderLimiter.tryAcquire}. `inFlight` counts live leases after the call. */
export type AcquireResult =
  /** Submit now. `probe` is true when this grant is the paused account's one probe. */
  | { granted: true; probe: boolean; inFlight: number }
  /** Do not submit; ask again in `retryInMs` (ms). */
  | { granted: false; reason: 'qps' | 'in_flight' | 'paused'; retryInMs: number; inFlight: number };

/** What {@link ProviderLimiter.pauseState} reports; times are ms since the epoch by Redis TIME. */
export type PauseState =
  | { paused: false }
  | { paused: true; reason: string; since: number; nextProbeAt: number };

/** The runtime-changeable limits, see {@link ProviderLimiter.setLimits}. */
export interface ProviderLimits {
  /** Submissions per second (> 0, may be fractional). */
  submitQps?: number;
  /** Tasks in flight (integer >= 1). */
  maxInFlight?: number;
}

const DEFAULT_MARGIN_MS = 10;
const DEFAULT_SEND_ALLOWANCE_MS = 50;
const DEFAULT_TURN_TTL_MS = 35_000;
const DEFAULT_LEASE_TTL_MS = 35 * 60_000;
const DEFAULT_PROBE_INTERVAL_MS = 60_000;

// Namespaced so they cannot clash with scripts other code defines on the same connection.
const COMMANDS = {
  tryAcquire: { name: 'genqLimiterTryAcquire2', lua: TRY_ACQUIRE_LUA, keys: 4 },
  endTurn: { name: 'genqLimiterEndTurn', lua: END_TURN_LUA, keys: 2 },
  extend: { name: 'genqLimiterExtend', lua: EXTEND_LUA, keys: 1 },
  adopt: { name: 'genqLimiterAdopt', lua: ADOPT_LUA, keys: 1 },
  holders: { name: 'genqLimiterHolders', lua: HOLDERS_LUA, keys: 1 },
  inFlight: { name: 'genqLimiterInFlight', lua: IN_FLIGHT_LUA, keys: 1 },
  pause: { name: 'genqLimiterPause', lua: PAUSE_LUA, keys: 1 },
} as const;

type CommandName = keyof typeof COMMANDS;
type ScriptCall = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/**
 * The global per-provider submission gate: a lease-based semaphore (tasks in flight), a QPS spacer
 * (submissions per second) and the account's paused state, checked and updated atomically by one Lua
 * script in Redis.
 *
 * BullMQ's own limiter counts job starts and its global concurrency counts active jobs, but a
 * provider task stays in flight after the submitting job has moved on (to polling), so the slot is a
 * lease: taken at submission, released when the task ends, expiring if its holder dies.
 *
 * A holder is any stable id of one provider task-to-be (e.g. the job id): the same holder asking
 * again reuses its lease.
 */
export class ProviderLimiter {
  private readonly redis: RedisClient;
  private readonly clock: Clock;
  private readonly keys: { leases: string; sending: string; sent: string; pause: string };
  private readonly marginMs: number;
  private readonly leaseTtlMs: number;
  private readonly probeIntervalMs: number;
  private readonly turnTtlMs: number;
  private readonly sendAllowanceMs: number;
  private submitQps: number;
  private maxInFlight: number;

  constructor(options: ProviderLimiterOptions) {
    if (typeof options.keyPrefix !== 'string' || options.keyPrefix.length === 0) {
      throw new RangeError('ProviderLimiter: keyPrefix must be a non-empty string');
    }
    this.redis = options.redis;
    this.clock = options.clock ?? systemClock;
    this.keys = {
      leases: `${options.keyPrefix}:leases`,
      sending: `${options.keyPrefix}:sending`,
      sent: `${options.keyPrefix}:sent`,
      pause: `${options.keyPrefix}:pause`,
    };
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
    this.submitQps = checkQps(options.submitQps);
    this.maxInFlight = checkMaxInFlight(options.maxInFlight);
    for (const { name, lua, keys } of Object.values(COMMANDS)) {
      this.redis.defineCommand(name, { lua, numberOfKeys: keys });
    }
  }

  /**
   * Atomically: drops expired leases; denies `paused` until the next probe time; reuses the
   * holder's own lease if it has one (then only the QPS rule applies); denies `in_flight` at
   * capacity (`retryInMs` <= 250, or until the earliest lease expires if sooner); denies `qps` while
   * the window already holds `submitQps` submissions (`retryInMs` = until the oldest leaves it, or a
   * 20 ms recheck while a turn is open); else takes the lease (expiring `leaseTtlMs` from now),
   * counts the submission in the window and grants.
   *
   * `holdTurn`: the submission counts as "on its way" until `endTurn(holder)`, and then for one
   * window from that moment, so the next one can never reach the provider within a window of it
   * (see `internal/scripts.ts`). Use it whenever the caller can say when the request is over
   * (polled providers: the answer is quick). Without it the submission counts from its grant plus
   * `sendAllowanceMs` (synchronous providers, whose answer takes the whole generation).
   */
  async tryAcquire(holder: string, options: { holdTurn?: boolean } = {}): Promise<AcquireResult> {
    checkHolder(holder);
    // Integer rates keep the provider's own window (N per second); a fractional rate below 1
    // stretches the window (0.5/s: 1 per 2 s), above 1 shrinks it (2.5/s: 2 per 800 ms).
    const perWindow = Math.max(1, Math.floor(this.submitQps));
    const windowMs = Math.ceil((1000 * perWindow) / this.submitQps) + this.marginMs;
    const reply = (await this.call(
      'tryAcquire',
      this.keys.leases,
      this.keys.sending,
      this.keys.sent,
      this.keys.pause,
      holder,
      windowMs,
      perWindow,
      this.maxInFlight,
      this.leaseTtlMs,
      this.probeIntervalMs,
      this.turnTtlMs,
      options.holdTurn ? '1' : '0',
      this.sendAllowanceMs,
    )) as [1, 0 | 1, number] | [0, 'qps' | 'in_flight' | 'paused', number, number];
    if (reply[0] === 1) return { granted: true, probe: reply[1] === 1, inFlight: reply[2] };
    return { granted: false, reason: reply[1], retryInMs: reply[2], inFlight: reply[3] };
  }

  /**
   * Ends the holder's open QPS turn (see `tryAcquire`'s `holdTurn`): call it as soon as the
   * submission's request is over, whatever its outcome, or with `sending: true` right before a
   * request whose answer will be slow (a synchronous provider's): the window then counts from now
   * plus `sendAllowanceMs`. Returns whether a turn was open.
   */
  async endTurn(holder: string, options: { sending?: boolean } = {}): Promise<boolean> {
    checkHolder(holder);
    const allowanceMs = options.sending ? this.sendAllowanceMs : 0;
    return (await this.call('endTurn', this.keys.sending, this.keys.sent, holder, allowanceMs)) === 1;
  }

  async acquire(holder: string, signal?: AbortSignal): Promise<Extract<AcquireResult, { granted: true }>> {
    for (;;) {
      signal?.throwIfAborted();
      const result = await this.tryAcquire(holder);
      if (result.granted) return result;
      await this.clock.sleep(Math.max(1, result.retryInMs), signal);
    }
  }

  /** Frees the holder's slot at once (task ended, or the submission failed). True when a lease was removed. */
  async release(holder: string): Promise<boolean> {
    checkHolder(holder);
    return (await this.redis.zrem(this.keys.leases, holder)) === 1;
  }

  /** Pushes a live lease's expiry to `leaseTtlMs` from now. False when the holder has no live lease. */
  async extend(holder: string): Promise<boolean> {
    checkHolder(holder);
    return (await this.call('extend', this.keys.leases, holder, this.leaseTtlMs)) === 1;
  }

  /**
   * Takes (or refreshes) a lease for a holder whose task the provider already has, e.g. found after
   * a restart, with no QPS, capacity or pause check: the task is in flight whatever we do, and
   * counting it keeps new submissions from overshooting the provider's limit.
   */
  async adopt(holder: string): Promise<void> {
    checkHolder(holder);
    await this.call('adopt', this.keys.leases, holder, this.leaseTtlMs);
  }

  /** Number of live (unexpired) leases. */
  async inFlight(): Promise<number> {
    return (await this.call('inFlight', this.keys.leases)) as number;
  }

  /** Holders of live leases, earliest expiry first. */
  async holders(): Promise<string[]> {
    return (await this.call('holders', this.keys.leases)) as string[];
  }

  /**
   * Pauses submissions for the account (idempotent: the first reason and time stay). The next probe
   * is due `probeIntervalMs` from now.
   */
  async pause(reason: string): Promise<void> {
    await this.call('pause', this.keys.pause, reason, this.probeIntervalMs);
  }

  /** Lifts the pause, e.g. after a probe submission succeeded. */
  async resume(): Promise<void> {
    await this.redis.del(this.keys.pause);
  }

  /** Whether the account is paused, why, since when and when the next probe is due. */
  async pauseState(): Promise<PauseState> {
    const hash = await this.redis.hgetall(this.keys.pause);
    if (hash.nextProbeAt === undefined) return { paused: false };
    return {
      paused: true,
      reason: hash.reason ?? '',
      since: Number(hash.since),
      nextProbeAt: Number(hash.nextProbeAt),
    };
  }

  /** Changes this process's limits at runtime (config reload, tests); applies from the next call. */
  setLimits(limits: ProviderLimits): void {
    // Validate both before assigning either, so a bad value leaves the limits as they were.
    const submitQps = limits.submitQps === undefined ? this.submitQps : checkQps(limits.submitQps);
    const maxInFlight =
      limits.maxInFlight === undefined ? this.maxInFlight : checkMaxInFlight(limits.maxInFlight);
    this.submitQps = submitQps;
    this.maxInFlight = maxInFlight;
  }

  private call(command: CommandName, ...keysAndArgs: (string | number)[]): Promise<unknown> {
    // defineCommand adds methods ioredis's types cannot know about.
    const fn = (this.redis as unknown as Record<string, ScriptCall>)[COMMANDS[command].name]!;
    return fn.apply(this.redis, keysAndArgs);
  }
}

function checkQps(value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`ProviderLimiter: submitQps must be a finite number > 0, got ${value}`);
  }
  return value;
}

function checkMaxInFlight(value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`ProviderLimiter: maxInFlight must be an integer >= 1, got ${value}`);
  }
  return value;
}

function checkMs(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`ProviderLimiter: ${name} must be a finite number >= ${min} (ms), got ${value}`);
  }
  // Redis TIME is whole milliseconds here; rounding up never shortens a gap.
  return Math.ceil(value);
}

function checkHolder(holder: string): void {
  if (typeof holder !== 'string' || holder.length === 0) {
    throw new TypeError('ProviderLimiter: holder must be a non-empty string');
  }
}
