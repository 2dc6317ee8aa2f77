import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { SlotSignal } from './slot-signal.ts';

// Real Redis pub/sub on a unique channel prefix; connections closed afterwards.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pair() {
  const prefix = `{gqtest-slots-${randomUUID()}}`;
  const connections = [
    new Redis({ host: '127.0.0.1', port: 6379 }),
    new Redis({ host: '127.0.0.1', port: 6379 }),
  ];
  const signals = connections.map((redis) => new SlotSignal(redis, prefix));
  await Promise.all(signals.map((s) => s.start()));
  cleanups.push(async () => {
    await Promise.all(signals.map((s) => s.close()));
    await Promise.all(connections.map((c) => c.quit()));
  });
  return signals as [SlotSignal, SlotSignal];
}

describe('SlotSignal', () => {
  it('lets one submission per provider wait in a process, so the rest keep their place in the queue', async () => {
    const [signal] = await pair();
    expect(signal.claim('liblib')).toBe(true);
    expect(signal.claim('liblib')).toBe(false);
    expect(signal.claim('replicate')).toBe(true);
    signal.unclaim('liblib');
    expect(signal.claim('liblib')).toBe(true);
    signal.stop();
    signal.unclaim('replicate');
    expect(signal.claim('replicate')).toBe(false);
  });

  it("wakes another process's waiter for the same provider at once", async () => {
    const [waiter, releaser] = await pair();
    const started = performance.now();
    const woken = waiter.wait('liblib', 10_000);
    await releaser.freed('liblib');
    expect(await woken).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('lets a wait run out when only another provider frees a slot', async () => {
    const [waiter, releaser] = await pair();
    const woken = waiter.wait('liblib', 300);
    await releaser.freed('replicate');
    expect(await woken).toBe(false);
  });

  it('ends every wait at stop(), and answers later ones at once', async () => {
    const [waiter] = await pair();
    const woken = waiter.wait('liblib', 60_000);
    waiter.stop();
    expect(await woken).toBe(false);
    expect(await waiter.wait('liblib', 60_000)).toBe(false);
  });
});
