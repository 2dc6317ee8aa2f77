/**
 * The provider catalog and what derives from it: every descriptor is consistent with its adapter
 * and its simulator mode, its example runs end to end against that mode, and the lists that cannot
 * be derived at run time (the simulator's modes, the README's table) miss no provider.
 */
import { existsSync, readFileSync } from 'node:fs';
import { credentialVariable, defineProvider, isTaskEnded, type ProviderAccount } from '@genqueue/core';
import {
  type CatalogDescriptor,
  type CredentialsOf,
  createAdapter,
  PROVIDER_CATALOG,
  type ProviderName,
  renderProviderTable,
} from '@genqueue/providers';
import { type ModeEntry, modes, startSimulator } from '@genqueue/simulator';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO_PROVIDERS } from '../apps/demo/src/demo-providers.ts';

const README = new URL('../README.md', import.meta.url);
const COMPOSE = new URL('../docker-compose.yml', import.meta.url);
const startOptions = { token: 't' } as Parameters<ModeEntry['credentials']>[0];

/** The README's generated provider table. */
function readmeTable(): string {
  const text = readFileSync(README, 'utf8');
  const match = /<!-- providers:begin[^>]*-->\n([\s\S]*?)\n<!-- providers:end -->/.exec(text);
  if (!match) throw new Error('README.md has no <!-- providers:begin --> … <!-- providers:end --> section');
  return match[1]!;
}

/** A top-level block of docker-compose.yml (`x-provider-secrets:` ... up to the next blank line). */
function composeBlock(name: string): string {
  const text = readFileSync(COMPOSE, 'utf8');
  const match = new RegExp(`^${name}:.*\n((?:  .*\n)+)`, 'm').exec(text);
  if (!match) throw new Error(`docker-compose.yml has no ${name} block`);
  return match[1]!;
}

/** Whether `test/conformance/<name>.test.ts` runs the shared suite on the provider. */
function runsConformance(name: string): boolean {
  const file = new URL(`./conformance/${name}.test.ts`, import.meta.url);
  return (
    existsSync(file) &&
    new RegExp(`describeProviderConformance\\(\\w+, '${name}',`).test(readFileSync(file, 'utf8'))
  );
}

/** The providers of `catalog` that a list which is not derived at run time misses. */
function gapsOf(catalog: readonly CatalogDescriptor[]): string[] {
  const rows = readmeTable();
  const workerSecrets = composeBlock('x-provider-secrets');
  return catalog.flatMap((d) => [
    ...Object.keys(d.credentials.shape)
      .map((field) => credentialVariable(d.envPrefix, field))
      .filter((variable) => !workerSecrets.includes(`  ${variable}: \${${variable}:-}`))
      .map((variable) => `${d.name}: docker-compose.yml gives the workers no ${variable}`),
    ...(Object.hasOwn(modes, d.name)
      ? []
      : [`${d.name}: no simulator mode in apps/simulator/src/modes/registry.ts`]),
    ...(rows.includes(`| \`${d.name}\`:`) ? [] : [`${d.name}: not in the README's provider table`]),
    ...(runsConformance(d.name)
      ? []
      : [`${d.name}: no test/conformance/${d.name}.test.ts running the shared suite`]),
  ]);
}

function accountFor(descriptor: CatalogDescriptor, baseUrl: string, credentials: Record<string, string>) {
  return {
    id: 'default',
    baseUrl,
    credentials,
    limits: descriptor.defaults.limits,
    timeoutMs: descriptor.defaults.timeoutMs,
    options: descriptor.options.parse({}),
  } satisfies ProviderAccount;
}

describe('the provider catalog', () => {
  it('names each provider and environment prefix once', () => {
    const names = PROVIDER_CATALOG.map((d) => d.name);
    const prefixes = PROVIDER_CATALOG.map((d) => d.envPrefix);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    for (const prefix of prefixes) expect(prefix).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  it.each(PROVIDER_CATALOG.map((d) => [d.name, d] as const))(
    '%s: its example is valid, and its capabilities match what its adapter implements',
    (_name, descriptor) => {
      const { operation, input } = descriptor.example;
      expect(descriptor.operations[operation]!.schema.safeParse(input).error).toBeUndefined();
      const credentials = Object.fromEntries(Object.keys(descriptor.credentials.shape).map((f) => [f, 'x']));
      const adapter = createAdapter(descriptor, accountFor(descriptor, 'http://127.0.0.1:1', credentials));
      try {
        expect(adapter.name).toBe(descriptor.name);
        expect(Object.keys(adapter.operations)).toEqual(Object.keys(descriptor.operations));
        expect(typeof adapter.cancel === 'function').toBe(descriptor.capabilities.cancelable);
        expect(typeof adapter.prepare === 'function').toBe(descriptor.capabilities.needsUpload);
      } finally {
        void adapter.close?.();
      }
    },
  );

  it.each(PROVIDER_CATALOG.map((d) => [d.name, d] as const))(
    '%s: runs its example to the end against its simulator mode, synchronously exactly when it says so',
    async (name, descriptor) => {
      const sim = await startSimulator({ mode: name, latencyMs: { min: 50, max: 50 } });
      const adapter = createAdapter(descriptor, accountFor(descriptor, sim.url, { ...sim.credentials }));
      try {
        // The mode accepts exactly the descriptor's credentials.
        expect(descriptor.credentials.parse(sim.credentials)).toEqual(sim.credentials);
        const { operation, input } = descriptor.example;
        const ctx = { jobId: `catalog-${name}` };
        const prepared = adapter.prepare ? await adapter.prepare(operation, { ...input }, ctx) : input;
        const submitted = await adapter.submit(operation, prepared, ctx);
        expect(submitted.status !== undefined && isTaskEnded(submitted.status)).toBe(
          descriptor.capabilities.synchronous,
        );
        let status = submitted.status;
        while (!status || !isTaskEnded(status)) {
          await new Promise((resolve) => setTimeout(resolve, 25));
          status = await adapter.status(operation, submitted.taskId, ctx);
        }
        expect(status).toMatchObject({ state: 'succeeded' });
      } finally {
        await adapter.close?.();
        await sim.close();
      }
    },
  );

  it('derives the demo of every provider', () => {
    expect(Object.keys(DEMO_PROVIDERS).sort()).toEqual(PROVIDER_CATALOG.map((d) => d.name).sort());
  });

  it("keeps the README's provider table equal to the catalog's", () => {
    // To update: replace the section with the output of `renderProviderTable()`.
    expect(readmeTable()).toBe(renderProviderTable());
    expect(gapsOf(PROVIDER_CATALOG)).toEqual([]);
  });

  it('gives provider credentials to the workers only in docker-compose.yml', () => {
    const shared = composeBlock('x-genqueue-env');
    const variables = PROVIDER_CATALOG.flatMap((d) =>
      Object.keys(d.credentials.shape).map((field) => credentialVariable(d.envPrefix, field)),
    );
    expect(variables.filter((variable) => shared.includes(variable))).toEqual([]);
    expect(shared).toMatch(/^ {2}PROVIDERS: \$\{PROVIDERS:-liblib\}$/m);
  });

  it('finds a fifth provider that has no simulator mode, README row, worker secret or conformance run', () => {
    const fake = defineProvider({
      name: 'fake',
      envPrefix: 'FAKE',
      description: 'a provider added to the catalog and nowhere else',
      credentials: z.object({ apiKey: z.string().min(1) }),
      options: z.object({}),
      defaults: {
        baseUrl: 'https://fake.invalid',
        limits: { submitQps: 1, maxInFlight: 1 },
        timeoutMs: 1_000,
      },
      capabilities: { synchronous: false, cancelable: false, needsUpload: false },
      operations: {
        generate: { schema: z.object({}).passthrough(), output: 'image', description: 'generate' },
      },
      example: { operation: 'generate', input: {} },
      createAdapter: () => {
        throw new Error('never built');
      },
    });
    expect(gapsOf([...PROVIDER_CATALOG, fake as unknown as CatalogDescriptor])).toEqual([
      'fake: docker-compose.yml gives the workers no FAKE_API_KEY',
      'fake: no simulator mode in apps/simulator/src/modes/registry.ts',
      "fake: not in the README's provider table",
      'fake: no test/conformance/fake.test.ts running the shared suite',
    ]);
  });

  it('refuses, at compile time, a mode list that misses a provider or takes other credentials', () => {
    // `npm run typecheck` compiles this file: each directive fails the build if its line compiles.
    // @ts-expect-error `modelverse` is missing
    const modesWithoutOne: { readonly [N in ProviderName]: ModeEntry<CredentialsOf<N>> } = {
      liblib: modes.liblib,
      'liblib-v1': modes['liblib-v1'],
      replicate: modes.replicate,
    };
    const wrongCredentials: ModeEntry<CredentialsOf<'replicate'>> = {
      create: modes.replicate.create,
      // @ts-expect-error replicate's credential is `apiToken`, not `apiKey`
      credentials: (o) => ({ apiKey: o.token }),
    };
    expect(Object.keys(modesWithoutOne)).not.toContain('modelverse');
    expect(Object.keys(wrongCredentials.credentials(startOptions))).toEqual(['apiKey']);
  });
});
