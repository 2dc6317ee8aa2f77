/**
 * liblib: the LiblibAI signed OpenAPI (002), behind core's `Provider` port.
 *
 * A thin adapter over `@genqueue/liblib`'s `LiblibClient`: the operation catalog, the signing, the
 * uploads, the status normalization and the error classification all live there. This file only
 * maps the port's shapes and makes sure nothing but `ProviderError` escapes (the client's
 * `LiblibValidationError` becomes an `invalid_job` error).
 */

import {
  LIBLIB_GENERATION_OPERATIONS,
  LIBLIB_OPERATIONS,
  LIBLIB_PROVIDER,
  LiblibClient,
  type LiblibClientOptions,
  LiblibValidationError,
} from '@genqueue/liblib';
import type { CallContext, OperationSpec, Provider, SubmitResult, TaskStatus } from '@genqueue/model';
import { CallAbortedError, isProviderError, ProviderError } from '@genqueue/model';

/** The operations a job can ask of LiblibAI: every generation of the catalog (not `model.version`). */
export const liblibOperations: Readonly<Record<string, OperationSpec>> = Object.freeze(
  Object.fromEntries(
    LIBLIB_GENERATION_OPERATIONS.map((name) => {
      const op = LIBLIB_OPERATIONS[name]!;
      return [
        name,
        { schema: op.schema, output: op.output, description: op.description } satisfies OperationSpec,
      ];
    }),
  ),
);

/**
 * Creates the `liblib` provider: polled (submit answers a `generateUuid`, status is polled), no
 * cancel (002 has no cancel endpoint), uploads inline image inputs itself. `options` are the
 * client's.
 */
export function createLiblibProvider(options: LiblibClientOptions): Provider {
  const client = new LiblibClient(options);
  return {
    name: LIBLIB_PROVIDER,
    operations: liblibOperations,
    prepare(
      operation: string,
      input: Record<string, unknown>,
      ctx: CallContext,
    ): Promise<Record<string, unknown>> {
      return guard(client.prepare(operation, input, { signal: ctx.signal }));
    },
    async submit(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<SubmitResult> {
      const { generateUuid, statusPath } = await guard(
        client.submit(operation, input, { signal: ctx.signal }),
      );
      return { taskId: encodeTaskId(operation, generateUuid, statusPath) };
    },
    status(operation: string, taskId: string, ctx: CallContext): Promise<TaskStatus> {
      const { generateUuid, statusPath } = decodeTaskId(taskId);
      return guard(client.status(operation, generateUuid, { signal: ctx.signal, statusPath }));
    },
    async lookupModel(versionUuid: string, ctx: CallContext): Promise<Record<string, unknown>> {
      const { raw, ...version } = await guard(client.modelVersion(versionUuid, { signal: ctx.signal }));
      return { ...version, raw };
    },
    close: () => client.close(),
  };
}

/**
 * The task id: the `generateUuid`, followed by `;status=<path>` when the task's template is polled
 * somewhere else than its operation's default (Qwen-Image's template on `custom.text2img`, an
 * unlisted template's `statusEndpoint`), since the poller keeps only the task id.
 */
export function encodeTaskId(operation: string, generateUuid: string, statusPath: string): string {
  return LIBLIB_OPERATIONS[operation]?.statusPath === statusPath
    ? generateUuid
    : `${generateUuid};status=${statusPath}`;
}

function decodeTaskId(taskId: string): { generateUuid: string; statusPath?: string } {
  const split = taskId.indexOf(';status=');
  return split < 0
    ? { generateUuid: taskId }
    : { generateUuid: taskId.slice(0, split), statusPath: taskId.slice(split + ';status='.length) };
}

/** The port allows `ProviderError` only, and `CallAbortedError` for the caller's own abort. */
async function guard<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (isProviderError(error) || error instanceof CallAbortedError) throw error;
    if (error instanceof LiblibValidationError) {
      throw new ProviderError({
        provider: LIBLIB_PROVIDER,
        errorClass: 'invalid_job',
        code: 'invalid_input',
        message: error.message,
        cause: error,
      });
    }
    // A bug, not a provider answer: retried with backoff rather than failing the job silently.
    throw new ProviderError({
      provider: LIBLIB_PROVIDER,
      errorClass: 'transient',
      message: `unexpected error in the liblib adapter: ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
    });
  }
}
