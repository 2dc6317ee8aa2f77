#!/usr/bin/env node
// The `genqueue` command: the compiled CLI (`npm run build` writes `../dist/main.js`), which starts
// in a fraction of the time; without a build (development), the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
