import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: fault injection, kills and restarts. Long-running, so not part of
// `npm test`; CI runs it in its quick form (CHAOS_QUICK=1).
export default defineConfig({
  test: {
    // Node 20 is pinned on purpose: silence the AWS SDK's notice about its future Node 22 floor.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    include: ['test/chaos/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
