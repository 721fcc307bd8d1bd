import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Every log line of the whole suite is scanned for the personal data the tests feed in.
    setupFiles: ['test/support/logCapture.ts'],
    globalSetup: ['test/support/logScan.ts'],
    env: { POWERTOOLS_DEV: 'false', POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_TRACE_ENABLED: 'false' },
  },
});
