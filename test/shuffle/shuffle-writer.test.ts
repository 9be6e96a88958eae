/**
 * A map-side combine hands its groups to the shuffle writer as columns bucketed by reduce partition (shuffle-writer.ts,
 * placeColumns; StringTable.latin1Buckets for latin1 string keys). Its work follows the groups and the partitions they
 * fall in, not the shuffle's partition count: it took a column pair from the thread's pool and a count for each of R
 * partitions, in every map task (O(M x R) per shuffle for a reduceByKey into many partitions).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { HashPartitioner } from '../../src/core/partitioner.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { writeShuffleOutput } from '../../src/shuffle/shuffle-writer.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import * as scratchArrays from '../../src/util/scratch-arrays.js';

// The pool's calls counted, each still answered by the pool.
vi.mock('../../src/util/scratch-arrays.js', async (original) => {
  const actual = await original<typeof import('../../src/util/scratch-arrays.js')>();
  return { ...actual, takeFloat64: vi.fn(actual.takeFloat64), takeInt32: vi.fn(actual.takeInt32) };
});

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-shuffle-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sum: Aggregator = {
  createCombiner: (v) => v,
  mergeValue: (a, b) => (a as number) + (b as number),
  mergeCombiners: (a, b) => (a as number) + (b as number),
};

describe('a map-side combine into many reduce partitions', () => {
  const keys: Array<[string, (i: number) => unknown]> = [
    ['int32 keys', (i) => i * 7919],
    ['latin1 string keys', (i) => `w${i}`],
    ['other string keys', (i) => `\u0101${i}`],
  ];
  for (const [kind, keyOf] of keys) {
    it(`takes pooled columns for the partitions its groups fall in, not for every partition (${kind})`, () => {
      const reducers = 200_000;
      const groups = 300;
      const p = new HashPartitioner(reducers);
      const manager = new SpillingShuffleManager({ workerIndex: 0, dir: path.join(scratch, kind), spillBytes: 1 << 30, writeAllToDisk: false });
      const data: Pair[] = Array.from({ length: groups * 4 }, (_, i) => [keyOf(i % groups), 1]);
      const wire = { shuffleId: 0, partitioner: p.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
      vi.mocked(scratchArrays.takeFloat64).mockClear();
      vi.mocked(scratchArrays.takeInt32).mockClear();
      const status = writeShuffleOutput((f) => data.forEach(f), 'words', wire, sum, manager.writer(0, 0, reducers), p);
      // A key and a value column per partition written to (at most one per group), a few of the table's and scratch ones besides.
      const touched = new Set(Array.from({ length: groups }, (_, i) => p.getPartition(keyOf(i)))).size;
      expect(vi.mocked(scratchArrays.takeFloat64).mock.calls.length).toBeLessThanOrEqual(touched + 16);
      expect(vi.mocked(scratchArrays.takeInt32).mock.calls.length).toBeLessThanOrEqual(touched + 16);
      // What was written is every group once, summed, each in its partition.
      expect('list' in status.sizes && [...status.sizes.ids]).toEqual(
        [...new Set(Array.from({ length: groups }, (_, i) => p.getPartition(keyOf(i))))].sort((a, b) => a - b),
      );
      for (let i = 0; i < groups; i += 37) expect(manager.fetchBuckets(0, [0], p.getPartition(keyOf(i)))[0]).toContainEqual([keyOf(i), 4]);
      manager.close();
    });
  }
});
