import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, uniquePrefix } from '../../../test/support/redis.ts';
import { FairShare } from './fair-share.ts';

let redis: Redis;
let prefix: string;
let fair: FairShare;

beforeAll(() => {
  redis = connectRedis();
  prefix = uniquePrefix('fair');
  fair = new FairShare({ redis, prefix, weightOf: (t) => (t === 'heavy' ? 2 : 1), maxWeight: 2 });
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

/** The job store's count of each tenant's queued jobs, as a commit or a create leaves it. */
const queued = (tenant: string, n: number) => redis.hincrby(`${prefix}:tenant-queued`, tenant, n);

/** Merges streams by priority, earlier streams first on ties (BullMQ: FIFO within a priority). */
function order(streams: [string, number[]][]): string {
  const all = streams.flatMap(([name, priorities], s) => priorities.map((p, i) => ({ name, p, s, i })));
  all.sort((a, b) => a.p - b.p || a.s - b.s || a.i - b.i);
  return all.map((x) => x.name).join('');
}

describe('fair share', () => {
  it('interleaves tenants by weight, a later batch of a busy tenant after its own work', async () => {
    await queued('heavy', 12);
    const heavy = await fair.batch('liblib', 'heavy', 'b_heavy1', 12);
    await queued('light', 6);
    const light = await fair.batch('liblib', 'light', 'b_light1', 6);
    const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
    // weight 2 against 1: two of heavy's for each of light's
    expect(
      order([
        ['h', range(12, heavy)],
        ['l', range(6, light)],
      ]).slice(0, 9),
    ).toBe('hhlhhlhhl');

    // heavy posts again while light waits: its new batch comes after its own queued work
    await queued('heavy', 4);
    const again = await fair.batch('liblib', 'heavy', 'b_heavy2', 4);
    expect(again(0)).toBeGreaterThan(heavy(11));
    // asked again (an enqueue repeated after a crash), the same batch gets the same priorities
    const repeated = await fair.batch('liblib', 'heavy', 'b_heavy2', 4);
    expect(range(4, repeated)).toEqual(range(4, again));
  });

  it('gives a single job no priority while its tenant is the only one with work, one otherwise', async () => {
    const alone = uniquePrefix('fair-alone');
    const f = new FairShare({ redis, prefix: alone });
    await redis.hincrby(`${alone}:tenant-queued`, 'solo', 1);
    expect(await f.single('liblib', 'solo', 'j_1')).toBeUndefined();
    await redis.hincrby(`${alone}:tenant-queued`, 'other', 1);
    await redis.hincrby(`${alone}:tenant-queued`, 'solo', 1);
    expect(await f.single('liblib', 'solo', 'j_2')).toBeGreaterThanOrEqual(1);
    await deletePrefix(redis, alone);
  });

  it('starts a tenant that had nothing queued at the current virtual time, not at 0', async () => {
    const at = uniquePrefix('fair-late');
    const f = new FairShare({ redis, prefix: at });
    await redis.hincrby(`${at}:tenant-queued`, 'early', 1000);
    const early = await f.batch('liblib', 'early', 'b_early', 1000);
    await f.served('liblib', early(499));
    await redis.hincrby(`${at}:tenant-queued`, 'late', 10);
    const late = await f.batch('liblib', 'late', 'b_late', 10);
    // the newcomer interleaves with what is being served now instead of taking 500 turns first
    expect(late(0)).toBe(early(500));
    await deletePrefix(redis, at);
  });
});
