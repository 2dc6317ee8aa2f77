import { randomUUID } from 'node:crypto';
import { type Clock, deleteKeysWithPrefix } from '@genqueue/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { requestSize, TaskDurations } from './task-durations.ts';

// Real Redis under a unique prefix, deleted afterwards.
const redis = new Redis({ host: '127.0.0.1', port: 6379 });
const prefix = `{gqtest-durations-${randomUUID()}}`;
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async () => undefined,
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('requestSize', () => {
  it('keeps the fields that change a generation time, in a stable order, and nothing else', () => {
    expect(requestSize({ prompt: 'a fox', imgCount: 2, aspectRatio: '16:9', seed: 4 })).toBe(
      'aspectRatio=16:9,imgCount=2',
    );
    expect(requestSize({ aspectRatio: '16:9', imgCount: 2 })).toBe('aspectRatio=16:9,imgCount=2');
    expect(requestSize({ imageSize: { width: 1024, height: 768 }, imgCount: 1 })).toBe(
      'imageSize=1024x768,imgCount=1',
    );
    expect(requestSize({ prompt: 'only a prompt' })).toBe('default');
  });
});

describe('TaskDurations', () => {
  it('keeps the latest durations per kind, sorted, and kinds apart', async () => {
    const durations = new TaskDurations({ redis, prefix, samples: 4, cacheMs: 0 });
    const kind = { provider: 'liblib', operation: 'kontext.text2img', size: 'default' };
    for (const ms of [3_000, 5_000, 4_000, 3_500, 4_500]) await durations.record(kind, ms);
    expect(await durations.durations(kind)).toEqual([3_500, 4_000, 4_500, 5_000]); // the oldest left
    expect(await durations.durations({ ...kind, size: 'imgCount=4' })).toEqual([]);
    expect(await durations.durations({ ...kind, operation: 'img1.text2img' })).toEqual([]);
  });

  it('is shared by worker processes, each reading it again once its cache is cacheMs old', async () => {
    const clock = manualClock();
    const kind = { provider: 'liblib', operation: 'kontext.text2img', size: 'cache-test' };
    const reader = new TaskDurations({ redis, prefix, cacheMs: 5_000, clock });
    const writer = new TaskDurations({ redis, prefix, clock: manualClock() });
    await writer.record(kind, 1_000);
    expect(await reader.durations(kind)).toEqual([1_000]);
    await writer.record(kind, 2_000);
    clock.advance(4_999);
    expect(await reader.durations(kind)).toEqual([1_000]);
    clock.advance(1);
    expect(await reader.durations(kind)).toEqual([1_000, 2_000]);
  });

  it('ignores durations that cannot be right', async () => {
    const durations = new TaskDurations({ redis, prefix, cacheMs: 0 });
    const kind = { provider: 'liblib', operation: 'kontext.text2img', size: 'bad' };
    await durations.record(kind, -5);
    await durations.record(kind, Number.NaN);
    expect(await durations.durations(kind)).toEqual([]);
  });
});
