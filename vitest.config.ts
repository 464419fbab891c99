import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One worker per file keeps one Dawn instance per process; lavapipe uses every core anyway.
    pool: 'forks',
    fileParallelism: false,
  },
});
