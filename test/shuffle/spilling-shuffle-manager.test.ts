/**
 * A map task's writer (SpillingShuffleManager.writer, both engines) costs what the task writes: its records and the
 * reducers it writes to, not the shuffle's reducer count. Spark's SparkTC doubles its partitions every round; at
 * 16,384 and 32,768 partitions each map task wrote a few records, yet made and filled three arrays of R slots and
 * walked all R at close: O(M x R) per shuffle (rounds 13 and 14 took 113 s and 409 s, session 32).
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { denseSizes } from '../../src/shuffle/sparse-buckets.js';
import { encodeBucket } from '../../src/shuffle/bucket-codec.js';
import { compareKeys } from '../../src/core/keys.js';
import type { Pair } from '../../src/core/pair.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-spilling-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;

describe('a map task writing a few records into a shuffle of many reducers', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const live = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };

  for (const writeAllToDisk of [false, true]) {
    it(`holds per-reducer state for the reducers written to only (writeAllToDisk ${writeAllToDisk})`, () => {
      const reducers = 1_000_000;
      const m = new SpillingShuffleManager({ workerIndex: 0, dir: path.join(scratch, `few${dirs++}`), spillBytes: 1 << 30, writeAllToDisk });
      // A first writer: code compiled for the first time stays on the heap and is no part of what a writer holds.
      const first = m.writer(9, 0, reducers);
      first.add(1, [1, 1]);
      first.close();
      m.remove(9);
      const before = live();
      const w = m.writer(0, 0, reducers);
      w.add(999_999, ['a', 1]);
      w.add(3, ['b', 2]);
      w.add(500_000, ['c', 3]);
      w.add(3, ['d', 4]);
      // Measured while the writer is open, when its per-reducer state is held: one slot of 4+ bytes per reducer in
      // each of three arrays was 12 MB or more; three reducers' state is a few hundred bytes.
      const held = live() - before;
      expect(held).toBeLessThan(1 << 20);
      const status = w.close();
      // The status names the three reducers written to.
      expect('list' in status.sizes && [...status.sizes.ids]).toEqual([3, 500_000, 999_999]);
      expect('list' in status.sizes && status.sizes.list).toEqual([2, 1, 1]);
      expect(m.fetchBuckets(0, [0], 3)[0]).toEqual([
        ['b', 2],
        ['d', 4],
      ]);
      expect(m.fetchBuckets(0, [0], 4)[0]).toEqual([]);
      m.close();
    });
  }

  it('refuses a reduce partition outside the shuffle, naming it', () => {
    const m = new SpillingShuffleManager({ workerIndex: 0, dir: path.join(scratch, `range${dirs++}`), spillBytes: 1 << 30, writeAllToDisk: false });
    for (const reducers of [4, 100_000]) {
      const w = m.writer(0, 0, reducers);
      expect(() => w.add(reducers, [1, 1])).toThrow(`reduce partition ${reducers} is not one of the shuffle's ${reducers}`);
      expect(() => w.add(-1, [1, 1])).toThrow(/reduce partition -1/);
      w.abort?.();
    }
    m.close();
  });
});

/** Keys of one kind per output, of every kind the codec stores apart: ints, doubles, strings (latin1 and not), rows, null. */
const keysOfAKind = fc.oneof(
  fc.constant(fc.integer({ min: -5, max: 5 })),
  fc.constant(fc.integer()),
  fc.constant(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0))),
  fc.constant(fc.string({ maxLength: 6 })),
  fc.constant(fc.string({ unit: 'binary', maxLength: 4 })),
  fc.constant(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }))),
  fc.constant(fc.constant(null)),
) as fc.Arbitrary<fc.Arbitrary<unknown>>;

const reducerCounts = fc.oneof(
  fc.constant(1),
  fc.integer({ min: 2, max: 8 }),
  fc.integer({ min: 9, max: 2_000 }),
  fc.integer({ min: 2_001, max: 100_000 }),
);

describe('what a writer stores, read back', () => {
  it('is each reducer`s records in the order written (sorted by key once spilled), for any R, keys and counts (property)', () => {
    fc.assert(
      fc.property(
        reducerCounts,
        keysOfAKind.chain((keys) => fc.array(fc.tuple(fc.nat(), keys, fc.integer()), { maxLength: 300 })),
        fc.boolean(),
        fc.constantFrom('memory', 'spills', 'disk'),
        fc.boolean(),
        fc.boolean(),
        (reducers, drawn, toEvery, mode, encoded, shareOutputs) => {
          const records: Array<[number, Pair]> = drawn.map(([r, k, v]) => [r % reducers, [k, v]]);
          // Records to every reducer (the dense case: word count, PageRank), where there are few enough.
          if (toEvery && reducers <= 2_000) for (let r = 0; r < reducers; r++) records.push([r, [drawn[0]?.[1] ?? r, r]]);
          const m = new SpillingShuffleManager({
            workerIndex: 0,
            dir: path.join(scratch, `p${dirs++}`),
            spillBytes: mode === 'spills' ? 600 : 1 << 30,
            writeAllToDisk: mode === 'disk',
            shareOutputs,
          });
          const w = m.writer(0, 0, reducers);
          // Runs of one reducer's records go through addEncoded, as a map-side combine's columns do.
          for (let i = 0; i < records.length; ) {
            const r = records[i]![0];
            let j = i + 1;
            while (j < records.length && records[j]![0] === r) j++;
            if (encoded && j - i > 1) w.addEncoded!(r, encodeBucket(records.slice(i, j).map(([, kv]) => kv)));
            else for (let k = i; k < j; k++) w.add(r, records[k]![1]);
            i = j;
          }
          const status = w.close();
          const spilled = mode === 'disk' || m.spills > 0;
          const expected = new Map<number, Pair[]>();
          for (const [r, kv] of records) {
            const b = expected.get(r);
            if (b === undefined) expected.set(r, [kv]);
            else b.push(kv);
          }
          const counts = new Array<number>(reducers).fill(0);
          for (const [r, b] of expected) counts[r] = b.length;
          expect(denseSizes(status.sizes)).toEqual(counts);
          // Every reducer where there are few, else those written to and their neighbours.
          const asked =
            reducers <= 2_000
              ? counts.map((_, r) => r)
              : [...expected.keys()].flatMap((r) => [r, r + 1, r - 1]).filter((r) => r >= 0 && r < reducers);
          for (const r of asked) {
            const want = expected.get(r) ?? [];
            expect(m.fetchBuckets(0, [0], r)[0]).toEqual(spilled ? [...want].sort((a, b) => compareKeys(a[0], b[0])) : want);
          }
          m.close();
        },
      ),
      { numRuns: 50 },
    );
  });
});
