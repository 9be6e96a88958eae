/**
 * A full disk under a cached block (DISK_ONLY, MEMORY_AND_DISK) or a checkpoint partition fails the task naming the
 * file, and leaves no part of it: the temporary file of a failed write was left (session 46, localDir and the
 * checkpoint folder on a 2 MB tmpfs), where nothing but stop() removed it, holding the disk that had run out.
 * `/dev/full` stands in for the full disk (see test/shuffle/full-disk.test.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DiskStore } from '../../src/storage/disk-store.js';
import { writeCheckpointPartition } from '../../src/storage/checkpoint-files.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-full-disk-store-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());
let dirs = 0;

describe.skipIf(!existsSync('/dev/full'))('a block or checkpoint partition whose file cannot be written', () => {
  it('a disk block: fails naming the file, and leaves none', () => {
    const dir = path.join(scratch, `d${dirs++}`);
    const store = new DiskStore(dir);
    const tmp = path.join(dir, `rdd_1_0.tmp-${process.pid}`);
    symlinkSync('/dev/full', tmp);
    expect(() => store.put('rdd_1_0', ['a', 'b'])).toThrow(`ENOSPC: no space left on device, write '${tmp}'`);
    expect(readdirSync(dir)).toEqual([]);
    expect(store.get('rdd_1_0')).toBeUndefined();
  });

  it('a checkpoint partition: fails naming the file, and leaves none', () => {
    const dir = path.join(scratch, `d${dirs++}`);
    mkdirSync(dir);
    // The attempt's temporary name ends in a random part: fixed here so that the full disk can sit under it.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const tmp = path.join(dir, `part-00000.attempt-0-${process.pid}-${(0.5).toString(36).slice(2)}`);
    symlinkSync('/dev/full', tmp);
    expect(() => writeCheckpointPartition(dir, 0, 0, ['a', 'b'])).toThrow(`ENOSPC: no space left on device, write '${tmp}'`);
    expect(readdirSync(dir)).toEqual([]);
  });
});
