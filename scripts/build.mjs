#!/usr/bin/env node
// `npm run build`: compiles each app once into `apps/<app>/dist/main.js` with esbuild.
// `node scripts/build.mjs --out <dir>` writes `<dir>/apps/<app>/dist/main.js` instead; <dir> must be
// inside the repository, so the output still resolves its dependencies from ./node_modules.
//
// Why a bundler rather than `tsc` project references: the workspace packages export their
// TypeScript sources (`"exports": "./src/index.ts"`) and import each other with `.ts` suffixes,
// which is what lets tsx and vitest run them without a build. tsc would have to emit every package
// and rewrite those specifiers; esbuild bundles the genqueue code of one app into one ES module
// in well under a second and leaves every npm dependency an ordinary `import` resolved from
// node_modules at run time (so native and CommonJS packages load as they always do).
// Type checking stays with `npm run typecheck`; esbuild only strips types.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Every bare import stays external except the @genqueue/* workspace packages, which are bundled. */
const npmPackagesExternal = {
  name: 'npm-packages-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@genqueue/') ? undefined : { path: args.path, external: true },
    );
  },
};
const apps = ['api', 'worker', 'standalone', 'simulator', 'cli', 'demo'];
const at = process.argv.indexOf('--out');
const outRoot = at > 0 ? resolve(process.argv[at + 1]) : root;

const started = performance.now();
await Promise.all(
  apps.map(async (app) => {
    const outdir = join(outRoot, 'apps', app, 'dist');
    const result = await build({
      entryPoints: [join(root, 'apps', app, 'src', 'main.ts')],
      outfile: join(outdir, 'main.js'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      plugins: [npmPackagesExternal],
      sourcemap: true,
      // Stack traces and log lines keep the source's names.
      keepNames: true,
      logLevel: 'warning',
      write: false,
    });
    // Each file is written beside its place and renamed over it, so a process starting meanwhile
    // loads the old build or the new one, never half of one.
    mkdirSync(outdir, { recursive: true });
    for (const file of result.outputFiles) {
      writeFileSync(`${file.path}.tmp`, file.contents);
      renameSync(`${file.path}.tmp`, file.path);
    }
  }),
);
process.stdout.write(
  `built ${apps.map((a) => relative(root, join(outRoot, 'apps', a, 'dist', 'main.js'))).join(', ')} in ${Math.round(performance.now() - started)} ms\n`,
);
