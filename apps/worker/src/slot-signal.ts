/**
 * "A slot was freed" between worker processes, through Redis pub/sub, so a submission waiting for
 * a free slot goes the moment one is given back instead of at its next re-check.
 *
 * Only a hint: a lost message costs the waiter the rest of its wait (then it re-checks the gate as
 * before), and a message never grants anything by itself: the gate still decides.
 */
import type { Logger, RedisClient } from '@genqueue/core';

export class SlotSignal {
  private readonly publisher: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly channel: string;
  private readonly waiters = new Map<string, Set<(freed: boolean) => void>>();
  private readonly claimed = new Set<string>();
  private ready?: Promise<unknown>;
  private stopped = false;

  /** `redis` publishes; a duplicate of it subscribes. `prefix` is `QUEUE_PREFIX`. */
  constructor(redis: RedisClient, prefix: string, logger?: Logger) {
    this.publisher = redis;
    this.channel = `${prefix}:slot-freed`;
    this.subscriber = redis.duplicate();
    this.subscriber.on('message', (_channel: string, provider: string) => this.wake(provider));
    this.subscriber.on('error', (error: Error) =>
      logger?.warn({ err: error.message }, 'slot signal: subscriber error'),
    );
  }

  /** Subscribes; resolves once the subscription is in place. */
  start(): Promise<unknown> {
    this.ready ??= this.subscriber.subscribe(this.channel);
    return this.ready;
  }

  /** Tells every worker process that `provider` has a free slot. */
  async freed(provider: string): Promise<void> {
    await this.publisher.publish(this.channel, provider);
  }

  /**
   * Claims the right to wait in this process for a slot or a QPS turn of `provider`; false when
   * another submission already holds it. One waiter per provider and process keeps the queue's order: a
   * job waiting in the processor is served before any job still in the queue, so letting every
   * refused job wait would let a large batch's items overtake a newer batch's earlier ones (see
   * the fairness rules in the README). Release the claim with `unclaim` when done waiting.
   */
  claim(provider: string): boolean {
    if (this.stopped || this.claimed.has(provider)) return false;
    this.claimed.add(provider);
    return true;
  }

  unclaim(provider: string): void {
    this.claimed.delete(provider);
  }

  /** Resolves true when a slot of `provider` is freed within `ms`, false when the time runs out first. */
  wait(provider: string, ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiters = this.waiters.get(provider) ?? new Set();
      this.waiters.set(provider, waiters);
      const done = (freed: boolean) => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve(freed);
      };
      const timer = setTimeout(() => done(false), ms);
      waiters.add(done);
    });
  }

  /** Ends every wait at once (answering false) and every later one too: the worker is shutting down. */
  stop(): void {
    this.stopped = true;
    for (const set of this.waiters.values()) for (const done of [...set]) done(false);
  }

  async close(): Promise<void> {
    this.stop();
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  /** Drops the subscriber's connection at once, without the QUIT that a hung Redis would never answer. */
  disconnect(): void {
    this.stop();
    this.subscriber.disconnect();
  }

  private wake(provider: string): void {
    const set = this.waiters.get(provider);
    if (set) for (const done of [...set]) done(true);
  }
}
