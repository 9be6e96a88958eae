/**
 * A map-side combine whose groups all have int32 keys and number combiners (a reduceByKey of numbers) hands them
 * to the shuffle writer as columns, bucketed without a pair per group (shuffle-writer.ts, placeColumns; the
 * writer's addEncoded). What the shuffle stores and serves must be exactly what the pair path stores: the same
 * records per reduce partition in the same order, the same counts, for keys of every kind (int32 and the numbers
 * that are not: -0, NaN, fractions, beyond int32; strings, arrays; all strings, which take the columns too) and combiners of every kind (any number, or a
 * merge that stops returning numbers), with and without spills, in memory and on disk (the mapreduce engine).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HashPartitioner, RangePartitioner, type Partitioner } from '../../src/core/partitioner.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { decodeBucket, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';
import type { MapOutputWriter } from '../../src/shuffle/shuffle-manager.js';
import { writeShuffleOutput } from '../../src/shuffle/shuffle-writer.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { denseSizes } from '../../src/shuffle/sparse-buckets.js';

// The specs' temporary folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-shuffle-writer-columns-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Deep equality that tells -0 from 0 and NaN from nothing (toEqual does not). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

const intKey = fc.integer({ min: -50, max: 400 });
const otherKey = fc.constantFrom<unknown>(-0, NaN, 0.5, 2 ** 31, -(2 ** 31) - 1, 'a', '', 'é', [1, 2]);
const value = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, NaN, Infinity, 2 ** 53, 0.1));
/** Mostly int32 keys only (the columns), sometimes one key of another kind anywhere (the pairs). */
const records = fc.oneof(
  fc.array(fc.tuple(intKey, value), { minLength: 0, maxLength: 3000 }),
  fc.array(fc.tuple(fc.oneof({ weight: 20, arbitrary: intKey }, { weight: 1, arbitrary: otherKey }), value), { maxLength: 3000 }),
) as fc.Arbitrary<Pair[]>;

/** Words of any characters, short and long, repeating; sometimes one key of another kind anywhere (the pairs). */
const word = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('a', 'ba', 'é', '\u0001x', 'a word over nine chars', ''));
const stringRecords = fc.oneof(
  fc.array(fc.tuple(word, value), { minLength: 0, maxLength: 3000 }),
  fc.array(fc.tuple(fc.oneof({ weight: 30, arbitrary: word }, { weight: 1, arbitrary: otherKey }), value), { maxLength: 3000 }),
) as fc.Arbitrary<Pair[]>;

const sum: Aggregator = {
  createCombiner: (v) => v,
  mergeValue: (a, b) => (a as number) + (b as number),
  mergeCombiners: (a, b) => (a as number) + (b as number),
};
/** Stops returning numbers for a large enough sum: the groups then leave the number table. */
const capped: Aggregator = {
  createCombiner: (v) => v,
  mergeValue: (a, b) => (typeof a === 'number' && a > 1e9 ? `big ${a}` : typeof a === 'number' ? a + (b as number) : a),
  mergeCombiners: (a) => a,
};

// 2,500 partitions: past the writers' table of reducer slots (a Map of the partitions written to then).
const partitioners: Partitioner[] = [
  new HashPartitioner(1),
  new HashPartitioner(3),
  new HashPartitioner(7),
  new HashPartitioner(2_500),
  new RangePartitioner(3, [0, 100], true),
];

/** A map output writer over a fresh manager's writer (map 0, 2 reducers) that counts what reaches it as pairs and as encoded columns. */
function countingWriter(): { manager: SpillingShuffleManager; out: MapOutputWriter; counts: { pairs: number; encoded: number } } {
  const dir = mkdtempSync(path.join(scratch, 'swc-'));
  const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false });
  const w = manager.writer(0, 0, 2);
  const counts = { pairs: 0, encoded: 0 };
  const out: MapOutputWriter = {
    add: (r, kv) => {
      counts.pairs++;
      w.add(r, kv);
    },
    addEncoded: (r, e) => {
      counts.encoded += e.length;
      w.addEncoded!(r, e);
    },
    close: w.close,
  };
  return { manager, out, counts };
}

afterEach(() => setWorkerMemoryBudget(undefined));

/** Writes `data` through a fresh manager; `columns` false hides the writer's addEncoded (the pair path). */
function written(
  data: readonly Pair[],
  agg: Aggregator,
  partitioner: Partitioner,
  columns: boolean,
  opts: { writeAllToDisk: boolean; spillBytes: number; budget: number | undefined },
): { sizes: readonly number[]; buckets: (readonly unknown[])[] } {
  const dir = mkdtempSync(path.join(scratch, 'swc-'));
  const budget = opts.budget === undefined ? undefined : new MemoryBudget(opts.budget, dir);
  setWorkerMemoryBudget(budget);
  const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: opts.spillBytes, writeAllToDisk: opts.writeAllToDisk, budget });
  try {
    const w = manager.writer(0, 0, partitioner.numPartitions);
    const out: MapOutputWriter = columns ? w : { add: w.add, close: w.close, abort: w.abort };
    const wire = { shuffleId: 0, partitioner: partitioner.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
    const status = writeShuffleOutput((f) => data.forEach(f), 'contributions', wire, agg, out, partitioner);
    const buckets: (readonly unknown[])[] = [];
    for (let r = 0; r < partitioner.numPartitions; r++) buckets.push(manager.fetchBuckets(0, [0], r)[0]!);
    return { sizes: denseSizes(status.sizes), buckets };
  } finally {
    manager.close();
  }
}

describe('map-side combine of numbers bucketed as columns', () => {
  it('stores exactly what the pair path stores, in memory (property)', () => {
    fc.assert(
      fc.property(records, fc.constantFrom(...partitioners), fc.constantFrom(sum, capped), (data, p, agg) => {
        const opts = { writeAllToDisk: false, spillBytes: 1 << 30, budget: undefined };
        const a = written(data, agg, p, true, opts);
        const b = written(data, agg, p, false, opts);
        expect(a.sizes).toEqual(b.sizes);
        expect(same(a.buckets, b.buckets)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('stores exactly what the pair path stores when the writer spills, and on disk (property)', () => {
    fc.assert(
      fc.property(
        records,
        fc.constantFrom(...partitioners),
        fc.record({ writeAllToDisk: fc.boolean(), spillBytes: fc.constantFrom(2_000, 1 << 30), budget: fc.constantFrom(undefined, 4_000, 1 << 30) }),
        (data, p, opts) => {
          const a = written(data, sum, p, true, opts);
          const b = written(data, sum, p, false, opts);
          expect(a.sizes).toEqual(b.sizes);
          // A spilled output is served sorted by key, whichever path wrote it; numbers compared exactly.
          expect(same(a.buckets, b.buckets)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('string keys: stores exactly what the pair path stores, with and without spills, in memory and on disk (property)', () => {
    fc.assert(
      fc.property(
        stringRecords,
        fc.constantFrom(...partitioners),
        fc.constantFrom(sum, capped),
        fc.record({ writeAllToDisk: fc.boolean(), spillBytes: fc.constantFrom(2_000, 1 << 30), budget: fc.constantFrom(undefined, 4_000, 1 << 30) }),
        (data, p, agg, opts) => {
          const a = written(data, agg, p, true, opts);
          const b = written(data, agg, p, false, opts);
          expect(a.sizes).toEqual(b.sizes);
          expect(same(a.buckets, b.buckets)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('takes the column path for string keys with number sums', () => {
    const { manager, out, counts } = countingWriter();
    const data: Pair[] = Array.from({ length: 10_000 }, (_, i) => [`w${(i * 7) % 1000}`, 1]);
    const p = new HashPartitioner(2);
    const wire = { shuffleId: 0, partitioner: p.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
    expect(denseSizes(writeShuffleOutput((f) => data.forEach(f), 'words', wire, sum, out, p).sizes).reduce((x, y) => x + y)).toBe(1000);
    expect([counts.pairs, counts.encoded]).toEqual([0, 1000]);
    const all = [...manager.fetchBuckets(0, [0], 0)[0]!, ...manager.fetchBuckets(0, [0], 1)[0]!];
    expect(all.map(([, v]) => v)).toEqual(new Array(1000).fill(10));
    expect(new Set(all.map(([k]) => k)).size).toBe(1000);
    manager.close();
  });

  it('hands each string bucket of a partitioner that needs the keys over as a packed array (V8 clones an array with holes entry by entry)', () => {
    // Under any partitioner but the HashPartitioner the keys themselves are placed: the plain-array path this spec is
    // about (a HashPartitioner's buckets are columns of chars, the next spec).
    const seen: string[][] = [];
    const out: MapOutputWriter = {
      add: () => {
        throw new Error('pairs instead of columns');
      },
      addEncoded: (_r, e) => {
        if (e.keys.kind !== 'any') throw new Error(`a key column of kind ${e.keys.kind}`);
        seen.push(e.keys.data as string[]);
      },
      close: () => ({ sizes: [] }),
    };
    const data: Pair[] = Array.from({ length: 5_000 }, (_, i) => [`\u0101w${(i * 7) % 2000}`, 1]);
    const p = new RangePartitioner(3, ['\u0101w1', '\u0101w5'], true);
    const wire = { shuffleId: 0, partitioner: p.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
    writeShuffleOutput((f) => data.forEach(f), 'words', wire, sum, out, p);
    expect(seen.map((k) => k.length).reduce((x, y) => x + y)).toBe(2000);
    // An array built by pushes is packed; one with holes (`new Array(n)`, even filled, and its copies) serializes
    // in V8's sparse form, longer.
    for (const keys of seen) {
      const packed: string[] = [];
      for (const k of keys) packed.push(k);
      expect(v8.serialize(keys).equals(v8.serialize(packed))).toBe(true);
    }
  });

  it('hands latin1 string keys under a hash partitioner over as byte columns, each key in its hash partition', () => {
    const seen = new Map<number, EncodedBucket>();
    const out: MapOutputWriter = {
      add: () => {
        throw new Error('pairs instead of columns');
      },
      addEncoded: (r, e) => {
        expect(seen.has(r)).toBe(false);
        seen.set(r, e);
      },
      close: () => ({ sizes: [] }),
    };
    // Packed keys (up to 8 chars), longer ones, the empty string and chars 128-255.
    const keyOf = (i: number): string => (i % 5 === 0 ? `a long word number ${i}` : i % 7 === 0 ? `\u00e9\u00ff${i}` : i === 1 ? '' : `w${i}`);
    const data: Pair[] = Array.from({ length: 6_000 }, (_, i) => [keyOf((i * 7) % 2000), 1]);
    const p = new HashPartitioner(3);
    const wire = { shuffleId: 0, partitioner: p.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
    writeShuffleOutput((f) => data.forEach(f), 'words', wire, sum, out, p);
    const got = new Map<unknown, unknown>();
    for (const [r, e] of seen) {
      expect(e.keys.kind).toBe('latin1');
      for (const [k, v] of decodeBucket(e)) {
        expect(p.getPartition(k)).toBe(r);
        got.set(k, v);
      }
    }
    const expected = new Map<unknown, unknown>();
    for (const [k] of data) expected.set(k, ((expected.get(k) as number | undefined) ?? 0) + 1);
    expect(got).toEqual(expected);
  });

  it('takes the column path for int32 keys with number sums (the writer receives columns, not pairs)', () => {
    const { manager, out, counts } = countingWriter();
    const data: Pair[] = Array.from({ length: 10_000 }, (_, i) => [(i * 7) % 1000, 0.5]);
    const p = new HashPartitioner(2);
    const wire = { shuffleId: 0, partitioner: p.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
    expect(denseSizes(writeShuffleOutput((f) => data.forEach(f), 'contributions', wire, sum, out, p).sizes).reduce((x, y) => x + y)).toBe(1000);
    expect([counts.pairs, counts.encoded]).toEqual([0, 1000]);
    const all = [...manager.fetchBuckets(0, [0], 0)[0]!, ...manager.fetchBuckets(0, [0], 1)[0]!];
    expect(all.map(([, v]) => v)).toEqual(new Array(1000).fill(5));
    manager.close();
  });
});
