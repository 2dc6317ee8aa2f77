import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusQueryCap } from './index.ts';

// Real Redis, one key prefix per test; keys deleted and connections closed afterwards.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(maxPerSecond: number, connections = 1) {
  const keyPrefix = `genq:test:status-cap:{${randomUUID()}}`;
  const clients = Array.from({ length: connections }, () => new Redis({ host: '127.0.0.1', port: 6379 }));
  cleanups.push(async () => {
    await clients[0]!.del(`${keyPrefix}:status-queries`);
    await Promise.all(clients.map((client) => client.quit()));
  });
  return clients.map((redis) => new StatusQueryCap({ redis, keyPrefix, maxPerSecond }));
}

describe('StatusQueryCap', () => {
  it('grants maxPerSecond queries, then refuses until the oldest leaves the sliding second', async () => {
    const [cap] = setup(3);
    const started = performance.now();
    for (let i = 0; i < 3; i++) expect(await cap!.tryTake()).toEqual({ granted: true });
    const refused = await cap!.tryTake();
    expect(refused.granted).toBe(false);
    const retryInMs = refused.granted ? 0 : refused.retryInMs;
    // The window is 1 s plus a 10 ms margin, counted from the first grant.
    expect(retryInMs).toBeGreaterThan(1_010 - (performance.now() - started) - 5);
    expect(retryInMs).toBeLessThanOrEqual(1_012);
    await delay(retryInMs);
    expect(await cap!.tryTake()).toEqual({ granted: true });
  });

  it('holds across processes: of many simultaneous takes, exactly maxPerSecond are granted', async () => {
    const caps = setup(5, 4);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => caps[i % caps.length]!.tryTake()));
    expect(answers.filter((a) => a.granted)).toHaveLength(5);
  });

  it('keeps every second at or under the cap while workers keep asking', async () => {
    const caps = setup(10, 3);
    const redis = new Redis({ host: '127.0.0.1', port: 6379 });
    cleanups.push(() => redis.quit());
    const redisNow = async () => {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1000 + Number(micros) / 1000;
    };
    let grants = 0;
    const from = await redisNow();
    const until = performance.now() + 2_500;
    await Promise.all(
      caps.map(async (cap) => {
        while (performance.now() < until) {
          const answer = await cap.tryTake();
          if (answer.granted) grants++;
          else await delay(Math.min(answer.retryInMs, 20));
        }
      }),
    );
    const to = await redisNow();
    // Every take ran inside [from, to] by Redis TIME, which is the cap's clock: with 10 per
    // 1010 ms window, at most 10 per window begun in that span (timing on this side would blur
    // it on a busy machine). And the cap does not starve them: the first window is used in full.
    const windows = Math.floor((to - from) / 1_010) + 1;
    expect(grants).toBeLessThanOrEqual(10 * windows);
    expect(grants).toBeGreaterThanOrEqual(10);
  });

  it('refuses a cap that is not a positive integer', () => {
    const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    cleanups.push(async () => redis.disconnect());
    expect(() => new StatusQueryCap({ redis, keyPrefix: 'x', maxPerSecond: 0 })).toThrow(RangeError);
    expect(() => new StatusQueryCap({ redis, keyPrefix: 'x', maxPerSecond: 1.5 })).toThrow(RangeError);
  });
});
