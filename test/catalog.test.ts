/**
 * The provider catalog and what derives from it: every descriptor is consistent with its adapter
 * and its simulator mode, its example runs end to end against that mode, and what is not derived
 * at run time (each provider's mode file, the README's generated table, its conformance run) exists
 * for every provider. docker-compose.yml names no provider: the workers read every credential from
 * one env file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { credentialVariable, defineProvider, isTaskEnded, type ProviderAccount } from '@genqueue/core';
import {
  type CatalogDescriptor,
  type CredentialsOf,
  createAdapter,
  PROVIDER_CATALOG,
  renderProviderTable,
} from '@genqueue/providers';
import { loadMode, type ModeEntry, modeFile, modes, startSimulator } from '@genqueue/simulator';
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

/** A top-level block of docker-compose.yml (`x-genqueue-env:` ... up to the next blank line). */
function composeBlock(name: string): string {
  const text = readFileSync(COMPOSE, 'utf8');
  const match = new RegExp(`^${name}:.*\n((?:  .*\n)+)`, 'm').exec(text);
  if (!match) throw new Error(`docker-compose.yml has no ${name} block`);
  return match[1]!;
}

/** One service of docker-compose.yml, from `  <name>:` up to the next service or top-level key. */
function composeService(name: string): string {
  const text = readFileSync(COMPOSE, 'utf8');
  const match = new RegExp(`^  ${name}:\n((?:(?: {4}.*)?\n)+)`, 'm').exec(text);
  if (!match) throw new Error(`docker-compose.yml has no service ${name}`);
  return match[1]!;
}

/** The file docker-compose.yml's workers (and only they) read provider credentials from. */
const PROVIDERS_ENV_FILE = /^ {4}env_file:\n {6}- path: \.\/providers\.env\n {8}required: false$/m;

/** Whether `test/conformance/<name>.test.ts` runs the shared suite on the provider. */
function runsConformance(name: string): boolean {
  const file = new URL(`./conformance/${name}.test.ts`, import.meta.url);
  return (
    existsSync(file) &&
    new RegExp(`describeProviderConformance\\(\\w+, '${name}',`).test(readFileSync(file, 'utf8'))
  );
}

/** Whether the simulator loads a mode for provider `name` from its mode file. */
async function hasMode(name: string): Promise<boolean> {
  return loadMode(name).then(
    () => true,
    () => false,
  );
}

/** What a provider of `catalog` lacks among the pieces that are files, not derived lists. */
async function gapsOf(catalog: readonly CatalogDescriptor[]): Promise<string[]> {
  const rows = readmeTable();
  const gaps = await Promise.all(
    catalog.map(async (d) => [
      ...((await hasMode(d.name))
        ? []
        : [`${d.name}: no simulator mode, ${modeFile(d.name)} exporting \`mode\``]),
      ...(rows.includes(`| \`${d.name}\`:`)
        ? []
        : [`${d.name}: not in the README's provider table (run \`npm run docs:providers\`)`]),
      ...(runsConformance(d.name)
        ? []
        : [`${d.name}: no test/conformance/${d.name}.test.ts running the shared suite`]),
    ]),
  );
  return gaps.flat();
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

  it("keeps the README's provider table equal to the catalog's", async () => {
    expect(readmeTable(), 'README.md is stale: run `npm run docs:providers`').toBe(renderProviderTable());
    expect(await gapsOf(PROVIDER_CATALOG)).toEqual([]);
  });

  it('loads one simulator mode per provider of the catalog, from its mode file', () => {
    expect(Object.keys(modes)).toEqual(PROVIDER_CATALOG.map((d) => d.name));
  });

  it('gives provider credentials to the workers only, from providers.env, naming no provider', () => {
    const compose = readFileSync(COMPOSE, 'utf8');
    const variables = PROVIDER_CATALOG.flatMap((d) =>
      Object.keys(d.credentials.shape).map((field) => credentialVariable(d.envPrefix, field)),
    );
    // No per-credential line to keep: a new provider's credentials reach the workers unlisted.
    expect(variables.filter((variable) => compose.includes(variable))).toEqual([]);
    expect(composeService('worker')).toMatch(PROVIDERS_ENV_FILE);
    expect(composeService('api')).not.toMatch(/env_file|providers\.env/);
    expect(composeBlock('x-genqueue-env')).not.toMatch(/env_file|providers\.env/);
    expect(composeBlock('x-genqueue-env')).toMatch(/^ {2}PROVIDERS: \$\{PROVIDERS:-liblib\}$/m);
  });

  it('finds what a fifth provider added only to the catalog still lacks: its mode file, README row and conformance run', async () => {
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
    // New files (`fake.descriptor.ts`, `fake.ts`, `modes/fake.mode.ts`, `test/conformance/fake.test.ts`),
    // one line in descriptors.ts and `npm run docs:providers` are all it takes: no registry entry,
    // and docker-compose passes FAKE_API_KEY from providers.env without a line of its own.
    expect(await gapsOf([...PROVIDER_CATALOG, fake as unknown as CatalogDescriptor])).toEqual([
      'fake: no simulator mode, apps/simulator/src/modes/fake.mode.ts exporting `mode`',
      "fake: not in the README's provider table (run `npm run docs:providers`)",
      'fake: no test/conformance/fake.test.ts running the shared suite',
    ]);
    expect(renderProviderTable([...PROVIDER_CATALOG, fake as unknown as CatalogDescriptor])).toContain(
      '| `fake`: a provider added to the catalog and nowhere else | `FAKE_API_KEY` |',
    );
  });

  it('refuses, at compile time, a mode that takes other credentials than its provider', () => {
    // `npm run typecheck` compiles this file: the directive fails the build if its line compiles.
    const wrongCredentials: ModeEntry<CredentialsOf<'replicate'>> = {
      create: modes.replicate.create,
      // @ts-expect-error replicate's credential is `apiToken`, not `apiKey`
      credentials: (o) => ({ apiKey: o.token }),
    };
    expect(Object.keys(wrongCredentials.credentials(startOptions))).toEqual(['apiKey']);
  });
});
