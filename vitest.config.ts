import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Worker threads are spawned by the engine itself; one test file at a time per fork keeps the
    // 2-core machine from oversubscribing.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
