import { ProviderError, type TaskStatus } from '@genqueue/model';
import { describe, expect, it } from 'vitest';
import { normalizeLiblibStatus } from './status.ts';

const IMG = 'https://liblibai-online.liblib.cloud/sd-images/a.png';
const VID = 'https://liblibai-online.liblib.cloud/video/a.mp4';
const base = { generateUuid: '8dcbfa2997444899b71357ccb7db378b', percentCompleted: 0, generateMsg: '' };

const TABLE: [label: string, data: Record<string, unknown>, expected: TaskStatus][] = [
  ['1 waiting', { ...base, generateStatus: 1 }, { state: 'queued', providerStatus: '1' }],
  ['2 running', { ...base, generateStatus: 2 }, { state: 'running', providerStatus: '2' }],
  [
    '3 generated (not yet success)',
    { ...base, generateStatus: 3, images: [] },
    { state: 'running', providerStatus: '3' },
  ],
  [
    '4 under review (not a failure)',
    { ...base, generateStatus: 4 },
    { state: 'running', providerStatus: '4' },
  ],
  [
    '2 with percentCompleted 1 is still running',
    { ...base, generateStatus: 2, percentCompleted: 1 },
    { state: 'running', providerStatus: '2', progress: 1 },
  ],
  [
    '5 with images (manual example)',
    {
      ...base,
      generateStatus: 5,
      pointsCost: 10,
      accountBalance: 1356402,
      images: [{ imageUrl: IMG, seed: 12345, auditStatus: 3 }],
    },
    {
      state: 'succeeded',
      providerStatus: '5',
      outputs: [{ url: IMG, kind: 'image', seed: 12345 }],
      pointsCost: 10,
      accountBalance: 1356402,
    },
  ],
  [
    '5 keeps only images that passed review; IMG1 has no seed',
    {
      ...base,
      generateStatus: 5,
      pointsCost: 58,
      accountBalance: 0,
      images: [
        { imageUrl: `${IMG}?1`, auditStatus: 4 },
        { imageUrl: `${IMG}?2`, auditStatus: 3 },
        { imageUrl: `${IMG}?3`, auditStatus: 5 },
      ],
    },
    {
      state: 'succeeded',
      providerStatus: '5',
      outputs: [{ url: `${IMG}?2`, kind: 'image' }],
      pointsCost: 58,
      accountBalance: 0,
    },
  ],
  [
    '5 with a video (Kling)',
    {
      ...base,
      generateStatus: 5,
      pointsCost: 300,
      videos: [{ videoUrl: VID, coverPath: `${IMG}`, auditStatus: 3 }],
    },
    // coverPath (002 §10.4.2) travels with the video, to be stored beside it.
    {
      state: 'succeeded',
      providerStatus: '5',
      outputs: [{ url: VID, kind: 'video', coverUrl: IMG }],
      pointsCost: 300,
    },
  ],
  [
    // 002 §3.2: the list holds only approved images, so one without auditStatus is approved.
    '5 with images that leave auditStatus out',
    { ...base, generateStatus: 5, images: [{ imageUrl: IMG }, { imageUrl: `${IMG}?2`, auditStatus: 2 }] },
    {
      state: 'succeeded',
      providerStatus: '5',
      outputs: [
        { url: IMG, kind: 'image' },
        { url: `${IMG}?2`, kind: 'image' },
      ],
    },
  ],
  [
    '6 with the balance after the refund',
    { ...base, generateStatus: 6, generateMsg: 'boom', pointsCost: 0, accountBalance: 42 },
    {
      state: 'failed',
      providerStatus: '6',
      error: { code: 'liblib_generate_failed', message: 'boom' },
      pointsCost: 0,
      accountBalance: 42,
    },
  ],
  [
    '5 from ComfyUI with images and an empty videos list',
    {
      ...base,
      generateStatus: 5,
      images: [{ imageUrl: IMG, auditStatus: 3, nodeId: '91', outputName: 'SaveImage' }],
      videos: [],
    },
    { state: 'succeeded', providerStatus: '5', outputs: [{ url: IMG, kind: 'image' }] },
  ],
  [
    '5 with an empty image list: all blocked by review',
    { ...base, generateStatus: 5, pointsCost: 29, images: [] },
    {
      state: 'failed',
      providerStatus: '5',
      error: { code: 'liblib_review_blocked', message: 'every output was blocked by content review' },
      pointsCost: 29,
    },
  ],
  [
    '5 where no image passed review, with the provider reason',
    { ...base, generateStatus: 5, generateMsg: 'sensitive', images: [{ imageUrl: IMG, auditStatus: 4 }] },
    {
      state: 'failed',
      providerStatus: '5',
      error: {
        code: 'liblib_review_blocked',
        message: 'every output was blocked by content review: sensitive',
      },
    },
  ],
  [
    '5 with no images field at all',
    { ...base, generateStatus: 5 },
    {
      state: 'failed',
      providerStatus: '5',
      error: { code: 'liblib_review_blocked', message: 'every output was blocked by content review' },
    },
  ],
  [
    '6 failed with generateMsg',
    { ...base, generateStatus: 6, generateMsg: 'checkpoint and LoRA mismatch' },
    {
      state: 'failed',
      providerStatus: '6',
      error: { code: 'liblib_generate_failed', message: 'checkpoint and LoRA mismatch' },
    },
  ],
  [
    '6 failed without a message',
    { ...base, generateStatus: 6, generateMsg: null },
    {
      state: 'failed',
      providerStatus: '6',
      error: { code: 'liblib_generate_failed', message: 'generation failed' },
    },
  ],
  [
    '7 timed out',
    { ...base, generateStatus: 7 },
    {
      state: 'failed',
      providerStatus: '7',
      error: {
        code: 'liblib_generate_timeout',
        message: 'timed out: no result 30 minutes after creation; points refunded',
      },
      pointsCost: 0,
    },
  ],
  [
    // 002 §4.3.1: a timed-out task's frozen points are unfrozen, so none count as spent
    '7 timed out with pointsCost reported: the points were refunded',
    { ...base, generateStatus: 7, pointsCost: 58 },
    {
      state: 'failed',
      providerStatus: '7',
      error: {
        code: 'liblib_generate_timeout',
        message: 'timed out: no result 30 minutes after creation; points refunded',
      },
      pointsCost: 0,
    },
  ],
  [
    'running, percentCompleted passed on as progress',
    { generateStatus: 2, percentCompleted: 0.37 },
    { state: 'running', providerStatus: '2', progress: 0.37 },
  ],
  [
    'running, percentCompleted as a string',
    { generateStatus: 3, percentCompleted: '0.5' },
    { state: 'running', providerStatus: '3', progress: 0.5 },
  ],
  // 002 §3.2's own example answers percentCompleted 0 at status 5: 0 and junk mean "not filled".
  [
    'running, percentCompleted 0 is not progress',
    { generateStatus: 2, percentCompleted: 0 },
    { state: 'running', providerStatus: '2' },
  ],
  [
    'running, percentCompleted 1 is not an end',
    { generateStatus: 4, percentCompleted: 1 },
    { state: 'running', providerStatus: '4', progress: 1 },
  ],
  [
    'running, percentCompleted above 1 is ignored',
    { generateStatus: 2, percentCompleted: 1.5 },
    { state: 'running', providerStatus: '2' },
  ],
  [
    'running, percentCompleted junk is ignored',
    { generateStatus: 2, percentCompleted: 'half' },
    { state: 'running', providerStatus: '2' },
  ],
  [
    'waiting, percentCompleted ignored',
    { generateStatus: 1, percentCompleted: 0.2 },
    { state: 'queued', providerStatus: '1' },
  ],
  [
    'numbers sent as strings',
    { generateStatus: '5', pointsCost: '10', images: [{ imageUrl: IMG, seed: '7', auditStatus: '3' }] },
    {
      state: 'succeeded',
      providerStatus: '5',
      outputs: [{ url: IMG, kind: 'image', seed: 7 }],
      pointsCost: 10,
    },
  ],
];

describe('normalizeLiblibStatus (002 §4.3)', () => {
  it.each(TABLE)('%s', (_label, data, expected) => {
    expect(normalizeLiblibStatus(data)).toEqual(expected);
  });

  it.each([
    ['no generateStatus', { generateUuid: 'x' }],
    ['unknown generateStatus 0', { generateStatus: 0 }],
    ['unknown generateStatus 8', { generateStatus: 8 }],
    ['null data', null],
    ['images not a list', { generateStatus: 5, images: 'nope' }],
  ])('rejects %s as a transient provider error', (_label, data) => {
    try {
      normalizeLiblibStatus(data);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).errorClass).toBe('transient');
    }
  });
});
