import { defineConfig } from 'vitest/config';

// `npm run test:security`: the fuzzer, secret scanning, SSRF and credential checks.
export default defineConfig({
  test: {
    // Node 20 is pinned on purpose: silence the AWS SDK's notice about its future Node 22 floor.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    include: ['test/security/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
