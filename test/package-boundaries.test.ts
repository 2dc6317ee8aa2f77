/**
 * What the workspace's packages may import. `packages/*` are libraries and never load an app
 * (`apps/*` are processes); `@genqueue/model` holds the pure definitions and loads neither ioredis
 * nor BullMQ, so the CLI and the provider clients can use them without the Redis runtime, and the
 * CLI loads neither when it runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const APPS = readdirSync(join(ROOT, 'apps'));

/** Every module specifier a file names: imports, type imports, re-exports, dynamic imports. */
function specifiersOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** Every `.ts` file below `dir`. */
function sourcesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

/** The module specifiers a file loads when it runs: type-only imports and re-exports left out. */
function runtimeSpecifiersOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const typesOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (!clause.name &&
            bindings !== undefined &&
            ts.isNamedImports(bindings) &&
            bindings.elements.every((e) => e.isTypeOnly)));
      if (!typesOnly) specs.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      if (!node.isTypeOnly) specs.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      specs.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs;
}

/** The source file of a workspace specifier (`@genqueue/providers/testing`), from its package's exports. */
function workspaceFile(spec: string): string {
  const [scope, name, ...rest] = spec.split('/');
  const dir = join(ROOT, 'node_modules', scope!, name!);
  const { exports } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports: Record<string, string>;
  };
  return join(dir, exports[['.', ...rest].join('/')]!);
}

/**
 * The files reached from `entry` and the third-party specifiers they name: through relative
 * imports, and with `workspace` through `@genqueue/*` too, reading each file with `read`.
 */
function graphOf(
  entry: string,
  read: (file: string) => string[] = specifiersOf,
  workspace = false,
): { files: string[]; external: Map<string, string> } {
  const files = new Set<string>();
  const external = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of read(file)) {
      if (spec.startsWith('.')) pending.push(resolve(dirname(file), spec));
      else if (workspace && spec.startsWith('@genqueue/')) pending.push(workspaceFile(spec));
      else if (!external.has(spec)) external.set(spec, relative(ROOT, file));
    }
  }
  return { files: [...files], external };
}

/** The third-party modules a process loads from `entry`. */
function loadedBy(entry: string): Map<string, string> {
  return graphOf(entry, runtimeSpecifiersOf, true).external;
}

describe('package boundaries', () => {
  it('runs the CLI and loads the provider clients without ioredis or BullMQ', () => {
    const loaded = loadedBy(join(ROOT, 'apps/cli/src/main.ts'));
    expect([...loaded.keys()]).toContain('commander');
    const forbidden = [...loaded].filter(([spec]) => /^(ioredis|bullmq)/.test(spec));
    expect(forbidden.map(([spec, file]) => `${file} loads ${spec}`)).toEqual([]);
    // Nor do the provider clients, the sink or the webhook sender: they are libraries of HTTP calls.
    for (const pkg of ['providers', 'provider-http', 'liblib', 'sink', 'webhooks']) {
      const theirs = [...loadedBy(join(ROOT, 'packages', pkg, 'src/index.ts'))];
      expect(
        theirs
          .filter(([spec]) => /^(ioredis|bullmq)/.test(spec))
          .map(([spec, file]) => `${file} loads ${spec}`),
      ).toEqual([]);
    }
    // The walk sees the Redis runtime where it is loaded.
    expect([...loadedBy(join(ROOT, 'apps/worker/src/main.ts')).keys()]).toEqual(
      expect.arrayContaining(['ioredis', 'bullmq']),
    );
  });

  it('keeps ioredis, BullMQ and the other workspace packages out of the model', () => {
    const { files, external } = graphOf(join(ROOT, 'packages/model/src/index.ts'));
    // Every source file of the model is part of its public graph, so none hides outside the walk.
    const sources = sourcesIn(join(ROOT, 'packages/model/src')).filter((f) => !f.endsWith('.test.ts'));
    expect(files.sort()).toEqual(sources.sort());
    const forbidden = [...external].filter(([spec]) => /^(ioredis|bullmq|@genqueue\/)/.test(spec));
    expect(forbidden.map(([spec, file]) => `${file} imports ${spec}`)).toEqual([]);
    // What it does load, so that a new dependency is a decision rather than an accident.
    expect([...external.keys()].sort()).toEqual(['node:crypto', 'pino', 'undici', 'zod']);
  });

  it('never imports an app from a library', () => {
    const appPackages = new Set(APPS.map((app) => `@genqueue/${app}`));
    const reaches = readdirSync(join(ROOT, 'packages')).flatMap((pkg) =>
      sourcesIn(join(ROOT, 'packages', pkg, 'src')).flatMap((file) =>
        specifiersOf(file)
          .filter((spec) => appPackages.has(spec.split('/').slice(0, 2).join('/')) || spec.includes('/apps/'))
          .map((spec) => `${relative(ROOT, file)} imports ${spec}`),
      ),
    );
    expect(reaches).toEqual([]);
  });

  it('finds an app import in a library, and BullMQ in a graph', () => {
    // The two checks above would pass on an empty answer: show they see what they look for.
    expect(APPS).toEqual(expect.arrayContaining(['api', 'cli', 'demo', 'simulator', 'standalone', 'worker']));
    expect(specifiersOf(join(ROOT, 'packages/core/src/queues.ts'))).toContain('bullmq');
    expect([...graphOf(join(ROOT, 'packages/core/src/index.ts')).external.keys()]).toContain('ioredis');
  });
});
