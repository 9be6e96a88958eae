/**
 * A full disk under a map task's spill (or any write of its runs) fails the task naming the file, and leaves no file
 * behind: found at session 46 with localDir on a 2 MB tmpfs, where each failed attempt left a partly written or empty
 * run no one listed (and the disk engine, failing at close, every run written before), so the disk stayed full and
 * the context's next job failed too. `/dev/full` stands in for the full disk: a link to it under the name the next
 * file gets makes every write to that file fail with ENOSPC, as on a disk with no room left.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HashPartitioner } from '../../src/core/partitioner.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { writeFramedRun } from '../../src/shuffle/external-combiner.js';
import { writeShuffleOutput } from '../../src/shuffle/shuffle-writer.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-full-disk-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const hasDevFull = existsSync('/dev/full');

const wire = (reducers: number) =>
  ({ shuffleId: 0, partitioner: new HashPartitioner(reducers).toWire(), mapSideCombine: false, rddId: 1, rddLabel: 'map' }) as const;

describe.skipIf(!hasDevFull)('a map task whose runs cannot be written', () => {
  for (const writeAllToDisk of [true, false]) {
    it(`fails naming the run's file, and leaves none (the first write of a spill fails; writeAllToDisk ${writeAllToDisk})`, () => {
      const dir = path.join(scratch, `d${dirs++}`);
      mkdirSync(dir);
      // The disk engine spills at close; the memory engine when its pool (here 1 byte) has no room left.
      const budget = writeAllToDisk ? undefined : new MemoryBudget(1, dir);
      const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk, ...(budget ? { budget } : {}) });
      symlinkSync('/dev/full', path.join(dir, 'shuffle_0_0.spill0'));
      const data: Pair[] = Array.from({ length: 5000 }, (_, i) => [i, `v${i}`]);
      const p = new HashPartitioner(4);
      expect(() => writeShuffleOutput((f) => data.forEach(f), 'map', wire(4), undefined, manager.writer(0, 0, 4), p)).toThrow(
        /ENOSPC: no space left on device, write '.*shuffle_0_0\.spill0'/,
      );
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('the disk engine, failing at close after a run was written, removes that run too', () => {
    const dir = path.join(scratch, `d${dirs++}`);
    mkdirSync(dir);
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: true });
    // Reducer 0's run is written and listed; reducer 1's cannot be (a value the serializer refuses), after it.
    const p = new HashPartitioner(2);
    const data: Pair[] = [
      [0, 'a'],
      [2, 'b'],
      [1, () => 1],
    ];
    expect(p.getPartition(0)).toBe(0);
    expect(p.getPartition(1)).toBe(1);
    expect(() => writeShuffleOutput((f) => data.forEach(f), 'map', wire(2), undefined, manager.writer(0, 0, 2), p)).toThrow(/could not be cloned/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a run written in one go (a combine table, a sort buffer, fetched input) fails naming its file, and leaves none', () => {
    const dir = path.join(scratch, `d${dirs++}`);
    mkdirSync(dir);
    const file = path.join(dir, 'combine_1_0.run');
    symlinkSync('/dev/full', file);
    expect(() => writeFramedRun(file, [[1, 'x']])).toThrow(`ENOSPC: no space left on device, write '${file}'`);
    expect(readdirSync(dir)).toEqual([]);
  });
});
