import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// `npm run test:big`: only tests/big (the default include has no tests/big, and a CLI path only filters the
// included files). Spread, not mergeConfig: mergeConfig concatenates `include`, which ran every unit test too.
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['tests/big/**/*.test.ts'], maxWorkers: 1, testTimeout: 30 * 60_000 },
});
