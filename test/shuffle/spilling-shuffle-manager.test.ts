/**
 * A map task's writer (SpillingShuffleManager.writer, both engines) costs what the task writes: its records and the
 * reducers it writes to, not the shuffle's reducer count. Spark's SparkTC doubles its partitions every round; at
 * 16,384 and 32,768 partitions each map task wrote a few records, yet made and filled three arrays of R slots and
 * walked all R at close: O(M x R) per shuffle (rounds 13 and 14 took 113 s and 409 s, session 32).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { liveHeapBytes } from '../fixtures/live-heap.js';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { denseSizes } from '../../src/shuffle/sparse-buckets.js';
import { decodeBucket, encodeBucket } from '../../src/shuffle/bucket-codec.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import { compareKeys } from '../../src/core/keys.js';
import type { Pair } from '../../src/core/pair.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-spilling-writer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;

describe('a map task writing a few records into a shuffle of many reducers', () => {
  const live = (): number => liveHeapBytes(true);

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

describe('a spill on disk', () => {
  // A word count over 7,296 small files (7,296 map tasks into 7,296 reducers) wrote a file per reducer per spill:
  // 3.7 million files, 15 GB of mostly empty 4 KB blocks, minutes to write and as long to remove at stop().
  const reducers = 5_000;
  const fill = (w: ReturnType<SpillingShuffleManager['writer']>, n: number): void => {
    for (let i = 0; i < n; i++) w.add((i * 7919) % reducers, [`w${i}`, i]);
  };
  const spillFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('shuffle_'));

  it('is one file per spill of a map task, whatever the reducers it wrote to, and reads back every bucket', () => {
    const dir = path.join(scratch, `one${dirs++}`);
    const m = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 64 << 10, writeAllToDisk: false });
    const w = m.writer(3, 1, reducers);
    fill(w, 20_000);
    w.close();
    expect(m.spills).toBeGreaterThan(1);
    expect(spillFiles(dir).length).toBe(m.spills);
    const got = new Map<string, number>();
    for (let r = 0; r < reducers; r++) for (const [k, v] of m.fetchBuckets(3, [1], r)[0]!) got.set(k as string, v as number);
    expect(got.size).toBe(20_000);
    for (let i = 0; i < 20_000; i++) expect(got.get(`w${i}`)).toBe(i);
    m.remove(3);
    expect(spillFiles(dir)).toEqual([]);
    m.close();
  });

  it('is one file per map task in the disk engine (writeAllToDisk), read back in parts as a fetch does', () => {
    const dir = path.join(scratch, `disk${dirs++}`);
    const m = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: true });
    for (let map = 0; map < 3; map++) {
      const w = m.writer(4, map, reducers);
      fill(w, 3_000);
      w.close();
    }
    expect(spillFiles(dir).length).toBe(3);
    // Bucket 0 of every map output, a record at a time: the parts stop at each run's end, never in the next one's.
    const r = 0;
    const want = m.fetchBuckets(4, [0, 1, 2], r).flat();
    const parts: unknown[] = [];
    let rest: Parameters<SpillingShuffleManager['fetchParts']>[3] | undefined = { segment: 0, offset: 0 };
    let maps = [0, 1, 2];
    while (rest !== undefined) {
      const got = m.fetchParts(4, maps, r, rest, 1);
      for (const b of got.buckets) parts.push(...decodeBucket(b));
      if (got.rest === undefined) break;
      maps = maps.slice(got.rest.index);
      rest = got.rest.at;
    }
    expect(parts).toEqual(want);
    m.close();
  });

  it('of a stored output, made by the pool to make room, is one file', () => {
    const dir = path.join(scratch, `pool${dirs++}`);
    const budget = new MemoryBudget(1 << 30, dir);
    const m = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, budget });
    const w = m.writer(5, 0, reducers);
    fill(w, 10_000);
    w.close();
    expect(m.spills).toBe(0);
    // Another consumer takes the whole pool: the stored output is spilled, every non-empty bucket at once.
    const other = { bytes: 0, spill: () => undefined };
    budget.register(other);
    budget.update(other, 1 << 30);
    expect(m.spills).toBe(1);
    expect(spillFiles(dir).length).toBe(1);
    let n = 0;
    for (let r = 0; r < reducers; r++) n += m.fetchBuckets(5, [0], r)[0]!.length;
    expect(n).toBe(10_000);
    m.close();
  });
});
