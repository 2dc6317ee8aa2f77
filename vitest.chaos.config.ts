import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: fault injection, kills and restarts. Long-running, so not part of
// `npm test`; CI runs it in its quick form (CHAOS_QUICK=1).
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
