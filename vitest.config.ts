import { defineConfig } from 'vitest/config';

// Integration tests share one real Redis and start real servers, so files run in a small
// pool sized for a two-core machine; each test uses its own key prefix.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
