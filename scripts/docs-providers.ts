#!/usr/bin/env tsx
// `npm run docs:providers`: rewrites the README's provider table (between `<!-- providers:begin`
// and `<!-- providers:end -->`) from the provider catalog, so the table is generated, never
// hand-edited. test/catalog.test.ts fails while the README's copy differs from the catalog's.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderProviderTable } from '@genqueue/providers';

const readme = new URL('../README.md', import.meta.url);
const section = /(<!-- providers:begin[^>]*-->\n)[\s\S]*?(\n<!-- providers:end -->)/;
const text = readFileSync(readme, 'utf8');
if (!section.test(text))
  throw new Error('README.md has no <!-- providers:begin --> … <!-- providers:end --> section');
const next = text.replace(
  section,
  (_all, begin: string, end: string) => `${begin}${renderProviderTable()}${end}`,
);
if (next !== text) writeFileSync(readme, next);
process.stdout.write(
  next === text ? 'README.md provider table already up to date\n' : 'README.md provider table rewritten\n',
);
