/**
 * Shared setup of the example tests: one context per test file (local[2], no progress bar), the engines to run
 * the examples in, and a data folder shared by the test files (generated data sets are written once, atomically,
 * so parallel test files can share them).
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Context } from 'kindling';

/**
 * Engines the examples are checked in: both by default (the same program must give the baseline's result either
 * way); `KINDLING_TEST_ENGINES=memory` narrows it.
 */
export const ENGINES = (process.env['KINDLING_TEST_ENGINES'] ?? 'memory,mapreduce').split(',').map((e) => e.trim()) as Array<'memory' | 'mapreduce'>;

/**
 * Generated data sets (graph, points) for all example tests: in the run's shared temp folder, not in the test
 * file's own (see test/setup/temp-folders.ts), so they are generated once and kept between runs.
 */
export const DATA_DIR = join(process.env['KINDLING_TEST_SHARED_TMPDIR'] ?? os.tmpdir(), 'kindling-example-tests');

/** One context per describe block, started in beforeAll and stopped in afterAll. */
export function useContext(engine: 'memory' | 'mapreduce', master = 'local[2]'): () => Context {
  let sc: Context | undefined;
  beforeAll(() => {
    sc = new Context({ master, engine, progress: false, hints: false, appName: 'example-test' });
  });
  afterAll(async () => {
    await sc?.stop();
  });
  return () => {
    if (sc === undefined) throw new Error('context not started yet');
    return sc;
  };
}

/** A fresh temporary folder, removed after the file's tests. */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(os.tmpdir(), `kindling-${prefix}-`));
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error('temp dir not created yet');
    return dir;
  };
}
