/**
 * Set-like operations: distinct, intersection, subtract, union, with structural elements and partition counts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashPartitioner, structuralMap } from 'kindling';
import { MODES, numSorted, sorted, useContext } from './helpers.js';

/** How many times each element occurs, elements compared as the engine's keys are (NaN, null and undefined apart). */
function occurrences(xs: readonly unknown[]): Map<unknown, number> {
  const m = structuralMap<unknown, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

describe.each(MODES)('set operations (%s)', (master) => {
  const ctx = useContext(master);

  describe('distinct', () => {
    it('removes duplicates', async () => {
      expect(numSorted(await ctx().parallelize([3, 1, 3, 2, 1, 3], 3).distinct().collect())).toEqual([1, 2, 3]);
      expect(await ctx().parallelize<number>([], 2).distinct().collect()).toEqual([]);
    });

    it('compares structurally (arrays, objects in any key order, -0 and 0)', async () => {
      const out = await ctx()
        .parallelize<unknown>([[1, 2], { a: 1, b: 2 }, [1, 2], { b: 2, a: 1 }, [2, 1], 'x', 'x', 0, -0, '0', null, null], 4)
        .distinct()
        .collect();
      expect(out).toHaveLength(7);
      expect(sorted(out)).toEqual(sorted([[1, 2], { a: 1, b: 2 }, [2, 1], 'x', 0, '0', null]));
    });

    it('defaults to the input partition count; takes an explicit count', async () => {
      const r = ctx().parallelize([1, 1, 2], 3);
      expect(r.distinct().getNumPartitions()).toBe(3);
      const d = r.distinct(5);
      expect(d.getNumPartitions()).toBe(5);
      expect(numSorted(await d.collect())).toEqual([1, 2]);
      expect(() => r.distinct(0)).toThrow(RangeError);
    });

    it("with a known partitioner and no other count, removes duplicates within partitions: no shuffle, the partitioner kept (Spark's RDDSuite)", async () => {
      const sc = ctx();
      const xs = Array.from({ length: 100 }, (_, i) => i + 1);
      for (const rdd of [
        sc
          .parallelize(xs, 10)
          .map((x) => [x % 10, x % 10] as [number, number])
          .sortByKey(),
        sc
          .parallelize(xs, 10)
          .map((x) => [x % 10, x % 10] as [number, number])
          .partitionBy(4),
      ]) {
        const shuffles = (r: { toDebugString(): string }): number => r.toDebugString().split('ShuffledRDD').length - 1;
        const d = rdd.distinct();
        expect(d.partitioner).toBe(rdd.partitioner);
        expect(d.getNumPartitions()).toBe(rdd.getNumPartitions());
        expect(shuffles(d)).toBe(shuffles(rdd));
        const other = rdd.distinct(5);
        expect(other.partitioner).not.toBe(rdd.partitioner);
        const expected = Array.from({ length: 10 }, (_, k) => [k, k]);
        expect(sorted(await d.collect())).toEqual(sorted(expected));
        expect(sorted(await other.collect())).toEqual(sorted(expected));
        // The kept partitioner is true of the output: a lookup reads one partition and finds the key.
        expect(await d.lookup(3)).toEqual([3]);
      }
    });

    it('without a shuffle, gives what the shuffled distinct gives, for keys and values of every kind', async () => {
      const sc = ctx();
      const anything = fc.oneof(
        fc.integer({ min: -3, max: 3 }),
        fc.constantFrom('a', '', -0, NaN, null, undefined, true),
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('x', 'y')),
        fc.constantFrom({ p: 1, q: 2 }, { q: 2, p: 1 }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(anything, anything), { maxLength: 60 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 5 }),
          async (pairs, slices, parts) => {
            const partitioned = sc.parallelize(pairs, slices).partitionBy(parts);
            const local = partitioned.distinct();
            const shuffled = partitioned.distinct(parts + 1);
            const got = occurrences(await local.collect());
            const want = occurrences(await shuffled.collect());
            expect(got.size).toBe(want.size);
            for (const [x, n] of want) expect([x, got.get(x)]).toEqual([x, n]);
          },
        ),
        { numRuns: 10 },
      );
    });
  });

  describe('intersection', () => {
    it('keeps elements in both, without duplicates', async () => {
      const sc = ctx();
      const a = sc.parallelize([1, 2, 2, 3, 4, 4], 2);
      const b = sc.parallelize([4, 2, 2, 5, 6], 3);
      expect(numSorted(await a.intersection(b).collect())).toEqual([2, 4]);
      expect(await a.intersection(sc.parallelize<number>([], 1)).collect()).toEqual([]);
    });

    it('with structural elements', async () => {
      const sc = ctx();
      const a = sc.parallelize<unknown>([[1, 2], { x: 1, y: 2 }, 'a', [3]], 2);
      const b = sc.parallelize<unknown>([{ y: 2, x: 1 }, [1, 2], [1, 2], 'b', [3, 0]], 2);
      expect(sorted(await a.intersection(b).collect())).toEqual(sorted([[1, 2], { x: 1, y: 2 }]));
    });

    it('partition count: largest parent, or the one given', () => {
      const sc = ctx();
      const a = sc.parallelize([1], 2);
      const b = sc.parallelize([1], 4);
      expect(a.intersection(b).getNumPartitions()).toBe(4);
      expect(a.intersection(b, 3).getNumPartitions()).toBe(3);
    });

    it("takes a partitioner (Scala's intersection(other, partitioner)), a user's { numPartitions, getPartition } too", async () => {
      // A user partitioner failed at the call with a TypeError (reading 'context' of undefined) until session 45.
      const sc = ctx();
      const a = sc.parallelize([1, 2, 3, 4, 5, 5], 2);
      const b = sc.parallelize([2, 3, 5, 7], 2);
      const byThree = { numPartitions: 3, getPartition: (x: number) => x % 3 };
      const r = a.intersection(b, byThree);
      expect(r.getNumPartitions()).toBe(3);
      expect((await r.glom().collect()).map((p) => numSorted(p))).toEqual([[3], [], [2, 5]]);
      expect(numSorted(await a.intersection(b, new HashPartitioner(4)).collect())).toEqual([2, 3, 5]);
    });
  });

  describe('subtract', () => {
    it('keeps elements not in the other RDD, duplicates on the left kept', async () => {
      const sc = ctx();
      const a = sc.parallelize([1, 2, 2, 3, 4, 4, 5], 3);
      const b = sc.parallelize([2, 4, 9], 2);
      expect(numSorted(await a.subtract(b).collect())).toEqual([1, 3, 5]);
      const c = sc.parallelize([1, 1, 2, 3], 2);
      expect(numSorted(await c.subtract(sc.parallelize([2], 1)).collect())).toEqual([1, 1, 3]);
      expect(numSorted(await c.subtract(sc.emptyRDD<number>()).collect())).toEqual([1, 1, 2, 3]);
    });

    it('with structural elements', async () => {
      const sc = ctx();
      const a = sc.parallelize<unknown>([[1, 2], { x: 1, y: 2 }, [1, 2], 'k'], 2);
      const b = sc.parallelize<unknown>([{ y: 2, x: 1 }], 1);
      expect(sorted(await a.subtract(b).collect())).toEqual(sorted([[1, 2], [1, 2], 'k']));
    });

    it('follows the left side partition count', () => {
      const sc = ctx();
      const a = sc.parallelize([1], 2);
      const b = sc.parallelize([1], 6);
      expect(a.subtract(b).getNumPartitions()).toBe(2);
      expect(b.subtract(a).getNumPartitions()).toBe(6);
      expect(a.subtract(b, 4).getNumPartitions()).toBe(4);
      expect(() => a.subtract(b, 0)).toThrow(RangeError);
    });

    it("takes a partitioner, as Scala's subtract(other, partitioner); the left side's own places its pairs by key", async () => {
      const sc = ctx();
      const a = sc.parallelize([1, 2, 2, 3, 4, 4, 5], 3);
      const b = sc.parallelize([2, 4, 9], 2);
      const hashed = a.subtract(b, new HashPartitioner(4));
      expect(hashed.getNumPartitions()).toBe(4);
      expect(numSorted(await hashed.collect())).toEqual([1, 3, 5]);
      // A user's partitioner of the elements: each element lands where its getPartition says.
      const parity = { numPartitions: 2, getPartition: (x: number) => x % 2 };
      const byParity = await a.subtract(b, parity).glom().collect();
      expect(byParity.map((xs) => numSorted(xs))).toEqual([[], [1, 3, 5]]);
      // Pairs partitioned by a getPartition of numeric keys: given that same partitioner, Spark places each pair by its
      // key (the partitioner never sees a pair, which it could not place).
      const byKey = { numPartitions: 3, getPartition: (k: number) => k % 3 };
      const pairs = sc
        .parallelize<[number, string]>(
          [
            [1, 'a'],
            [2, 'b'],
            [3, 'c'],
            [4, 'd'],
          ],
          2,
        )
        .partitionBy(byKey);
      const minus = sc.parallelize<[number, string]>(
        [
          [2, 'b'],
          [3, 'x'],
        ],
        2,
      );
      const left = await pairs.subtract(minus, byKey).glom().collect();
      expect(left.map((xs) => sorted(xs))).toEqual([
        [[3, 'c']],
        sorted([
          [1, 'a'],
          [4, 'd'],
        ]),
        [],
      ]);
    });
  });

  it("a union of RDDs sharing a partitioner keeps it and its partitions, partition i holding each input's partition i (Spark's partitioner-aware union)", async () => {
    const sc = ctx();
    const keyed = (xs: number[]) =>
      sc
        .parallelize(xs, 1)
        .map((x) => [x, null] as [number, null])
        .partitionBy(new HashPartitioner(2));
    const a = keyed([1, 2, 3, 4]);
    const b = keyed([5, 6, 7, 8]);
    for (const u of [a.union(b), sc.union([a, b]), sc.union([sc.emptyRDD<[number, null]>(), a, b])]) {
      expect(u.getNumPartitions()).toBe(2);
      expect(u.partitioner).toBe(a.partitioner);
      const [pa, pb, pu] = await Promise.all([a.glom().collect(), b.glom().collect(), u.glom().collect()]);
      expect(pu).toEqual([pa[0]!.concat(pb[0]!), pa[1]!.concat(pb[1]!)]);
      // A join or reduce after it needs no other shuffle.
      const shuffles = (r: { toDebugString(): string }): Set<string> => new Set(r.toDebugString().match(/ShuffledRDD\[\d+\]/g));
      expect(shuffles(u.reduceByKey((x) => x))).toEqual(shuffles(u));
      expect(await u.lookup(7)).toEqual([null]);
    }
    // Inputs without one shared partitioner: the plain union, partitions side by side.
    expect(a.union(keyed([9]).partitionBy(3)).getNumPartitions()).toBe(5);
    expect(a.union(sc.parallelize<[number, null]>([[9, null]], 1)).partitioner).toBeUndefined();
  });

  it('a partitioner-aware union holds what the plain union holds', async () => {
    const sc = ctx();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer()), { maxLength: 20 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 5 }),
        async (inputs, parts) => {
          const rdds = inputs.map((xs) => sc.parallelize(xs, 2).partitionBy(parts));
          const u = sc.union(rdds);
          expect(u.getNumPartitions()).toBe(parts);
          const flat = inputs.flat();
          expect(sorted(await u.collect())).toEqual(sorted(flat));
          const sums = new Map<number, number>();
          for (const [k, v] of flat) sums.set(k, (sums.get(k) ?? 0) + v);
          expect(new Map(await u.reduceByKey((x, y) => x + y).collect())).toEqual(sums);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('union then distinct equals the set union', async () => {
    const sc = ctx();
    const a = sc.parallelize([1, 2, 3], 2);
    const b = sc.parallelize([3, 4, 1], 2);
    expect(numSorted(await a.union(b).collect())).toEqual([1, 1, 2, 3, 3, 4]);
    expect(numSorted(await a.union(b).distinct().collect())).toEqual([1, 2, 3, 4]);
  });
});
