import { defineConfig } from '@playwright/test';

// Chromium E2E against the built extension (.output/chrome-mv3). See tests/e2e/README.md.
export default defineConfig({
  testDir: 'tests/e2e',
  testMatch: '**/*.spec.ts',
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: 'list',
  fullyParallel: false,
  outputDir: 'test-results',
  use: { trace: 'retain-on-failure' },
});
