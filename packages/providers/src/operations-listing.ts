/**
 * The operations listing (`GET /v1/operations`, `genqueue operations`): every enabled provider and
 * operation with its description and its input schema as JSON Schema, generated from the zod
 * schemas that validate jobs, so the listing cannot drift from what the API accepts.
 */
import type { OperationSpec, ProviderOperations } from '@genqueue/model';
import { zodToJsonSchema } from 'zod-to-json-schema';

/** One operation as listed. */
export interface OperationListing {
  name: string;
  description: string;
  /** What a job of this operation produces. */
  output: OperationSpec['output'];
  /** JSON Schema (draft 2019-09) of the job's `input`. */
  inputSchema: Record<string, unknown>;
}

/** One provider as listed. */
export interface ProviderListing {
  name: string;
  description: string;
  operations: OperationListing[];
}

/** The JSON Schema of an operation's input. */
export function inputJsonSchema(spec: OperationSpec): Record<string, unknown> {
  // `$refStrategy: 'none'` inlines shared sub-schemas: each operation's schema stands alone.
  const { $schema: _, ...schema } = zodToJsonSchema(spec.schema, {
    $refStrategy: 'none',
    target: 'jsonSchema2019-09',
  }) as Record<string, unknown>;
  return { $schema: 'https://json-schema.org/draft/2019-09/schema', ...schema };
}

/** The listing of `providers`, in the order given. */
export function listOperations(providers: Iterable<ProviderOperations>): ProviderListing[] {
  return [...providers].map((provider) => ({
    name: provider.name,
    description: provider.description,
    operations: Object.entries(provider.operations).map(([name, spec]) => ({
      name,
      description: spec.description,
      output: spec.output,
      inputSchema: inputJsonSchema(spec),
    })),
  }));
}
