import { defineConfig } from 'vitest/config';

// Unit, protocol, CLI and conformance tests run in Node. Browser tests live in tests/e2e (Playwright).
export default defineConfig({
  test: {
    environment: 'node',
    include: ['tests/unit/**/*.test.ts', 'tests/conformance/**/*.test.ts', 'tests/cli/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
