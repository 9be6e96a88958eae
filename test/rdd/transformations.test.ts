/**
 * Element-wise and structural transformations: parallelize/range slicing, map/filter/flatMap, the
 * partition-wise operations, sample, zip, zipWithIndex, cartesian, coalesce, repartition, union, emptyRDD.
 */
import { describe, expect, it } from 'vitest';
import { capture } from 'kindling';
import { MODES, numSorted, sorted, useContext } from './helpers.js';

describe.each(MODES)('transformations (%s)', (master) => {
  const ctx = useContext(master);
  const workers = master === 'local' ? 1 : 2;

  describe('parallelize', () => {
    it('slices by Spark rule floor(i*len/n)', async () => {
      const sc = ctx();
      expect(await sc.parallelize([0, 1, 2, 3, 4], 2).glom().collect()).toEqual([
        [0, 1],
        [2, 3, 4],
      ]);
      expect(await sc.parallelize([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3).glom().collect()).toEqual([
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8, 9],
      ]);
      expect(await sc.parallelize(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 4).glom().collect()).toEqual([['a'], ['b', 'c'], ['d', 'e'], ['f', 'g']]);
    });

    it('leaves empty slices when there are more slices than elements', async () => {
      const sc = ctx();
      expect(await sc.parallelize([1, 2], 4).glom().collect()).toEqual([[], [1], [], [2]]);
      expect(await sc.parallelize([], 3).glom().collect()).toEqual([[], [], []]);
    });

    it('defaults to defaultParallelism slices (the worker count)', async () => {
      const sc = ctx();
      expect(sc.defaultParallelism).toBe(workers);
      const rdd = sc.parallelize([1, 2, 3, 4, 5]);
      expect(rdd.getNumPartitions()).toBe(workers);
      expect(await rdd.collect()).toEqual([1, 2, 3, 4, 5]);
    });

    it('accepts any iterable and keeps element order', async () => {
      const sc = ctx();
      function* gen(): Generator<number> {
        for (let i = 0; i < 6; i++) yield i * i;
      }
      expect(await sc.parallelize(gen(), 3).collect()).toEqual([0, 1, 4, 9, 16, 25]);
      expect(await sc.parallelize(new Set(['x', 'y', 'z']), 2).collect()).toEqual(['x', 'y', 'z']);
    });

    it('ships structured values unchanged', async () => {
      const sc = ctx();
      const data = [{ a: 1, b: [1, 2] }, [null, 'x'], 'str', 3.5, true, null];
      expect(await sc.parallelize(data, 4).collect()).toEqual(data);
    });

    it('rejects a bad slice count at the call', () => {
      const sc = ctx();
      expect(() => sc.parallelize([1], 0)).toThrow(/partitions/);
      expect(() => sc.parallelize([1], -1)).toThrow(RangeError);
      expect(() => sc.parallelize([1], 1.5)).toThrow(RangeError);
    });
  });

  describe('range', () => {
    it('one argument means range(0, n)', async () => {
      expect(await ctx().range(5).collect()).toEqual([0, 1, 2, 3, 4]);
      expect(await ctx().range(0).collect()).toEqual([]);
    });

    it('start, end and positive step (end exclusive)', async () => {
      const sc = ctx();
      expect(await sc.range(2, 8).collect()).toEqual([2, 3, 4, 5, 6, 7]);
      expect(await sc.range(0, 10, 3).collect()).toEqual([0, 3, 6, 9]);
      expect(await sc.range(0, 9, 3).collect()).toEqual([0, 3, 6]);
      expect(await sc.range(5, 5).collect()).toEqual([]);
      expect(await sc.range(5, 2).collect()).toEqual([]);
    });

    it('negative step counts down', async () => {
      const sc = ctx();
      expect(await sc.range(10, 0, -3).collect()).toEqual([10, 7, 4, 1]);
      expect(await sc.range(3, -3, -2).collect()).toEqual([3, 1, -1]);
      expect(await sc.range(0, 5, -1).collect()).toEqual([]);
    });

    it('end may be undefined while step or numSlices is given', async () => {
      const sc = ctx();
      expect(await sc.range(5, undefined, 2).collect()).toEqual([0, 2, 4]);
      const r = sc.range(6, undefined, 1, 3);
      expect(r.getNumPartitions()).toBe(3);
      expect(await r.glom().collect()).toEqual([
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      expect(await sc.range(1, 10, 2, 2).glom().collect()).toEqual([
        [1, 3],
        [5, 7, 9],
      ]);
    });

    it('slices like parallelize, with empty slices when short', async () => {
      const sc = ctx();
      expect(await sc.range(0, 2, 1, 4).glom().collect()).toEqual([[], [0], [], [1]]);
      expect(sc.range(10).getNumPartitions()).toBe(workers);
    });

    it('rejects a zero step and a bad slice count at the call', () => {
      const sc = ctx();
      expect(() => sc.range(0, 10, 0)).toThrow(/step/);
      expect(() => sc.range(0, 10, 1, 0)).toThrow(RangeError);
    });
  });

  describe('element-wise', () => {
    it('map, filter and flatMap pipeline', async () => {
      const sc = ctx();
      const out = await sc
        .range(1, 11, 1, 3)
        .map((x) => x * 10)
        .filter((x) => x % 20 === 0)
        .flatMap((x) => [x, -x])
        .collect();
      expect(out).toEqual([20, -20, 40, -40, 60, -60, 80, -80, 100, -100]);
    });

    it('flatMap accepts any iterable (generator, Set, string) and empty results', async () => {
      const sc = ctx();
      expect(
        await sc
          .parallelize(['ab', '', 'c'], 2)
          .flatMap((s) => s)
          .collect(),
      ).toEqual(['a', 'b', 'c']);
      expect(
        await sc
          .parallelize([1, 2, 3], 2)
          .flatMap(function* (n) {
            for (let i = 0; i < n; i++) yield n;
          })
          .collect(),
      ).toEqual([1, 2, 2, 3, 3, 3]);
      expect(
        await sc
          .parallelize([1, 1, 2], 2)
          .flatMap((x) => new Set([x, x + 1]))
          .collect(),
      ).toEqual([1, 2, 1, 2, 2, 3]);
      expect(
        await sc
          .parallelize([1, 2], 2)
          .flatMap(() => [])
          .collect(),
      ).toEqual([]);
    });

    it('flatMap rejects a non-iterable result', async () => {
      await expect(
        ctx()
          .parallelize([1, 2], 2)
          .flatMap(() => 5 as unknown as number[])
          .collect(),
      ).rejects.toThrow(/Iterable/);
    });

    it('map may return undefined and null elements', async () => {
      expect(
        await ctx()
          .parallelize([1, 2, 3], 2)
          .map((x) => (x === 2 ? null : x === 3 ? undefined : x))
          .collect(),
      ).toEqual([1, null, undefined]);
    });

    it('keyBy pairs each element with its key', async () => {
      expect(
        await ctx()
          .parallelize(['ab', 'c', 'def'], 2)
          .keyBy((s) => s.length)
          .collect(),
      ).toEqual([
        [2, 'ab'],
        [1, 'c'],
        [3, 'def'],
      ]);
    });

    it('captured values and helper functions reach the workers', async () => {
      const sc = ctx();
      const factor = 3;
      const offsets = { a: 100 };
      const inc = (x: number): number => x + 1;
      const scaled = capture({ factor, inc }, (x: number) => inc(x) * factor);
      expect(
        await sc
          .parallelize([1, 2, 3], 2)
          .map(capture({ scaled, offsets }, (x: number) => scaled(x) + offsets.a))
          .collect(),
      ).toEqual([106, 109, 112]);
    });

    it('transformations are lazy: nothing runs until an action', async () => {
      const sc = ctx();
      const acc = sc.accumulator(0);
      const mapped = sc.parallelize([1, 2, 3], 2).map(
        capture({ acc }, (x: number) => {
          acc.add(1);
          return x;
        }),
      );
      await new Promise((r) => setTimeout(r, 20));
      expect(acc.value).toBe(0);
      expect(await mapped.count()).toBe(3);
      expect(acc.value).toBe(3);
    });
  });

  describe('partition-wise', () => {
    it('mapPartitions sees each partition as one iterable', async () => {
      const sums = await ctx()
        .parallelize([1, 2, 3, 4, 5, 6], 3)
        .mapPartitions(function* (it) {
          let s = 0;
          for (const x of it) s += x;
          yield s;
        })
        .collect();
      expect(sums).toEqual([3, 7, 11]);
    });

    it('mapPartitions may return an array and runs on empty partitions too', async () => {
      expect(
        await ctx()
          .parallelize([1, 2], 4)
          .mapPartitions((it) => [[...it].length])
          .collect(),
      ).toEqual([0, 1, 0, 1]);
    });

    it('mapPartitions rejects a non-iterable result', async () => {
      await expect(
        ctx()
          .parallelize([1, 2], 2)
          .mapPartitions(() => 3 as unknown as number[])
          .collect(),
      ).rejects.toThrow(/Iterable/);
    });

    it('mapPartitionsWithIndex passes the partition index', async () => {
      const out = await ctx()
        .parallelize(['a', 'b', 'c', 'd', 'e'], 3)
        .mapPartitionsWithIndex((i, it) => [...it].map((x) => `${i}:${x}`))
        .collect();
      expect(out).toEqual(['0:a', '1:b', '1:c', '2:d', '2:e']);
    });

    it('glom turns each partition into an array, empty ones included', async () => {
      const sc = ctx();
      expect(await sc.parallelize([1, 2, 3], 5).glom().collect()).toEqual([[], [1], [], [2], [3]]);
      expect(
        await sc
          .parallelize([1, 2, 3, 4], 2)
          .filter((x) => x > 2)
          .glom()
          .collect(),
      ).toEqual([[], [3, 4]]);
    });
  });

  describe('sample', () => {
    const data = Array.from({ length: 400 }, (_, i) => i);

    it('is deterministic for a seed, whatever worker computes a partition', async () => {
      const sc = ctx();
      const rdd = sc.parallelize(data, 4);
      const a = await rdd.sample(false, 0.3, 42).collect();
      const b = await rdd.sample(false, 0.3, 42).collect();
      const c = await sc.parallelize(data, 4).sample(false, 0.3, 42).collect();
      expect(b).toEqual(a);
      expect(c).toEqual(a);
      const other = await rdd.sample(false, 0.3, 7).collect();
      expect(other).not.toEqual(a);
    });

    it('without replacement keeps a subsequence of about fraction*n elements', async () => {
      const s = await ctx().parallelize(data, 4).sample(false, 0.25, 3).collect();
      expect(s.length).toBeGreaterThan(50);
      expect(s.length).toBeLessThan(150);
      for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThan(s[i - 1]!);
      for (const x of s) expect(data).toContain(x);
    });

    it('with replacement may repeat elements and may exceed fraction 1', async () => {
      const s = await ctx().parallelize(data, 4).sample(true, 2, 11).collect();
      expect(s.length).toBeGreaterThan(600);
      expect(s.length).toBeLessThan(1000);
      expect(new Set(s).size).toBeLessThan(s.length);
      for (const x of s) expect(data).toContain(x);
      // elements stay in input order (each one emitted k times in place)
      for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThanOrEqual(s[i - 1]!);
    });

    it('fraction 0 gives nothing and fraction 1 (no replacement) gives everything', async () => {
      const rdd = ctx().parallelize(data, 3);
      expect(await rdd.sample(false, 0, 1).collect()).toEqual([]);
      expect(await rdd.sample(false, 1, 1).collect()).toEqual(data);
    });

    it('rejects a bad fraction at the call', () => {
      const rdd = ctx().parallelize(data, 3);
      expect(() => rdd.sample(false, 1.5, 1)).toThrow(RangeError);
      expect(() => rdd.sample(true, -0.1, 1)).toThrow(RangeError);
    });
  });

  describe('zip and zipWithIndex', () => {
    it('zip pairs the i-th elements of equal partitions', async () => {
      const sc = ctx();
      const a = sc.parallelize([1, 2, 3, 4, 5], 2);
      const b = sc.parallelize(['a', 'b', 'c', 'd', 'e'], 2);
      expect(await a.zip(b).collect()).toEqual([
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
        [4, 'd'],
        [5, 'e'],
      ]);
      expect(await a.zip(a.map((x) => x * x)).collect()).toEqual([
        [1, 1],
        [2, 4],
        [3, 9],
        [4, 16],
        [5, 25],
      ]);
    });

    it('zip of an RDD with itself and with a derived RDD', async () => {
      const a = ctx().range(0, 5, 1, 3);
      expect(await a.zip(a).collect()).toEqual([0, 1, 2, 3, 4].map((x) => [x, x]));
      expect(await a.zip(a.map((x) => String(x))).collect()).toEqual([0, 1, 2, 3, 4].map((x) => [x, String(x)]));
    });

    it('zip throws at the call when partition counts differ', () => {
      const sc = ctx();
      expect(() => sc.parallelize([1, 2], 2).zip(sc.parallelize([1, 2], 3))).toThrow(/same number of partitions/);
    });

    it('zip rejects when a partition has different element counts', async () => {
      const sc = ctx();
      await expect(
        sc
          .parallelize([1, 2, 3], 2)
          .zip(sc.parallelize([1, 2, 3, 4], 2))
          .collect(),
      ).rejects.toThrow(/same number of elements/);
    });

    it('zipWithIndex numbers elements across partitions, empty ones included', async () => {
      const sc = ctx();
      expect(await sc.parallelize(['a', 'b', 'c', 'd', 'e'], 3).zipWithIndex().collect()).toEqual([
        ['a', 0],
        ['b', 1],
        ['c', 2],
        ['d', 3],
        ['e', 4],
      ]);
      expect(await sc.parallelize(['x', 'y'], 5).zipWithIndex().collect()).toEqual([
        ['x', 0],
        ['y', 1],
      ]);
      const filtered = sc.range(0, 20, 1, 4).filter((x) => x % 7 === 3);
      expect(await filtered.zipWithIndex().collect()).toEqual([
        [3, 0],
        [10, 1],
        [17, 2],
      ]);
    });

    it('zipWithIndex over a shuffled RDD follows its partition order', async () => {
      const sc = ctx();
      const z = sc
        .parallelize([5, 3, 9, 1, 7], 2)
        .sortBy((x) => x, true, 3)
        .zipWithIndex();
      expect(await z.collect()).toEqual([
        [1, 0],
        [3, 1],
        [5, 2],
        [7, 3],
        [9, 4],
      ]);
      expect(await z.count()).toBe(5);
    });
  });

  describe('cartesian', () => {
    it('pairs every element of both sides, left partition-major', async () => {
      const sc = ctx();
      const c = sc.parallelize([1, 2], 2).cartesian(sc.parallelize(['x', 'y', 'z'], 2));
      expect(c.getNumPartitions()).toBe(4);
      expect(await c.collect()).toEqual([
        [1, 'x'],
        [1, 'y'],
        [1, 'z'],
        [2, 'x'],
        [2, 'y'],
        [2, 'z'],
      ]);
    });

    it('with an empty side is empty', async () => {
      const sc = ctx();
      expect(await sc.parallelize([1, 2], 2).cartesian(sc.parallelize([], 2)).collect()).toEqual([]);
      expect(
        await sc
          .emptyRDD<number>()
          .cartesian(sc.parallelize([1], 1))
          .count(),
      ).toBe(0);
    });

    it('of an RDD with itself', async () => {
      const r = ctx().parallelize([1, 2, 3], 2);
      const out = await r
        .cartesian(r)
        .filter(([a, b]) => a < b)
        .collect();
      expect(sorted(out)).toEqual(
        sorted([
          [1, 2],
          [1, 3],
          [2, 3],
        ]),
      );
    });
  });

  describe('coalesce', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    it('merges neighbouring partitions and keeps order', async () => {
      const sc = ctx();
      expect(await sc.parallelize(ten, 5).coalesce(2).glom().collect()).toEqual([
        [1, 2, 3, 4],
        [5, 6, 7, 8, 9, 10],
      ]);
      expect(await sc.parallelize(ten, 5).coalesce(3).glom().collect()).toEqual([
        [1, 2],
        [3, 4, 5, 6],
        [7, 8, 9, 10],
      ]);
      expect(await sc.parallelize([1, 2, 3, 4], 4).coalesce(2).glom().collect()).toEqual([
        [1, 2],
        [3, 4],
      ]);
      expect(await sc.parallelize(ten, 5).coalesce(1).collect()).toEqual(ten);
    });

    it('cannot grow the partition count (that needs a shuffle)', async () => {
      const r = ctx().parallelize(ten, 3).coalesce(8);
      expect(r.getNumPartitions()).toBe(3);
      expect(await r.collect()).toEqual(ten);
    });

    it('is narrow: no shuffle in the lineage', () => {
      const r = ctx().parallelize(ten, 5).coalesce(2);
      expect(r.toDebugString()).not.toContain('+-');
      expect(r.toDebugString()).toContain('CoalescedRDD');
    });

    it('rejects a bad count at the call', () => {
      expect(() => ctx().parallelize(ten, 5).coalesce(0)).toThrow(RangeError);
    });
  });

  describe('repartition', () => {
    it('keeps every element and gives the asked partition count', async () => {
      const sc = ctx();
      const data = Array.from({ length: 103 }, (_, i) => i);
      const r = sc.parallelize(data, 3).repartition(5);
      expect(r.getNumPartitions()).toBe(5);
      expect(numSorted(await r.collect())).toEqual(data);
    });

    it('is balanced: partition sizes differ by at most the input partition count', async () => {
      const sc = ctx();
      const sizes = (await sc.range(0, 103, 1, 3).repartition(4).glom().collect()).map((p) => p.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(103);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(3);
      // growing from one partition spreads round-robin: 10 over 4 is 3,3,2,2 in some order
      const grown = (
        await sc
          .parallelize(
            Array.from({ length: 10 }, (_, i) => i),
            1,
          )
          .repartition(4)
          .glom()
          .collect()
      ).map((p) => p.length);
      expect(numSorted(grown)).toEqual([2, 2, 3, 3]);
    });

    it('is balanced even when the input is skewed into one partition', async () => {
      const sc = ctx();
      const skewed = sc.parallelize([...Array.from({ length: 60 }, () => 'hot'), 'a', 'b'], 2).filter((x) => x === 'hot');
      const sizes = (await skewed.repartition(3).glom().collect()).map((p) => p.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(2);
    });

    it('shuffles (a new stage in the lineage) and has no partitioner', () => {
      const r = ctx().parallelize([1, 2, 3], 2).repartition(2);
      expect(r.toDebugString()).toContain('+-');
      expect(r.partitioner).toBeUndefined();
    });

    it('repartition(0) and other bad counts throw at the call', () => {
      const r = ctx().parallelize([1, 2, 3], 2);
      expect(() => r.repartition(0)).toThrow(RangeError);
      expect(() => r.repartition(-2)).toThrow(RangeError);
      expect(() => r.repartition(2.5)).toThrow(RangeError);
    });
  });

  describe('union and emptyRDD', () => {
    it('union keeps duplicates and puts partitions side by side', async () => {
      const sc = ctx();
      const a = sc.parallelize([1, 2, 3], 2);
      const b = sc.parallelize([3, 4], 3);
      const u = a.union(b);
      expect(u.getNumPartitions()).toBe(5);
      expect(await u.collect()).toEqual([1, 2, 3, 3, 4]);
      expect(await u.glom().collect()).toEqual([[1], [2, 3], [], [3], [4]]);
      expect(u.toDebugString()).not.toContain('+-');
    });

    it('sc.union joins several RDDs, and an RDD with itself', async () => {
      const sc = ctx();
      const a = sc.parallelize([1], 1);
      const b = sc.range(2, 4, 1, 2);
      const c = sc.parallelize(['x'], 1) as unknown as typeof a;
      const u = sc.union([a, b, c]);
      expect(u.getNumPartitions()).toBe(4);
      expect(await u.collect()).toEqual([1, 2, 3, 'x']);
      expect(await a.union(a).collect()).toEqual([1, 1]);
    });

    it('emptyRDD has no partitions and behaves as empty in every action', async () => {
      const sc = ctx();
      const e = sc.emptyRDD<number>();
      expect(e.getNumPartitions()).toBe(0);
      expect(await e.collect()).toEqual([]);
      expect(await e.count()).toBe(0);
      expect(await e.isEmpty()).toBe(true);
      expect(await e.take(3)).toEqual([]);
      expect(await e.fold(0, (a, b) => a + b)).toBe(0);
      expect(await e.sum()).toBe(0);
      expect(
        await e
          .map((x) => x + 1)
          .glom()
          .collect(),
      ).toEqual([]);
      await expect(e.first()).rejects.toThrow(/empty/);
      await expect(e.reduce((a, b) => a + b)).rejects.toThrow(/empty/);
      expect(await e.union(sc.parallelize([7], 1)).collect()).toEqual([7]);
    });
  });
});
