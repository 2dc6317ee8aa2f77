import { randomUUID } from 'node:crypto';
import { deleteKeysWithPrefix } from '@genqueue/core';
import { AccountPool } from '@genqueue/limiter';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PauseWatch } from './pause-watch.ts';

// Real Redis, a unique key prefix; keys and connection dropped afterwards.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup() {
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  const prefix = `{gqtest-pausewatch-${randomUUID()}}`;
  cleanups.push(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });
  const pool = new AccountPool({
    redis,
    keyPrefix: prefix,
    accounts: [
      { id: 'a', submitQps: 1, maxInFlight: 5 },
      { id: 'b', submitQps: 1, maxInFlight: 5 },
    ],
    probeIntervalMs: 60_000,
  });
  const lines: { level: number; msg: string; accounts?: { id: string; reason?: string }[] }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { pool, watch: new PauseWatch(logger), lines };
}

describe('PauseWatch', () => {
  it('logs once when every account is paused, once when one is back, and not for a partial pause', async () => {
    const { pool, watch, lines } = setup();
    await pool.pause('a', '100021: not enough points');
    // One account paused, the gate says "paused" (its probe is the soonest room): not all paused.
    await watch.refused('liblib', pool, 'paused');
    expect(lines).toEqual([]);
    expect(watch.isAllPaused('liblib')).toBe(false);

    await pool.pause('b', 'operator', { manual: true });
    await Promise.all([1, 2, 3].map(() => watch.refused('liblib', pool, 'paused')));
    await watch.refused('liblib', pool, 'paused');
    expect(lines.map((l) => l.msg)).toEqual([
      'liblib: every account is paused; its jobs wait until a probe succeeds or an operator resumes one',
    ]);
    expect(lines[0]!.level).toBe(50); // error
    expect(lines[0]!.accounts?.map((a) => [a.id, a.reason])).toEqual([
      ['a', '100021: not enough points'],
      ['b', 'operator'],
    ]);
    expect(watch.isAllPaused('liblib')).toBe(true);

    watch.granted('liblib');
    watch.granted('liblib');
    expect(lines.map((l) => l.msg).slice(1)).toEqual([
      'liblib: an account is submitting again; submissions resume',
    ]);
    expect(watch.isAllPaused('liblib')).toBe(false);
  });

  it('takes a refusal for lack of room as "an account is back"', async () => {
    const { pool, watch, lines } = setup();
    await pool.pause('a', 'x');
    await pool.pause('b', 'y');
    await watch.refused('liblib', pool, 'paused');
    await watch.refused('liblib', pool, 'in_flight');
    expect(lines.map((l) => l.msg)).toHaveLength(2);
    expect(watch.isAllPaused('liblib')).toBe(false);
  });
});
