import { defineConfig } from 'vitest/config';

// `npm run test:security`: the fuzzer, secret scanning, SSRF and credential checks.
export default defineConfig({
  test: {
    include: ['test/security/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
