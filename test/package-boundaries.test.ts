/**
 * What the workspace's packages may import. `packages/*` are libraries and never load an app
 * (`apps/*` are processes); `@genqueue/model` holds the pure definitions and loads neither ioredis
 * nor BullMQ, so the CLI and the provider clients can use them without the Redis runtime.
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

/** The files reached from `entry` through relative imports, and the bare specifiers they name. */
function graphOf(entry: string): { files: string[]; external: Map<string, string> } {
  const files: string[] = [];
  const external = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    for (const spec of specifiersOf(file)) {
      if (spec.startsWith('.')) pending.push(resolve(dirname(file), spec));
      else if (!external.has(spec)) external.set(spec, relative(ROOT, file));
    }
  }
  return { files, external };
}

describe('package boundaries', () => {
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
