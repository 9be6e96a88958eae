/**
 * A stored map output costs what its records cost, not what its shuffle's reducer count costs (shuffle/sparse-buckets.ts,
 * the memory engine's SpillingShuffleManager). Spark's SparkTC doubles its partitions every round, so its later
 * shuffles are 8,192+ maps into as many reducers with a few records per map task, and every earlier round's shuffle
 * stays reachable: with R slots per stored output (its buckets, the writer's arrays its pool consumer kept, the read
 * flags in shared memory) a worker held ~1.6 GiB at 8,192 partitions for < 10k records and failed (HeapLimitError).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { liveHeapBytes } from '../fixtures/live-heap.js';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { bucketAt, slotOf, sparseBuckets } from '../../src/shuffle/sparse-buckets.js';
import { decodeBucket } from '../../src/shuffle/bucket-codec.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-sparse-buckets-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('sparseBuckets', () => {
  it('keeps the non-empty entries and finds every reducer as the dense array does', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer(), { maxLength: 2 }), { maxLength: 60 }), (all) => {
        const s = sparseBuckets(all, (b) => b.length === 0);
        expect(s.length).toBe(all.length);
        expect(s.list.length).toBe(all.filter((b) => b.length > 0).length);
        for (let r = 0; r < all.length; r++) {
          expect(bucketAt(s, r, [])).toEqual(all[r]);
          expect(slotOf(s, r) >= 0).toBe(all[r]!.length > 0);
        }
        expect(bucketAt(s, all.length, [])).toBeUndefined();
        expect(bucketAt(s, -1, [])).toBeUndefined();
      }),
      { numRuns: 50 },
    );
  });
});

describe('stored map outputs of a shuffle into many reducers', () => {
  const live = (): number => liveHeapBytes();

  for (const shareOutputs of [false, true]) {
    it(`hold O(records), not O(reducers), per output (shareOutputs ${shareOutputs})`, () => {
      const reducers = 50_000;
      const maps = 100;
      const m = new SpillingShuffleManager({
        workerIndex: 0,
        dir: path.join(scratch, `m${shareOutputs}`),
        spillBytes: 1 << 30,
        writeAllToDisk: false,
        moveReadOutputs: true,
        shareOutputs,
      });
      // A first output, dropped: code compiled for the first time stays on the heap and is no part of what outputs hold.
      m.writer(9, 0, reducers).close();
      m.remove(9);
      const before = live();
      const statuses = [];
      for (let mapId = 0; mapId < maps; mapId++) {
        const w = m.writer(0, mapId, reducers);
        // Two records, in reducers far apart: a map task's few records of SparkTC's late rounds.
        w.add((mapId * 7919) % reducers, [mapId, 1]);
        w.add((mapId * 104_729 + 1) % reducers, [mapId, 2]);
        const status = w.close();
        // The driver keeps the handle (its two buckets' places and the state) until every reducer read them.
        if (shareOutputs) expect(status.shared!.ids.length).toBe(2);
        statuses.push(status.shared);
      }
      const perOutput = (live() - before) / maps;
      // R slots of 4 bytes (compressed pointers) are 200 KB an output; the records and their columns a few hundred
      // bytes. Before: ~1 MB an output (five arrays of R slots), ~200 KB more shared.
      expect(perOutput).toBeLessThan(16 * 1024);
      // Every record is still served, and an empty bucket is empty.
      for (let mapId = 0; mapId < maps; mapId++) {
        expect(decodeBucket(m.fetchEncoded(0, [mapId], (mapId * 7919) % reducers)[0]!)).toContainEqual([mapId, 1]);
        expect(m.fetchEncoded(0, [mapId], reducers - 1 - (mapId % 3))[0]!.length).toBeLessThanOrEqual(1);
      }
      expect(statuses.length).toBe(maps);
      m.close();
    });
  }
});
