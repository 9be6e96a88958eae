import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import fc from 'fast-check';
import { checkpointPartFile, readCheckpointPartition, removeAttemptFiles, writeCheckpointPartition } from '../../src/storage/checkpoint-files.js';
import { cachedArray, ColumnBlock, packPartition } from '../../src/storage/columnar-block.js';
import { cachedPartition } from '../fixtures/column-arbitraries.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'kindling-checkpoint-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('checkpoint files', () => {
  it('an attempt left by a worker killed between its write and its rename is removed once the job succeeded; partition files stay', async () => {
    const dir = path.join(root, 'rdd-1');
    mkdirSync(dir); // the driver makes each checkpoint job's folder
    writeCheckpointPartition(dir, 0, 0, ['a', 'b']);
    writeCheckpointPartition(dir, 1, 1, ['c']);
    // What a terminated attempt leaves: its temporary file, never renamed.
    writeFileSync(path.join(dir, 'part-00001.attempt-0-123-abc'), 'half');
    await removeAttemptFiles(dir);
    expect(readdirSync(dir).sort()).toEqual(['part-00000', 'part-00001']);
    expect(readCheckpointPartition(dir, 0)).toEqual(['a', 'b']);
    expect(readCheckpointPartition(dir, 1)).toEqual(['c']);
  });

  it('reads back element for element (-0, NaN, fractions included); numbers and pairs of numbers are written as columns', () => {
    let n = 0;
    fc.assert(
      fc.property(cachedPartition, (values) => {
        const dir = path.join(root, `columns-${n++}`);
        mkdirSync(dir);
        writeCheckpointPartition(dir, 0, 0, values);
        const read = readCheckpointPartition(dir, 0);
        expect(cachedArray(read)).toEqual(values); // toEqual tells -0 from 0; a null-prototype object comes back plain
        expect(read instanceof ColumnBlock).toBe(packPartition(values) !== undefined);
      }),
      { numRuns: 50 },
    );
  });

  it('reads a partition file written as an array of elements (before columns)', () => {
    const dir = path.join(root, 'rdd-array');
    mkdirSync(dir);
    writeFileSync(
      checkpointPartFile(dir, 0),
      v8.serialize([
        [1, 0.5],
        [2, -0],
      ]),
    );
    expect(cachedArray(readCheckpointPartition(dir, 0))).toStrictEqual([
      [1, 0.5],
      [2, -0],
    ]);
  });

  it('a folder that is not there is nothing to clean', async () => {
    const dir = path.join(root, 'never-written');
    await expect(removeAttemptFiles(dir)).resolves.toBeUndefined();
    expect(existsSync(dir)).toBe(false);
  });

  it("cleans without holding the driver's thread: its event loop turns before the cleaning is done", async () => {
    const dir = path.join(root, 'rdd-many');
    mkdirSync(dir);
    writeCheckpointPartition(dir, 0, 0, ['kept']);
    for (let i = 0; i < 200; i++) writeFileSync(path.join(dir, `part-00000.attempt-${i}-1-x`), '');
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    await removeAttemptFiles(dir);
    done = true;
    expect(turns).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual(['part-00000']);
  });

  it('keeps the first attempt to finish a partition: a later copy (speculative, or of a failed job that ran on) replaces nothing', () => {
    const dir = path.join(root, 'rdd-2');
    mkdirSync(dir);
    writeCheckpointPartition(dir, 0, 0, ['first']);
    writeCheckpointPartition(dir, 0, 1, ['second']);
    expect(readCheckpointPartition(dir, 0)).toEqual(['first']);
    expect(readdirSync(dir)).toEqual(['part-00000']);
  });

  it('a task writing after its job ended (the folder renamed or removed) fails and creates nothing', () => {
    const dir = path.join(root, 'rdd-3');
    expect(() => writeCheckpointPartition(dir, 0, 0, ['late'])).toThrow(/checkpoint folder .*rdd-3 is gone/);
    expect(existsSync(dir)).toBe(false);
  });
});
