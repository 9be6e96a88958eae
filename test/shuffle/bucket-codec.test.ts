/**
 * Shuffle buckets as columns (bucket-codec.ts): what a reducer gets back is what the structured clone of the
 * records would give, for columns of every kind (ints, doubles with -0 and NaN, null, undefined, rows of numbers,
 * rows that only look like rows, strings, structural keys, mixed), whether the bucket crossed to a peer or was
 * read from this worker's store. The memory engine keeps every stored map output in this form, so the same
 * programs must give the same results with it as the records themselves would (checked end to end on
 * local[2] against a plain-JS reference). Long results made of pairs reach the driver in the same form.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import { concatEncoded, decodeBucket, encodeBucket, encodeBuckets, unboxNumberArrays, unboxValue } from '../../src/shuffle/bucket-codec.js';
import { combineCombinersByKey } from '../../src/shuffle/combine.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { smallKey } from '../core/key-arbitraries.js';
import { column, double, int } from '../fixtures/column-arbitraries.js';
import { compareKeys, keyId } from '../../src/core/keys.js';
import { canonical, sorted, useContext } from '../rdd/helpers.js';

const bucket = fc
  .tuple(column, column)
  .chain(([k, v]) =>
    fc.array(
      fc.tuple(k, v).map((kv) => kv as Pair),
      { maxLength: 40 },
    ),
  )
  .chain((b) =>
    // Sometimes a bucket of rows gets a hole, which must not become undefined silently.
    fc.boolean().map((hole) => {
      const first = b[0]?.[0];
      if (hole && Array.isArray(first) && first.length > 1) {
        const holed = [...first];
        delete holed[1];
        b[0] = [holed, b[0]![1]];
      }
      return b;
    }),
  );

/** Arrays of numbers, alone and inside the combiners programs shuffle, with the cases unboxing must leave alone. */
const numberArray = fc.array(fc.oneof(int, double), { minLength: 1, maxLength: 12 });
const holey = numberArray.map((xs) => {
  const h = [...xs];
  h[h.length + 1] = 1.5;
  return h;
});
const named = numberArray.map((xs) => Object.assign([...xs], { label: 'kept' }));
const carrier = fc.oneof(
  numberArray,
  fc.tuple(numberArray, int, double), // k-means' [sum, count, cost]
  fc.record({ sum: numberArray, n: int }),
  fc.tuple(fc.constant('x'), numberArray, fc.constant(null)),
  fc.array(fc.oneof(double, fc.constant('s')), { minLength: 1, maxLength: 4 }),
  fc.tuple(fc.tuple(numberArray)), // two levels down: left as cloned
  fc.constant([]),
  holey,
  named,
  fc.tuple(holey, named),
  smallKey,
);
const carrierBucket = fc
  .tuple(fc.oneof(int, numberArray, smallKey), carrier)
  .chain(([k0, v0]) =>
    fc.array(fc.tuple(fc.oneof(fc.constant(k0), int, numberArray, smallKey), fc.oneof(fc.constant(v0), carrier)), { maxLength: 30 }),
  )
  .chain((b) =>
    // Sometimes one array object in two records, which the clone keeps shared.
    fc.nat().map((n) => {
      const out = [...b] as Pair[];
      if (out.length > 1 && n % 3 === 0) out[out.length - 1] = [b[0]![0], b[0]![1]];
      return out;
    }),
  );

describe('bucket codec', () => {
  it('unboxes the arrays of numbers of a cloned bucket, which then reads as the clone did, sharing kept', () => {
    v8.setFlagsFromString('--allow-natives-syntax');
    const hasDoubles = new Function('x', 'return %HasDoubleElements(x)') as (x: unknown) => boolean;
    let shared = 0;
    fc.assert(
      fc.property(fc.array(carrierBucket, { minLength: 1, maxLength: 3 }), (buckets) => {
        const { encoded, transfer } = encodeBuckets(buckets);
        const received = structuredClone(encoded, { transfer });
        const asCloned = received.map((e) => decodeBucket(structuredClone(e)));
        unboxNumberArrays(received);
        const unboxed = received.map(decodeBucket);
        expect(unboxed).toStrictEqual(asCloned);
        for (let b = 0; b < unboxed.length; b++) {
          for (let i = 0; i < unboxed[b]!.length; i++) {
            const [k, v] = unboxed[b]![i]!;
            for (const x of [k, v, ...(Array.isArray(v) ? v : [])]) {
              if (!Array.isArray(x)) continue;
              // An array of fractions with no hole and no named property is unboxed.
              const plain = x.length > 0 && Object.keys(x).length === x.length && x.every((n) => typeof n === 'number');
              if (plain && x.some((n) => !Number.isInteger(n) || Object.is(n, -0))) expect(hasDoubles(x)).toBe(true);
            }
          }
          // Records that shared an array after the trip (the clone keeps sharing; rows of numbers are rebuilt) still do.
          const c = asCloned[b]!;
          if (c.length > 1 && typeof c[0]![1] === 'object' && c[0]![1] !== null && c[0]![1] === c.at(-1)![1]) {
            expect(unboxed[b]!.at(-1)![1]).toBe(unboxed[b]![0]![1]);
            shared++;
          }
        }
      }),
      { numRuns: 400 },
    );
    expect(shared).toBeGreaterThan(10);
    // What the clone delivers is boxed: the reason for unboxing.
    const cloned = structuredClone([0.5, 1.5]);
    expect(hasDoubles(cloned)).toBe(false);
    const named = structuredClone(Object.assign([0.5], { label: 'kept' }));
    expect(named.label).toBe('kept');
    const e = encodeBucket([[1, [named, [0.5, 1.5]]]]);
    unboxNumberArrays([e]);
    const [kept, unboxed] = decodeBucket(e)[0]![1] as [typeof named, number[]];
    expect(kept).toBe(named);
    expect(hasDoubles(unboxed)).toBe(true);
  });

  it("unboxes one cloned value's arrays of numbers, as a reduce side's copy of a key's first combiner", () => {
    v8.setFlagsFromString('--allow-natives-syntax');
    const hasDoubles = new Function('x', 'return %HasDoubleElements(x)') as (x: unknown) => boolean;
    fc.assert(
      fc.property(carrier, (v) => {
        const asCloned = structuredClone(v);
        const copy = unboxValue(structuredClone(v));
        expect(copy).toStrictEqual(asCloned);
        for (const x of [copy, ...(Array.isArray(copy) ? copy : [])]) {
          if (!Array.isArray(x)) continue;
          const plain = x.length > 0 && Object.keys(x).length === x.length && x.every((n) => typeof n === 'number');
          if (plain && x.some((n) => !Number.isInteger(n) || Object.is(n, -0))) expect(hasDoubles(x)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    // The reduce side's merge of k-means-like combiners: the first combiner is a copy (mergeCombiners may change
    // it), equal to the stored one, with its vector unboxed.
    const stored: Pair = [0, [[0.5, 1.5], 1, 0.25]];
    const merged = combineCombinersByKey(
      (each) => {
        each(stored);
        each([0, [[0.25, 0.5], 2, 0.5]]);
      },
      {
        createCombiner: (c) => c,
        mergeValue: (a) => a,
        mergeCombiners: (a, b) => {
          const [s1, n1, d1] = a as [number[], number, number];
          const [s2, n2, d2] = b as [number[], number, number];
          for (let j = 0; j < s1.length; j++) s1[j]! += s2[j]!;
          return [s1, n1 + n2, d1 + d2];
        },
      },
      1,
      'test',
    );
    expect(merged).toStrictEqual([[0, [[0.75, 2], 3, 0.75]]]);
    expect(stored).toStrictEqual([0, [[0.5, 1.5], 1, 0.25]]);
    expect(hasDoubles((merged[0]![1] as [number[]])[0])).toBe(true);
  });
  it('decodes what a structured clone of the records would be, after its own trip through postMessage', () => {
    fc.assert(
      fc.property(bucket, (b) => {
        const { encoded, transfer } = encodeBuckets([b]);
        const received = structuredClone(encoded, { transfer });
        const decoded = decodeBucket(received[0]!);
        const cloned = structuredClone(b);
        expect(decoded).toEqual(cloned);
        // Arrays have the clone's own indices: a hole where it has one and nowhere else (toEqual does not tell).
        decoded.forEach((kv, i) => {
          for (const side of [0, 1] as const) {
            const x = kv[side];
            if (Array.isArray(x)) expect(Object.keys(x)).toEqual(Object.keys(cloned[i]![side] as unknown[]));
          }
        });
      }),
      { numRuns: 500 },
    );
  });

  it('joins encoded parts into one bucket of all their records, whatever the parts hold', () => {
    fc.assert(
      fc.property(fc.array(bucket, { maxLength: 5 }), (parts) => {
        const joined = concatEncoded(parts.map(encodeBucket));
        expect(decodeBucket(structuredClone(joined))).toEqual(structuredClone(parts.flat()));
      }),
      { numRuns: 500 },
    );
    // Ints then doubles stay one typed column.
    expect(concatEncoded([encodeBucket([[1, 2]]), encodeBucket([[1.5, 2]])]).keys.kind).toBe('f64');
  });

  it('a map task writing many records per bucket, whose kinds change on the way, stores them all in order', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kindling-codec-'));
    try {
      const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false });
      const records: Pair[] = [];
      for (let i = 0; i < 30_000; i++)
        records.push(i < 9000 ? [i, i] : i < 17_000 ? [i / 7, [i, -i]] : i < 25_000 ? [`k${i}`, null] : [[i, i], i / 3]);
      const w = manager.writer(3, 0, 2);
      records.forEach((kv, i) => w.add(i % 2, kv));
      w.close();
      for (const r of [0, 1]) expect(manager.fetchBuckets(3, [0], r)[0]).toEqual(records.filter((_, i) => i % 2 === r));
      manager.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps numeric pairs and rows of numbers in typed arrays', () => {
    expect(encodeBucket([[1, 0.5]]).keys.kind).toBe('i32');
    expect(encodeBucket([[1, 0.5]]).values.kind).toBe('f64');
    expect(encodeBucket([[[1, 2], null]]).keys).toMatchObject({ kind: 'i32rows', width: 2 });
    expect(encodeBucket([[[1, 2.5, -0], null]]).keys).toMatchObject({ kind: 'f64rows', width: 3 });
    expect(
      encodeBucket([
        [[1, 2], null],
        [[1], null],
      ]).keys.kind,
    ).toBe('any');
    expect(encodeBucket([[[1, 'a'], null]]).keys.kind).toBe('any');
  });

  it('a map output stored encoded reads back as its records, locally and as served to a peer, spilled or not', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kindling-codec-'));
    try {
      fc.assert(
        fc.property(fc.array(bucket, { minLength: 1, maxLength: 4 }), fc.boolean(), (buckets, spillAfter) => {
          // A pool of one byte: nothing spills while the output is written (records are few), but once another
          // consumer grows, the stored output is spilled to make room.
          const budget = new MemoryBudget(1, dir);
          const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, budget });
          const w = manager.writer(7, 0, buckets.length);
          buckets.forEach((b, r) => {
            for (const kv of b) w.add(r, kv);
          });
          w.close();
          // The pool may spill a stored output: it then reads back merged from its run, in key order.
          if (spillAfter) {
            const other = { bytes: 0, spill: () => undefined };
            budget.register(other);
            budget.update(other, 1);
          }
          buckets.forEach((b, r) => {
            const local = manager.fetchBuckets(7, [0], r)[0]!;
            const served = decodeBucket(structuredClone(manager.fetchEncoded(7, [0], r)[0]!));
            const expected = structuredClone(b);
            if (spillAfter && b.length > 0) {
              const byKey = (a: Pair, b: Pair): number => compareKeys(a[0], b[0]);
              // Equal keys may come back in another order: compare as multisets by their structured-clone form.
              expect([...local].sort(byKey).map((kv) => keyId(kv[0]))).toEqual(expected.sort(byKey).map((kv) => keyId(kv[0])));
              expect(new Set(local.map((kv) => keyId(kv)))).toEqual(new Set(expected.map((kv) => keyId(kv))));
            } else {
              expect(local).toEqual(expected);
            }
            expect(served).toEqual(local);
            // Reading does not consume or change what is stored.
            expect(manager.fetchBuckets(7, [0], r)[0]).toEqual(local);
          });
          manager.close();
        }),
        { numRuns: 150 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('programs over numeric and row keys give the reference results on local[2]', () => {
  const ctx = useContext('local[2]');
  const edge = fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 }));
  const anyKey = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true, min: -3, max: 3 }), edge, smallKey);

  it('distinct and groupByKey of edges, reduceByKey of number and mixed keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(edge, { maxLength: 200 }),
        fc.array(fc.tuple(anyKey, fc.double({ noNaN: true })), { maxLength: 120 }),
        async (edges, kvs) => {
          const sc = ctx();
          const distinct = await sc.parallelize(edges, 3).distinct(2).collect();
          expect(sorted(distinct)).toEqual(sorted([...new Map(edges.map((e) => [canonical(e), e])).values()]));
          const grouped = await sc
            .parallelize(edges, 3)
            .distinct(2)
            .groupByKey(2)
            .mapValues((vs) => vs.sort((a, b) => a - b))
            .collect();
          const ref = new Map<number, Set<number>>();
          for (const [s, d] of edges) ref.set(s, (ref.get(s) ?? new Set()).add(d));
          expect(sorted(grouped)).toEqual(sorted([...ref].map(([s, ds]) => [s, [...ds].sort((a, b) => a - b)])));
          const sums = await sc
            .parallelize(kvs, 3)
            .reduceByKey((a, b) => a + b, 2)
            .collect();
          const refSums = new Map<unknown, [unknown, number]>();
          for (const [k, v] of kvs) {
            const id = keyId(k);
            const g = refSums.get(id);
            if (g === undefined) refSums.set(id, [k, v]);
            else g[1] += v;
          }
          expect(sums.length).toBe(refSums.size);
          for (const [k, v] of sums) expect(v).toBeCloseTo(refSums.get(keyId(k))![1], 9);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('results of actions made of pairs reach the driver as they were', () => {
  const ctx = useContext('local[2]');

  it('collect of long lists of pairs of every kind (packed as columns from 512 elements) and of near-pairs', async () => {
    // One column kind per list, so that most lists have a compact form; some elements are not pairs at all.
    const list = fc.tuple(column, column, fc.integer({ min: 0, max: 1500 })).chain(([k, v, n]) =>
      fc.array(
        fc.tuple(k, v).map((kv) => kv as unknown),
        { minLength: n, maxLength: n },
      ),
    );
    const nearPair = fc.constantFrom<unknown>([1], [1, 2, 3], 7, 'ab', { 0: 1, 1: 2, length: 2 });
    await fc.assert(
      fc.asyncProperty(list, fc.option(fc.tuple(nearPair, fc.nat()), { nil: undefined }), async (xs, odd) => {
        if (odd !== undefined && xs.length > 0) xs[odd[1] % xs.length] = odd[0];
        // One slice: the whole list is one task's result.
        expect(await ctx().parallelize(xs, 1).collect()).toEqual(structuredClone(xs));
      }),
      { numRuns: 60 },
    );
  });
});
