import { defineConfig } from 'vitest/config';

// Integration tests share one real Redis and start real servers, so files run in a small
// pool sized for a two-core machine; each test uses its own key prefix.
export default defineConfig({
  test: {
    // Node 20 is pinned on purpose: silence the AWS SDK's notice about its future Node 22 floor.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    include: [
      'packages/*/src/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'test/*.test.ts',
      'test/conformance/*.test.ts',
    ],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
