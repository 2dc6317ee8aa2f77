#!/usr/bin/env node
// The `genqueue` command. There is no build step: tsx loads the TypeScript sources directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
