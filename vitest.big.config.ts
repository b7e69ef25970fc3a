import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config';

// `npm run test:big`: the default include (vitest.config.ts) has no tests/big, and a CLI path only filters
// the included files, so the big tests need their own include. One worker, long timeouts.
export default mergeConfig(
  base,
  defineConfig({
    test: { include: ['tests/big/**/*.test.ts'], maxWorkers: 1, testTimeout: 30 * 60_000 },
  }),
);
