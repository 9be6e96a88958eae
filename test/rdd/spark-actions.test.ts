/**
 * Actions a PySpark user reaches for, specified by pyspark's documented examples (the `>>>` lines of its
 * docstrings, quoted above each check) and Spark's semantics.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { capture, HashPartitioner, type RDD } from 'kindling';
import { MODES, numSorted, useContext } from './helpers.js';
import { evenEdges } from '../../src/rdd/actions.js';
import { histogramBucketFinder } from '../../src/rdd/result-functions.js';

/** The counts a histogram must give by the edges it returns: `[e0, e1), ..., [e(n-1), en]`. */
function countByEdges(xs: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const x of xs) {
    if (!(x >= edges[0]! && x <= edges[edges.length - 1]!)) continue;
    let i = 0;
    while (i < counts.length - 1 && x >= edges[i + 1]!) i++;
    counts[i]!++;
  }
  return counts;
}

describe('histogram buckets (driver-side functions)', () => {
  test("the even buckets' arithmetic agrees with their edges, for every integer of a range", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 2, max: 60 }), (min, span, n) => {
        const edges = evenEdges(min, min + span, n);
        const bucketOf = histogramBucketFinder(edges, true);
        const xs = Array.from({ length: span + 1 }, (_, i) => min + i);
        const counts = new Array<number>(n).fill(0);
        for (const x of xs) counts[bucketOf(x)]!++;
        expect(counts).toEqual(countByEdges(xs, edges));
      }),
      { numRuns: 2000, examples: [[-50, 18, 14]] },
    );
  });
});

describe.each(MODES)('Spark actions (%s)', (master) => {
  const ctx = useContext(master);

  describe('toLocalIterator', () => {
    test('yields every element in order, one partition per job, as the iteration reaches it', async () => {
      // >>> rdd = sc.parallelize(range(10)); [x for x in rdd.toLocalIterator()] -> [0, 1, ..., 9]
      const sc = ctx();
      const rdd = sc.parallelize(
        Array.from({ length: 10 }, (_, i) => i),
        3,
      );
      const jobs: number[] = [];
      const off = sc.events.on('jobStart', (e: { jobId: number }): void => void jobs.push(e.jobId));
      try {
        const seen: number[] = [];
        const it = rdd.toLocalIterator();
        const first = await it.next();
        expect(first).toEqual({ done: false, value: 0 });
        expect(jobs).toHaveLength(1); // only the first partition has been fetched
        seen.push(first.value as number);
        for await (const x of it) seen.push(x);
        expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(jobs).toHaveLength(3);
      } finally {
        off();
      }
    });

    test('an empty RDD yields nothing', async () => {
      const seen: unknown[] = [];
      for await (const x of ctx().emptyRDD().toLocalIterator()) seen.push(x);
      expect(seen).toEqual([]);
    });
  });

  describe('takeSample', () => {
    test("pyspark's examples", async () => {
      const rdd = ctx().parallelize(Array.from({ length: 10 }, (_, i) => i));
      // >>> len(rdd.takeSample(True, 20, 1)) -> 20
      expect(await rdd.takeSample(true, 20, 1)).toHaveLength(20);
      // >>> len(rdd.takeSample(False, 5, 2)) -> 5
      const five = await rdd.takeSample(false, 5, 2);
      expect(five).toHaveLength(5);
      expect(new Set(five).size).toBe(5);
      for (const x of five) expect(x >= 0 && x < 10).toBe(true);
      // >>> len(rdd.takeSample(False, 15, 3)) -> 10
      expect(numSorted(await rdd.takeSample(false, 15, 3))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // >>> sc.range(0, 10).takeSample(False, -1) -> ValueError
      await expect(rdd.takeSample(false, -1)).rejects.toThrow(RangeError);
    });

    test('is deterministic for a seed, exact in size on larger data, and empty for num 0 or an empty RDD', async () => {
      const rdd = ctx().range(10_000, undefined, 1, 4);
      const a = await rdd.takeSample(false, 100, 7);
      expect(a).toHaveLength(100);
      expect(new Set(a).size).toBe(100);
      expect(await rdd.takeSample(false, 100, 7)).toEqual(a);
      expect(await rdd.takeSample(false, 100, 8)).not.toEqual(a);
      expect(await rdd.takeSample(true, 0, 1)).toEqual([]);
      expect(await ctx().emptyRDD<number>().takeSample(true, 5, 1)).toEqual([]);
    });
  });

  describe('countApproxDistinct', () => {
    test("pyspark's examples", async () => {
      // >>> n = sc.parallelize(range(1000)).map(str).countApproxDistinct(); 900 < n < 1100 -> True
      const n = await ctx().range(1000, undefined, 1, 4).map(String).countApproxDistinct();
      expect(n).toBeGreaterThan(900);
      expect(n).toBeLessThan(1100);
      // >>> n = sc.parallelize([i % 20 for i in range(1000)]).countApproxDistinct(); 16 < n < 24 -> True
      const small = await ctx()
        .range(1000, undefined, 1, 4)
        .map((i) => i % 20)
        .countApproxDistinct();
      expect(small).toBeGreaterThan(16);
      expect(small).toBeLessThan(24);
    });

    test('counts structurally distinct elements, more accurately with a smaller relativeSD', async () => {
      const pairs = ctx()
        .range(50_000, undefined, 1, 4)
        .map((i) => [i % 5000, `k${i % 5000}`]);
      const n = await pairs.countApproxDistinct(0.01);
      expect(Math.abs(n - 5000) / 5000).toBeLessThan(0.04);
      await expect(pairs.countApproxDistinct(0)).rejects.toThrow(RangeError);
    });
  });

  describe('treeReduce and treeAggregate', () => {
    const data = [-5, -4, -3, -2, -1, 1, 2, 3, 4];
    test("pyspark's examples", async () => {
      const rdd = ctx().parallelize(data, 10);
      const add = (x: number, y: number): number => x + y;
      // >>> rdd.treeReduce(add) -> -5; treeReduce(add, 1), (add, 2), (add, 5), (add, 10) -> -5
      for (const depth of [2, 1, 2, 5, 10]) expect(await rdd.treeReduce(add, depth)).toBe(-5);
      // >>> rdd.treeAggregate(0, add, add) -> -5; with depth 1, 2, 5, 10 -> -5
      for (const depth of [2, 1, 2, 5, 10]) expect(await rdd.treeAggregate(0, add, add, depth)).toBe(-5);
      // >>> rdd.treeAggregate(0, add, add, 0) -> ValueError
      await expect(rdd.treeAggregate(0, add, add, 0)).rejects.toThrow(RangeError);
    });

    test('combine through shuffle rounds when there are many partitions; rejects on empty', async () => {
      const sc = ctx();
      const rdd = sc.range(2000, undefined, 1, 64);
      const stages: number[] = [];
      const off = sc.events.on('stageSubmitted', (e: { stageId: number }): void => void stages.push(e.stageId));
      try {
        const total = await rdd.treeAggregate(
          { sum: 0, n: 0 },
          (acc, x) => ({ sum: acc.sum + x, n: acc.n + 1 }),
          (a, b) => ({ sum: a.sum + b.sum, n: a.n + b.n }),
          2,
        );
        expect(total).toEqual({ sum: 1999 * 1000, n: 2000 });
      } finally {
        off();
      }
      // 64 partitions at depth 2 (scale 8): one shuffle round to 8 partitions before the driver combines.
      expect(stages.length).toBe(2);
      expect(await rdd.treeReduce((a, b) => a + b, 3)).toBe(1999 * 1000);
      // A captured function travels into the tree rounds too.
      const bias = 0.5;
      expect(
        await rdd.treeReduce(
          capture({ bias }, (a: number, b: number) => Math.max(a, b) + bias - bias),
          3,
        ),
      ).toBe(1999);
      await expect(sc.emptyRDD<number>().treeReduce((a, b) => a + b)).rejects.toThrow(/empty/);
      expect(
        await sc.emptyRDD<number>().treeAggregate(
          7,
          (a, b) => a + b,
          (a, b) => a + b,
        ),
      ).toBe(7);
    });
  });

  describe('histogram', () => {
    test("pyspark's examples", async () => {
      const rdd = ctx().range(51, undefined, 1, 3);
      // >>> rdd.histogram(2) -> ([0, 25, 50], [25, 26])
      expect(await rdd.histogram(2)).toEqual([
        [0, 25, 50],
        [25, 26],
      ]);
      // >>> rdd.histogram([0, 5, 25, 50]) -> ([0, 5, 25, 50], [5, 20, 26])
      expect(await rdd.histogram([0, 5, 25, 50])).toEqual([
        [0, 5, 25, 50],
        [5, 20, 26],
      ]);
      // >>> rdd.histogram([0, 15, 30, 45, 60])  # evenly spaced buckets -> ([0, 15, 30, 45, 60], [15, 15, 15, 6])
      expect(await rdd.histogram([0, 15, 30, 45, 60])).toEqual([
        [0, 15, 30, 45, 60],
        [15, 15, 15, 6],
      ]);
      // >>> rdd = sc.parallelize(["ab", "ac", "b", "bd", "ef"]); rdd.histogram(("a", "b", "c")) -> (('a', 'b', 'c'), [2, 2])
      expect(await ctx().parallelize(['ab', 'ac', 'b', 'bd', 'ef']).histogram(['a', 'b', 'c'])).toEqual([
        ['a', 'b', 'c'],
        [2, 2],
      ]);
    });

    test("Spark's edge cases: one value, NaN and out-of-range values, bad buckets", async () => {
      expect(await ctx().parallelize([3, 3, 3]).histogram(4)).toEqual([[3, 3], [3]]);
      expect(await ctx().parallelize([1, NaN, 2, 100, -1]).histogram([0, 1, 2])).toEqual([
        [0, 1, 2],
        [0, 2],
      ]);
      await expect(ctx().parallelize([1, 2]).histogram([2, 1])).rejects.toThrow(/sorted/);
      await expect(ctx().parallelize([1, 2]).histogram([1, 1])).rejects.toThrow(/duplicated/);
      await expect(ctx().parallelize([1, 2]).histogram([1])).rejects.toThrow(/at least 2/);
      await expect(ctx().parallelize([1, Infinity]).histogram(2)).rejects.toThrow(/infinite/);
      // Uneven float buckets go through the binary search: 0.1 + 0.2 lands in [0.3, 1] only if >= 0.3.
      expect(await ctx().parallelize([0.1, 0.2, 0.30000000000000004, 1]).histogram([0, 0.3, 0.5, 1])).toEqual([
        [0, 0.3, 0.5, 1],
        [2, 1, 1],
      ]);
    });

    test("Spark's DoubleRDDSuite: open-ended buckets, exact even edges, a value on an edge, a span past the largest double", async () => {
      const sc = ctx();
      // WorksWithOutOfRangeWithInfiniteBuckets: Seq(10.01, -0.01, NaN) in Array(-inf, 0, +inf) -> Array(1, 1)
      expect(await sc.parallelize([10.01, -0.01, NaN], 2).histogram([-Infinity, 0, Infinity])).toEqual([
        [-Infinity, 0, Infinity],
        [1, 1],
      ]);
      await expect(sc.parallelize([1]).histogram([0, NaN])).rejects.toThrow(/NaN/);
      // WorksWithoutBucketsWithMoreRequestedThanElements: Seq(1, 2).histogram(10) -> buckets 1.0, 1.1, ..., 2.0
      expect(await sc.parallelize([1, 2]).histogram(10)).toEqual([
        [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2],
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
      ]);
      // WorksWithoutBucketsWithIrrationalBucketEdges, as corrected by SPARK-6480: 37 is the edge that opens the fourth
      // bucket, so it is counted there.
      const [edges, counts] = await sc.range(6, 100, 1, 3).histogram(9);
      expect(edges[3]).toBe(37);
      expect(counts).toEqual([11, 10, 10, 11, 10, 10, 11, 10, 11]);
      // max - min overflows: the edges are still the even split, and every value is counted.
      const M = Number.MAX_VALUE;
      expect(await sc.parallelize([-M, 0, M], 2).histogram(2)).toEqual([
        [-M, 0, M],
        [1, 2],
      ]);
    });

    test('every value counts in the bucket its returned edges give it (integer ranges, even buckets)', async () => {
      const sc = ctx();
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: -60, max: 60 }),
          fc.integer({ min: 1, max: 300 }),
          fc.integer({ min: 2, max: 40 }),
          fc.integer({ min: 1, max: 4 }),
          async (min, span, n, slices) => {
            const xs = Array.from({ length: span + 1 }, (_, i) => min + i);
            const [edges, counts] = await sc.parallelize(xs, slices).histogram(n);
            expect(counts).toEqual(countByEdges(xs, edges));
          },
        ),
        // -50..-32 in 14 buckets: -41 is the edge of bucket 7, and (x - min) / width rounded it into bucket 6.
        { numRuns: 10, examples: [[-50, 18, 14, 2]] },
      );
    });
  });

  describe('the stats family and max/min with a key', () => {
    test("pyspark's examples", async () => {
      const sc = ctx();
      const xs = sc.parallelize([1, 2, 3], 2);
      // >>> sc.parallelize([1, 2, 3]).mean() -> 2.0; .variance() -> 0.666...; .stdev() -> 0.816...
      expect(await xs.mean()).toBe(2);
      expect(await xs.variance()).toBeCloseTo(2 / 3, 12);
      expect(await xs.stdev()).toBeCloseTo(Math.sqrt(2 / 3), 12);
      // >>> .sampleStdev() -> 1.0; .sampleVariance() -> 1.0
      expect(await xs.sampleStdev()).toBeCloseTo(1, 12);
      expect(await xs.sampleVariance()).toBeCloseTo(1, 12);
      // >>> sc.parallelize([1.0, 2.0, 3.0]).sum() -> 6.0
      expect(await xs.sum()).toBe(6);
      // >>> rdd = sc.parallelize([1.0, 5.0, 43.0, 10.0]); rdd.max() -> 43.0; rdd.max(key=str) -> 5.0
      const r = sc.parallelize([1, 5, 43, 10], 2);
      expect(await r.max()).toBe(43);
      expect(await r.max(String)).toBe(5);
      // >>> rdd = sc.parallelize([2.0, 5.0, 43.0, 10.0]); rdd.min() -> 2.0; rdd.min(key=str) -> 10.0
      const m = sc.parallelize([2, 5, 43, 10], 3);
      expect(await m.min()).toBe(2);
      expect(await m.min((x) => String(x))).toBe(10);
    });

    test('sum, mean and stats of strings or bigints fail naming the RDD and the element, as PySpark raises', async () => {
      // Before: sum() of ['a', 'b'] was the string "0a0b" and stats() of [1, 'a'] a sum of "10a", no error.
      // What JavaScript lets through (TypeScript takes these for numbers only).
      const words = ctx().parallelize(['a', 'b'], 1);
      await expect((words as unknown as RDD<number>).sum()).rejects.toThrow(
        /sum, mean, stats, variance and stdev take numbers, but RDD \d+ \(parallelize at [^)]*\) holds string "a"/,
      );
      await expect((ctx().parallelize<unknown>([1, 'a'], 1) as RDD<number>).stats()).rejects.toThrow(/holds string "a"/);
      await expect((ctx().parallelize<unknown>([1n, 2n], 1) as RDD<number>).mean()).rejects.toThrow(/holds bigint 1n\. Convert the elements first/);
      expect(await words.map(() => 1).sum()).toBe(2);
    });

    test("a NaN makes stats' mean, min and max NaN, as Scala's StatCounter (math.max/min) and numpy's maximum do", async () => {
      // Before: min and max skipped a NaN (stats of [1, NaN, 3] gave 1 and 3) while max() answered NaN. In any
      // partition, first or last, alone in its partition or not.
      for (const [xs, slices] of [
        [[1, NaN, 3], 1],
        [[NaN, 1, 3], 1],
        [[1, 3, NaN], 1],
        [[1, NaN, 3, 4], 2],
        [[NaN, 3, 4], 3],
        [[3, 4, NaN], 3],
      ] as const) {
        const s = await ctx()
          .parallelize([...xs], slices)
          .stats();
        expect([s.count, s.mean, s.min, s.max], JSON.stringify([xs, slices])).toEqual([xs.length, NaN, NaN, NaN]);
      }
      const r = ctx().parallelize([NaN, 3, 4], 3);
      // max() and min() order NaN after +Infinity (Scala's Ordering.Double): max is NaN, min skips it.
      expect(await r.max()).toBeNaN();
      expect(await r.min()).toBe(3);
      const clean = await ctx().parallelize([2, -1, 7], 2).stats();
      expect([clean.min, clean.max]).toEqual([-1, 7]);
      expect(await ctx().parallelize([Infinity, -Infinity], 2).stats()).toMatchObject({ min: -Infinity, max: Infinity });
    });

    test('max/min with a key return the element, the first of equal keys; reject on empty', async () => {
      const people = ctx().parallelize(
        [
          { name: 'ann', age: 31 },
          { name: 'bob', age: 45 },
          { name: 'cid', age: 45 },
        ],
        3,
      );
      expect(await people.max((p) => p.age)).toEqual({ name: 'bob', age: 45 });
      expect(await people.min((p) => p.name.length)).toEqual({ name: 'ann', age: 31 });
      await expect(
        ctx()
          .emptyRDD<number>()
          .max((x) => -x),
      ).rejects.toThrow(/empty/);
      expect(await ctx().emptyRDD<number>().variance()).toBeNaN();
    });

    test('a comparator where a key function is taken is refused at the call, naming the action', async () => {
      const words = ctx().parallelize(['aaa', 'b', 'cc'], 2);
      const byLength = (a: string, b: string): number => a.length - b.length;
      // Before, each task called it with one argument and failed on `undefined.length`.
      await expect(words.max(byLength as never)).rejects.toThrow(/max: takes a key function of one element .* 2 parameters/);
      await expect(words.min(byLength as never)).rejects.toThrow(/^min: /);
      await expect(words.top(1, byLength as never)).rejects.toThrow(/^top: /);
      await expect(words.takeOrdered(1, byLength as never)).rejects.toThrow(/^takeOrdered: /);
      expect(await words.max((w) => w.length)).toBe('aaa');
      expect(await words.takeOrdered(2, (w) => w.length)).toEqual(['b', 'cc']);
    });
  });

  describe('lookup', () => {
    test("pyspark's examples, reading only the key's partition when there is a partitioner", async () => {
      const sc = ctx();
      const l = Array.from({ length: 1000 }, (_, i): [number, number] => [i, i]);
      const rdd = sc.parallelize(l, 10);
      // >>> rdd.lookup(42) -> [42]
      expect(await rdd.lookup(42)).toEqual([42]);
      // >>> sorted = rdd.sortByKey(); sorted.lookup(42) -> [42]; sorted.lookup(1024) -> []
      const sortedRdd = rdd.sortByKey();
      expect(await sortedRdd.lookup(42)).toEqual([42]);
      expect(await sortedRdd.lookup(1024)).toEqual([]);
      // >>> rdd2 = sc.parallelize([(('a', 'b'), 'c')]).groupByKey(); list(rdd2.lookup(('a', 'b'))[0]) -> ['c']
      const rdd2 = sc.parallelize<[[string, string], string]>([[['a', 'b'], 'c']]).groupByKey();
      expect(await rdd2.lookup(['a', 'b'])).toEqual([['c']]);

      const partitioned: RDD<[number, number]> = rdd.partitionBy(new HashPartitioner(10)).cache();
      await partitioned.count();
      const tasks: number[] = [];
      const off = sc.events.on('taskStart', (e: { partition: number }): void => void tasks.push(e.partition));
      try {
        expect(await partitioned.lookup(42)).toEqual([42]);
      } finally {
        off();
      }
      expect(tasks).toEqual([new HashPartitioner(10).getPartition(42)]);
    });
  });
});
