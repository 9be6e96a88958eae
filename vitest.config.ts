import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A private temp folder per test file, and a failure when the file leaves a kindling-* folder in it.
    setupFiles: ['test/setup/temp-folders.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Worker threads are spawned by the engine itself; one test file at a time per fork keeps the
    // 2-core machine from oversubscribing.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
