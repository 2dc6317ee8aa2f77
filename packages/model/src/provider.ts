/**
 * The one provider port (conventions §4). Each provider is one adapter file in
 * `packages/providers/src/`, behind this interface; no wire format leaks past it.
 *
 * Glossary:
 * - **job**: one genqueue request (one prompt), identified by a genqueue id.
 * - **task**: the provider's unit of work for a job, identified by the provider's task id
 *   (LiblibAI `generateUuid`, Replicate prediction id, ...).
 * - **operation**: what a job asks of a provider, e.g. `kontext.text2img`.
 * - **in flight**: a task the provider counts against the account's concurrency limit, from its
 *   submission until it ends.
 */
import type { z } from 'zod';
import type { JobError } from './errors.ts';

/** What an operation takes and produces. */
export interface OperationSpec {
  /**
   * Input schema in the provider's own field names, with the documented ranges and enums.
   * Unknown fields pass through (`.passthrough()`), so new provider parameters keep working.
   */
  schema: z.ZodType<Record<string, unknown>, z.ZodTypeDef, unknown>;
  /** What the operation produces. */
  output: 'image' | 'video' | 'data';
  /** One line for error messages and docs. */
  description: string;
}

/** One result file of a finished task. */
export interface ProviderOutput {
  /** An http(s) URL, or a `data:` URL for providers that answer with base64. */
  url: string;
  kind: 'image' | 'video';
  seed?: number;
  /** The content type the provider claims, if any; the sink checks it against the bytes. */
  contentType?: string;
  /** A video's cover image, where the provider gives one: its thumbnail is made from it. */
  coverUrl?: string;
}

/** A task's status, normalized. `providerStatus` keeps the provider's own value for the job view. */
export type TaskStatus =
  | {
      state: 'queued' | 'running';
      providerStatus: string;
      /**
       * How far the generation is, in (0, 1], when the provider says so (LiblibAI
       * `percentCompleted`, which many endpoints leave at 0). A hint for when to ask again, never a
       * sign that the task ended: 1 only says the end is near.
       */
      progress?: number;
    }
  | {
      state: 'succeeded';
      providerStatus: string;
      outputs: ProviderOutput[];
      /** Points the task cost (the provider kept), when it reports them (LiblibAI `pointsCost`). */
      pointsCost?: number;
      /** The account's balance after the task, when reported (LiblibAI `accountBalance`). */
      accountBalance?: number;
    }
  | {
      state: 'failed';
      providerStatus: string;
      error: JobError;
      /** Points the provider kept for the failed task; absent when it refunded them. */
      pointsCost?: number;
      /** The account's balance after the task, when reported (LiblibAI `accountBalance`). */
      accountBalance?: number;
    }
  | { state: 'canceled'; providerStatus: string };

/** Terminal task states. */
export function isTaskEnded(status: TaskStatus): boolean {
  return status.state === 'succeeded' || status.state === 'failed' || status.state === 'canceled';
}

/** What `submit` answers. */
export interface SubmitResult {
  /** The provider's task id. Saved before the submit step completes (crash safety). */
  taskId: string;
  /** Set when the task ended at once: synchronous providers, or an immediate answer. */
  status?: TaskStatus;
}

/** Per-call context. */
export interface CallContext {
  /** genqueue's job id, for logs and provider-side idempotency where supported. */
  jobId: string;
  /** Aborts the call (shutdown, cancel). */
  signal?: AbortSignal;
  /**
   * Given to `submit`. A synchronous adapter must have it called once the request that creates the
   * task has been written to the connection (`requestSent` of the HTTP layer), and awaited before
   * `submit` returns: the provider's QPS window counts from about that moment, and the answer only
   * comes when the generation ends. Called after the connection is set up, never before: a new
   * connection's handshake would otherwise count as time on the way. Polled adapters need not call
   * it: their quick answer closes the window's turn.
   */
  requestSent?: () => Promise<void>;
}

/**
 * A provider adapter. Every method throws `ProviderError` and nothing else, except
 * `CallAbortedError` when `CallContext.signal` aborted the call.
 */
export interface Provider {
  /** Provider name as used in jobs and configuration, e.g. `liblib`, `liblib-v1`. */
  readonly name: string;
  /** Operations by name, e.g. `kontext.text2img`. */
  readonly operations: Readonly<Record<string, OperationSpec>>;
  /**
   * Optional: does the slow part of a submission ahead of time (uploads of inline images)
   * and returns the input ready to submit. The worker calls it before it takes a submission slot
   * and stores the result on the job, because the provider measures its QPS window at the request
   * that creates the task: a slot granted before a two-second upload would be spent two seconds
   * late, squeezing the gap to the next submission.
   */
  prepare?(
    operation: string,
    input: Record<string, unknown>,
    ctx: CallContext,
  ): Promise<Record<string, unknown>>;
  /** Submits one task. `input` has already been parsed (and prepared) for the operation. */
  submit(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<SubmitResult>;
  /** Reads a task's status. Only for providers that are not `synchronous`. */
  status(operation: string, taskId: string, ctx: CallContext): Promise<TaskStatus>;
  /**
   * Optional: looks up a model by the provider's id for it (LiblibAI's model version lookup,
   * 002 §4.1.1) and answers the provider's description. Not a generation: no task, no slot.
   * Throws `ProviderError`; `invalid_job` when the model does not exist or the id is malformed.
   */
  lookupModel?(modelId: string, ctx: CallContext): Promise<Record<string, unknown>>;
  /** Cancels a running task. Only when its descriptor's `capabilities.cancelable`. */
  cancel?(operation: string, taskId: string, ctx: CallContext): Promise<void>;
  /** Releases sockets and timers. */
  close?(): Promise<void>;
}
