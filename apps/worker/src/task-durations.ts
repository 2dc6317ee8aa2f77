/**
 * How long tasks took, per provider, operation and request size: the history the poll schedule
 * learns from (`poll-schedule.ts`). The owner of the `<prefix>:durations:*` keys.
 *
 * Each kind keeps its latest {@link TaskDurationsOptions.samples} durations in a Redis list (newest
 * first), so the history follows the provider when it gets slower or faster, is shared by every
 * worker process, and survives restarts. Workers read it through a short cache: one Redis read per
 * kind every `cacheMs`, not one per status query.
 */
import { type Clock, type RedisClient, systemClock } from '@genqueue/core';

/** What makes two tasks comparable: the same provider, operation and request size. */
export interface TaskKind {
  provider: string;
  operation: string;
  /** {@link requestSize} of the input. */
  size: string;
}

export interface TaskDurationsOptions {
  redis: RedisClient;
  /** Key prefix (`QUEUE_PREFIX`). */
  prefix: string;
  /** Durations kept per kind. Default 64. */
  samples?: number;
  /** How long a process reuses a kind's durations before reading them again, ms. Default 5000. */
  cacheMs?: number;
  /** A kind nobody ran for this long is forgotten, s. Default 30 days. */
  ttlSeconds?: number;
  clock?: Clock;
}

/**
 * Fields that change how long a generation takes: how many outputs, how large, how long (video),
 * how many steps, which quality tier. Other fields (the prompt, seeds, URLs) do not.
 */
const SIZE_FIELDS = [
  'imgCount',
  'n',
  'num_outputs',
  'batch_size',
  'width',
  'height',
  'imageSize',
  'aspectRatio',
  'aspect_ratio',
  'size',
  'resolution',
  'duration',
  'steps',
  'num_inference_steps',
  'quality',
  'mode',
] as const;

/** A short, stable description of a request's size, e.g. `aspectRatio=16:9,imgCount=2`; `default` when none. */
export function requestSize(input: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const field of SIZE_FIELDS) {
    const value = input[field];
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
      parts.push(`${field}=${String(value).slice(0, 32)}`);
    } else if (value && typeof value === 'object' && 'width' in value && 'height' in value) {
      parts.push(`${field}=${Number(value.width)}x${Number(value.height)}`);
    }
  }
  return parts.length > 0 ? parts.sort().join(',') : 'default';
}

export class TaskDurations {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly samples: number;
  private readonly cacheMs: number;
  private readonly ttlSeconds: number;
  private readonly clock: Clock;
  private readonly cache = new Map<string, { at: number; durations: readonly number[] }>();

  constructor(options: TaskDurationsOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.samples = options.samples ?? 64;
    this.cacheMs = options.cacheMs ?? 5_000;
    this.ttlSeconds = options.ttlSeconds ?? 30 * 86_400;
    this.clock = options.clock ?? systemClock;
  }

  /** Adds one task's duration (submission → end, ms). */
  async record(kind: TaskKind, durationMs: number): Promise<void> {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    const key = this.key(kind);
    await this.redis
      .multi()
      .lpush(key, Math.round(durationMs))
      .ltrim(key, 0, this.samples - 1)
      .expire(key, this.ttlSeconds)
      .exec();
  }

  /** The latest durations of `kind`, sorted ascending (empty when none). */
  async durations(kind: TaskKind): Promise<readonly number[]> {
    const key = this.key(kind);
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached && now - cached.at < this.cacheMs) return cached.durations;
    const values = await this.redis.lrange(key, 0, this.samples - 1);
    const durations = values
      .map(Number)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    this.cache.set(key, { at: now, durations });
    if (this.cache.size > 1_000) this.cache.delete(this.cache.keys().next().value!);
    return durations;
  }

  private key(kind: TaskKind): string {
    return `${this.prefix}:durations:${kind.provider}:${kind.operation}:${kind.size}`;
  }
}
