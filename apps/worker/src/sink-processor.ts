/**
 * The sink step: stream each output of a finished task into S3, then mark the job succeeded.
 * Provider URLs expire (LiblibAI: 7 days, Replicate: an hour), so this runs as soon as the task
 * ends. The outputs come from the job record (`taskOutputs`, written in the step that recorded the
 * task's end, removed when the job is terminal), so no provider URL or inline image is kept in a
 * BullMQ job. Failures retry with backoff; a job whose outputs cannot be stored fails with the reason.
 */
import { createHash } from 'node:crypto';
import { type SinkPayload, type StoredOutput, sinkPayloadSchema } from '@genqueue/core';
import { SinkError } from '@genqueue/sink';
import { type Job, UnrecoverableError } from 'bullmq';
import type { WorkerContext } from './context.ts';
import { failJob } from './task-end.ts';

/** What a sink job returns to BullMQ (shown in Bull Board): the stored keys. */
export interface SinkReturn {
  stored: { key: string; thumbnail?: string }[];
}

export async function processSink(
  ctx: WorkerContext,
  job: Job<SinkPayload>,
): Promise<SinkReturn | undefined> {
  const { jobId, run = 0 } = sinkPayloadSchema.parse(job.data);
  const record = await ctx.store.getJob(jobId);
  if (record?.state !== 'storing' || record.run !== run) return;
  if (record.cancelRequested) {
    const error = record.error ?? { code: 'canceled', message: 'canceled by user' };
    await ctx.lifecycle.settle(await ctx.store.cancel(jobId, error, ['storing']));
    return;
  }
  const outputs = record.taskOutputs ?? [];
  if (outputs.length === 0) {
    await failJob(ctx, jobId, { code: 'storage_failed', message: 'the task outputs were not recorded' });
    return;
  }

  const prompt = typeof record.input.prompt === 'string' ? record.input.prompt : JSON.stringify(record.input);
  const metadata: Record<string, string> = {
    'genqueue-job-id': jobId,
    'provider-task-id': record.providerTaskId ?? '',
    'prompt-sha256': createHash('sha256').update(prompt).digest('hex'),
  };
  const stored: StoredOutput[] = [];
  try {
    for (const [n, output] of outputs.entries()) {
      const key = `${record.batchId ?? 'jobs'}/${jobId}/${n}`;
      const { thumbnail, ...object } = await ctx.sink.store({
        url: output.url,
        key,
        metadata: output.seed === undefined ? metadata : { ...metadata, seed: String(output.seed) },
        contentTypeHint: output.contentType,
        signal: ctx.shutdownSignal,
      });
      // A video's cover (LiblibAI `coverPath`, 002 §10.4.2) is a result too: stored beside the
      // video, and its thumbnail is the video's preview. Best effort: a cover that cannot be read
      // never fails a job whose video is stored.
      const cover = output.coverUrl
        ? await ctx.sink
            .store({ url: output.coverUrl, key: `${key}-cover`, metadata, signal: ctx.shutdownSignal })
            .catch(async (error: unknown) => {
              const message = error instanceof Error ? error.message : String(error);
              ctx.logger.warn({ jobId, key, err: message }, 'sink: cover image not stored');
              await job.log(`cover of ${key} not stored: ${message}`);
              return undefined;
            })
        : undefined;
      const preview = thumbnail ?? cover?.thumbnail;
      stored.push({
        ...object,
        ...(output.seed === undefined ? {} : { seed: output.seed }),
        ...(preview ? { thumbnail: { key: preview.key } } : {}),
        ...(cover ? { cover: { key: cover.key, contentType: cover.contentType, bytes: cover.bytes } } : {}),
      });
      ctx.metrics?.sinkStored(object.bytes); // metrics
      await job.log(`stored ${object.key} (${object.bytes} bytes${preview ? ', thumbnail' : ''})`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const retryable = !(error instanceof SinkError) || error.retryable;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    ctx.metrics?.sinkError(retryable && !lastAttempt); // metrics
    if (!retryable || lastAttempt) {
      await failJob(ctx, jobId, {
        code: 'storage_failed',
        message: `could not store the outputs: ${message}`,
      });
      throw new UnrecoverableError(message);
    }
    ctx.logger.warn(
      { jobId, err: message, attempt: job.attemptsMade + 1 },
      'sink: storing failed; will retry',
    );
    throw error;
  }
  const result = await ctx.store.stored(jobId, stored);
  if (result.ok) await ctx.hooks?.at('stored', jobId);
  await ctx.lifecycle.settle(result);
  const noun = outputs.every((o) => o.kind === 'image') ? 'image' : 'file';
  await job.log(`stored ${stored.length} ${noun}${stored.length === 1 ? '' : 's'}; job succeeded`);
  ctx.logger.debug({ jobId, outputs: stored.length }, 'job:succeeded');
  return {
    stored: stored.map((o) => ({ key: o.key, ...(o.thumbnail ? { thumbnail: o.thumbnail.key } : {}) })),
  };
}
