/**
 * Status normalization: a LiblibAI status `data` object (002 §3.2, §4.3, §5.3, §8.2, §10.4) to
 * core's `TaskStatus`.
 *
 * `generateStatus`: 1 waiting → queued; 2 running, 3 generated, 4 under review → running;
 * 5 succeeded; 6 failed (`generateMsg` says why); 7 timed out (no result 30 minutes after creation;
 * points refunded). `percentCompleted` (§3.2: "暂未实现", not implemented yet, and filled by
 * some endpoints only) is passed on as a running task's `progress` when it lies in (0, 1], for the poll schedule to extrapolate the task's end; it never decides that a task ended:
 * clients that waited for it to reach 1 hung.
 */
import { ProviderError, type ProviderOutput, type TaskStatus } from '@genqueue/model';
import { z } from 'zod';
import { LIBLIB_PROVIDER } from './errors.ts';

/**
 * `auditStatus` (002 §4.3.2): 1 pending, 2 reviewing, 3 passed, 4 blocked, 5 review failed. Only 4
 * and 5 reject an output.
 */
const AUDIT_REJECTED: ReadonlySet<number> = new Set([4, 5]);

const numberish = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .transform(Number),
]);

const statusDataSchema = z
  .object({
    generateUuid: z.string().optional(),
    generateStatus: numberish,
    generateMsg: z.string().nullish(),
    // Anything but a number in [0, 1] is as good as absent: it only tunes the poll schedule.
    percentCompleted: numberish.nullish().catch(undefined),
    pointsCost: numberish.nullish(),
    accountBalance: numberish.nullish(),
    images: z
      .array(
        z
          .object({
            imageUrl: z.string().nullish(),
            seed: numberish.nullish(),
            auditStatus: numberish.nullish(),
          })
          .passthrough(),
      )
      .nullish(),
    videos: z
      .array(
        z
          .object({
            videoUrl: z.string().nullish(),
            // 002 §10.4.2: the video's cover image.
            coverPath: z.string().nullish(),
            auditStatus: numberish.nullish(),
          })
          .passthrough(),
      )
      .nullish(),
  })
  .passthrough();

/** Job-view error codes for tasks that ended without a usable result. */
export const LIBLIB_TASK_ERROR_CODES = {
  /** generateStatus 6. */
  failed: 'liblib_generate_failed',
  /** generateStatus 7. */
  timeout: 'liblib_generate_timeout',
  /** generateStatus 5 with no output that passed review. */
  reviewBlocked: 'liblib_review_blocked',
} as const;

/**
 * Normalizes the `data` of a status response. Throws a `transient` `ProviderError` when `data`
 * does not look like a status (malformed answer, or a `generateStatus` the manual does not know).
 */
export function normalizeLiblibStatus(data: unknown): TaskStatus {
  const parsed = statusDataSchema.safeParse(data);
  if (!parsed.success) {
    throw new ProviderError({
      provider: LIBLIB_PROVIDER,
      errorClass: 'transient',
      message: `malformed status response: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'data'} ${i.message}`).join('; ')}`,
    });
  }
  const d = parsed.data;
  const providerStatus = String(d.generateStatus);
  const pointsCost = d.pointsCost ?? undefined;
  const accountBalance = d.accountBalance ?? undefined;
  // 002 §3.2: every status answer carries the account's balance; failures too.
  const balanceField = accountBalance === undefined ? {} : { accountBalance };
  const providerMessage = d.generateMsg?.trim() || undefined;

  switch (d.generateStatus) {
    case 1:
      return { state: 'queued', providerStatus };
    case 2:
    case 3:
    case 4: {
      // 3 "generated" and 4 "under review" are not success yet: outputs appear at 5.
      // 1 while still running says the end is near (the review may still take a while).
      const progress = d.percentCompleted;
      return progress != null && progress > 0 && progress <= 1
        ? { state: 'running', providerStatus, progress }
        : { state: 'running', providerStatus };
    }
    case 5: {
      const outputs = collectOutputs(d);
      if (outputs.length === 0) {
        // The provider lists only images that passed review: an empty list at 5 means every one
        // was blocked. A failure with a clear reason, not a success with nothing.
        return {
          state: 'failed',
          providerStatus,
          error: {
            code: LIBLIB_TASK_ERROR_CODES.reviewBlocked,
            message: providerMessage
              ? `every output was blocked by content review: ${providerMessage}`
              : 'every output was blocked by content review',
          },
          ...(pointsCost === undefined ? {} : { pointsCost }),
          ...balanceField,
        };
      }
      return {
        state: 'succeeded',
        providerStatus,
        outputs,
        ...(pointsCost === undefined ? {} : { pointsCost }),
        ...balanceField,
      };
    }
    case 6:
      return {
        state: 'failed',
        providerStatus,
        error: { code: LIBLIB_TASK_ERROR_CODES.failed, message: providerMessage ?? 'generation failed' },
        ...(pointsCost === undefined ? {} : { pointsCost }),
        ...balanceField,
      };
    case 7:
      return {
        state: 'failed',
        providerStatus,
        error: {
          code: LIBLIB_TASK_ERROR_CODES.timeout,
          message: `timed out: no result 30 minutes after creation; points refunded${providerMessage ? ` (${providerMessage})` : ''}`,
        },
        // 002 §4.3.1: the task's frozen points are unfrozen (解冻积分), so it kept none, whatever
        // `pointsCost` says: counting them would stop a `maxPoints` batch early
        pointsCost: 0,
        ...balanceField,
      };
    default:
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        errorClass: 'transient',
        message: `unknown generateStatus ${providerStatus}`,
      });
  }
}

function collectOutputs(d: z.infer<typeof statusDataSchema>): ProviderOutput[] {
  // 002 §3.2: the list holds only images that passed review (图片列表，只提供审核通过的图片), so an
  // output without auditStatus is approved; only an explicit rejection (4, 5) drops it.
  const passed = (auditStatus: number | null | undefined) =>
    auditStatus == null || !AUDIT_REJECTED.has(auditStatus);
  const outputs: ProviderOutput[] = [];
  for (const img of d.images ?? []) {
    if (!img.imageUrl || !passed(img.auditStatus)) continue;
    outputs.push({ url: img.imageUrl, kind: 'image', ...(img.seed == null ? {} : { seed: img.seed }) });
  }
  for (const video of d.videos ?? []) {
    if (!video.videoUrl || !passed(video.auditStatus)) continue;
    outputs.push({
      url: video.videoUrl,
      kind: 'video',
      ...(video.coverPath ? { coverUrl: video.coverPath } : {}),
    });
  }
  return outputs;
}
