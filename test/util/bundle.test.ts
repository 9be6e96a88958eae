/**
 * The worker bundle and the live UI's bundle are each used only while current: a stale or missing bundle falls back
 * to the modules, so a build without the bundling step can never run an older build's code.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleIsCurrent } from '../../src/util/bundle.js';

describe('bundleIsCurrent', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('holds only when the bundle exists and is no older than the entry module', () => {
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
});
