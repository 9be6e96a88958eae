/**
 * Workers start from one bundled file (scripts/bundle.js, run by `npm run build`) rather than ~90 modules,
 * which was most of a worker's start-up. The bundle is used only while it is current; a stale or missing one falls
 * back to the modules, so a build without the bundling step can never run an older build's code in workers.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleIsCurrent } from '../../../src/util/bundle.js';

const dist = path.resolve(import.meta.dirname, '../../../dist/exec/local');

describe('worker entry', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('uses the bundle only when it exists and is no older than the entry module', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kindling-entry-'));
    const bundle = path.join(dir, 'worker-bundle.js');
    const entry = path.join(dir, 'worker-main.js');
    writeFileSync(entry, '');
    expect(bundleIsCurrent(bundle, entry)).toBe(false); // no bundle
    writeFileSync(bundle, '');
    utimesSync(entry, 1_000, 1_000);
    utimesSync(bundle, 2_000, 2_000);
    expect(bundleIsCurrent(bundle, entry)).toBe(true); // bundled after the modules were written
    utimesSync(entry, 3_000, 3_000);
    expect(bundleIsCurrent(bundle, entry)).toBe(false); // the modules were rebuilt without bundling
    rmSync(entry);
    expect(bundleIsCurrent(bundle, entry)).toBe(false);
  });

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
