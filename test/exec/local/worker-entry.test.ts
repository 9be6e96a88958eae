/**
 * Workers start from one bundled file (scripts/bundle.js, run by `npm run build`) rather than ~90 modules,
 * which was most of a worker's start-up. The bundle is used only while it is current; a stale or missing one falls
 * back to the modules (test/util/bundle.test.ts), so a build without the bundling step can never run an older build's code in workers.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = path.resolve(import.meta.dirname, '../../../dist/exec/local');

describe('worker entry', () => {
  it('the build leaves a current bundle, and the workers start from it', async () => {
    const bundle = path.join(dist, 'worker-bundle.js');
    expect(statSync(bundle).mtimeMs).toBeGreaterThanOrEqual(statSync(path.join(dist, 'worker-main.js')).mtimeMs);
    const built = (await import(path.join(dist, 'worker-entry.js'))) as typeof import('../../../src/exec/local/worker-entry.js');
    expect(fileURLToPath(built.workerEntry())).toBe(bundle);
  });

  it('the bundle holds the worker side only: none of the driver-only packages', () => {
    // The bundle's source map lists every file bundled into it.
    const { sources } = JSON.parse(readFileSync(path.join(dist, 'worker-bundle.js.map'), 'utf8')) as { sources: string[] };
    const files = sources.map((s) => s.replaceAll('\\', '/'));
    for (const f of ['exec/executor', 'rdd/rdd', 'shuffle/combine', 'io/line-reader', 'comlink', 'lru-cache']) {
      expect(files.some((s) => s.includes(f))).toBe(true);
    }
    for (const p of ['acorn', 'eslint-scope', 'estraverse', 'tinyglobby', 'ioredis', 'closure/analyze', 'context/context', 'scheduler/']) {
      expect(files.filter((s) => s.includes(p))).toEqual([]);
    }
  });
});
