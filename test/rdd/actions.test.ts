/**
 * Actions: collect, count, first, take, takeOrdered, top, reduce, fold, aggregate, foreach, foreachPartition,
 * countByKey, countByValue, collectAsMap, lookup, sum, mean, max, min, stats, isEmpty; shared variables
 * (broadcast, accumulators) through capture; errors and the context after a failed job.
 */
import { describe, expect, it } from 'vitest';
import { capture, Context, ContextStoppedError, HashPartitioner, JobFailedError, type SchedulerEvent } from 'kindling';
import { MODES, mapEntries, sorted, useContext } from './helpers.js';

describe.each(MODES)('actions (%s)', (master) => {
  const ctx = useContext(master);

  describe('collect, count, first, take', () => {
    it('collect returns elements in partition order; count counts them', async () => {
      const r = ctx().parallelize([5, 3, 8, 1, 9, 2], 4);
      expect(await r.collect()).toEqual([5, 3, 8, 1, 9, 2]);
      expect(await r.count()).toBe(6);
      expect(await r.filter((x) => x > 4).count()).toBe(3);
    });

    it('first returns the first element, skipping empty partitions', async () => {
      const sc = ctx();
      expect(await sc.parallelize(['x', 'y'], 2).first()).toBe('x');
      expect(await sc.parallelize([42], 6).first()).toBe(42);
      expect(
        await sc
          .range(0, 100, 1, 5)
          .filter((x) => x >= 77)
          .first(),
      ).toBe(77);
    });

    it('first on an empty RDD rejects with "empty"', async () => {
      const sc = ctx();
      await expect(sc.parallelize([], 3).first()).rejects.toThrow(/empty/);
      await expect(
        sc
          .range(10)
          .filter(() => false)
          .first(),
      ).rejects.toThrow(/empty/);
    });

    it('take scans across partitions, in order, including empty ones', async () => {
      const sc = ctx();
      const r = sc.parallelize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4);
      expect(await r.take(0)).toEqual([]);
      expect(await r.take(1)).toEqual([1]);
      expect(await r.take(3)).toEqual([1, 2, 3]);
      expect(await r.take(7)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(await r.take(100)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const sparse = sc.parallelize([1, 2, 3], 20);
      expect(await sparse.take(2)).toEqual([1, 2]);
      expect(await sparse.take(5)).toEqual([1, 2, 3]);
      const tail = sc.range(0, 1000, 1, 10).filter((x) => x >= 950);
      expect(await tail.take(4)).toEqual([950, 951, 952, 953]);
    });

    it('take rejects a negative or fractional n', async () => {
      const r = ctx().parallelize([1]);
      await expect(r.take(-1)).rejects.toThrow(RangeError);
      await expect(r.take(1.5)).rejects.toThrow(RangeError);
      await expect(r.takeOrdered(-1)).rejects.toThrow(RangeError);
    });

    it('isEmpty', async () => {
      const sc = ctx();
      expect(await sc.parallelize([], 2).isEmpty()).toBe(true);
      expect(await sc.parallelize([0], 3).isEmpty()).toBe(false);
      expect(
        await sc
          .range(50)
          .filter((x) => x > 100)
          .isEmpty(),
      ).toBe(true);
      expect(
        await sc
          .range(0, 50, 1, 5)
          .filter((x) => x === 49)
          .isEmpty(),
      ).toBe(false);
    });
  });

  describe('takeOrdered and top', () => {
    const data = [5, 1, 9, 3, 7, 3, 0, 8];

    it('takeOrdered returns the n smallest ascending', async () => {
      const r = ctx().parallelize(data, 3);
      expect(await r.takeOrdered(3)).toEqual([0, 1, 3]);
      expect(await r.takeOrdered(4)).toEqual([0, 1, 3, 3]);
      expect(await r.takeOrdered(0)).toEqual([]);
      expect(await r.takeOrdered(100)).toEqual([...data].sort((a, b) => a - b));
    });

    it('top returns the n largest descending', async () => {
      const r = ctx().parallelize(data, 3);
      expect(await r.top(3)).toEqual([9, 8, 7]);
      expect(await r.top(100)).toEqual([...data].sort((a, b) => b - a));
    });

    it('orders numerically, not as strings', async () => {
      const r = ctx().parallelize([10, 9, 100, 1], 2);
      expect(await r.takeOrdered(2)).toEqual([1, 9]);
      expect(await r.top(2)).toEqual([100, 10]);
    });

    it('with a key function', async () => {
      const r = ctx().parallelize(['ccc', 'a', 'bb', 'dddd', 'ee'], 2);
      expect(await r.takeOrdered(2, (s) => s.length)).toEqual(['a', 'bb']);
      expect(await r.top(2, (s) => s.length)).toEqual(['dddd', 'ccc']);
      expect(await r.takeOrdered(2, (s) => -s.length)).toEqual(['dddd', 'ccc']);
      const pairs = ctx().parallelize<[string, number]>(
        [
          ['x', 3],
          ['y', 1],
          ['z', 2],
        ],
        3,
      );
      expect(await pairs.top(1, (kv) => kv[1])).toEqual([['x', 3]]);
      expect(await pairs.takeOrdered(2, ([, v]) => v)).toEqual([
        ['y', 1],
        ['z', 2],
      ]);
    });

    it('on structural elements (arrays element by element)', async () => {
      const r = ctx().parallelize([[2, 1], [1, 5], [1, 2], [2]], 2);
      expect(await r.takeOrdered(3)).toEqual([[1, 2], [1, 5], [2]]);
      expect(await r.top(1)).toEqual([[2, 1]]);
    });

    it('on empty RDDs', async () => {
      expect(await ctx().parallelize<number>([], 3).takeOrdered(2)).toEqual([]);
      expect(await ctx().emptyRDD<number>().top(2)).toEqual([]);
    });
  });

  describe('reduce, fold, aggregate', () => {
    it('reduce combines all elements, over empty partitions too', async () => {
      const sc = ctx();
      expect(await sc.range(1, 101, 1, 4).reduce((a, b) => a + b)).toBe(5050);
      expect(await sc.parallelize([3, 9, 2], 7).reduce((a, b) => Math.max(a, b))).toBe(9);
      expect(await sc.parallelize(['only'], 3).reduce((a, b) => a + b)).toBe('only');
    });

    it('reduce on an empty RDD rejects with "empty"', async () => {
      const sc = ctx();
      await expect(sc.parallelize<number>([], 2).reduce((a, b) => a + b)).rejects.toThrow(/empty/);
      await expect(sc.emptyRDD<number>().reduce((a, b) => a + b)).rejects.toThrow(/empty/);
    });

    it('fold folds each partition from zero, then the partition results from zero', async () => {
      const sc = ctx();
      expect(await sc.parallelize([1, 2, 3, 4], 2).fold(0, (a, b) => a + b)).toBe(10);
      // zero 1 is used once per partition and once on the driver: 3 partitions -> 10 + 4
      expect(await sc.parallelize([1, 2, 3, 4], 3).fold(1, (a, b) => a + b)).toBe(14);
      expect(await sc.parallelize<number>([], 2).fold(5, (a, b) => a + b)).toBe(15);
    });

    it('aggregate computes sum and count; each partition starts from a copy of zero', async () => {
      const sc = ctx();
      const zero: [number, number] = [0, 0];
      const out = await sc.range(1, 11, 1, 3).aggregate(
        zero,
        (acc, x) => {
          acc[0] += x;
          acc[1] += 1;
          return acc;
        },
        (a, b) => [a[0] + b[0], a[1] + b[1]] as [number, number],
      );
      expect(out).toEqual([55, 10]);
      expect(zero).toEqual([0, 0]);
      const lists = await sc.parallelize([1, 2, 3, 4], 2).aggregate(
        [] as number[],
        (acc, x) => {
          acc.push(x);
          return acc;
        },
        (a, b) => a.concat(b),
      );
      expect(lists).toEqual([1, 2, 3, 4]);
    });
  });

  describe('foreach, foreachPartition and shared variables', () => {
    it('foreach with an accumulator counts every element once', async () => {
      const sc = ctx();
      const acc = sc.accumulator(0, 'sum');
      await sc.range(1, 101, 1, 4).foreach(capture({ acc }, (x: number) => acc.add(x)));
      expect(acc.value).toBe(5050);
      await sc.range(1, 11, 1, 2).foreach(capture({ acc }, (x: number) => acc.add(x)));
      expect(acc.value).toBe(5105);
    });

    it('foreachPartition runs once per partition with an iterable', async () => {
      const sc = ctx();
      const calls = sc.accumulator(0);
      const sizes = sc.collectionAccumulator<number>();
      await sc.parallelize([1, 2, 3, 4, 5], 3).foreachPartition(
        capture({ calls, sizes }, (it: Iterable<number>) => {
          calls.add(1);
          let n = 0;
          for (const _ of it) n++;
          sizes.add(n);
        }),
      );
      expect(calls.value).toBe(3);
      expect([...sizes.value].sort()).toEqual([1, 2, 2]);
    });

    it('an accumulator counts a failed task only once, when its retry succeeds', async () => {
      const sc = ctx();
      const acc = sc.accumulator(0);
      const token = `kindling-acc-${Math.random()}`;
      let failed = 0;
      const off = sc.events.on('taskEnd', (e) => {
        if (e.result === 'failed') failed++;
      });
      // The first attempt on each worker fails after adding; only the successful attempt's additions count.
      await sc.parallelize([1, 2, 3], 1).foreach(
        capture({ acc, token }, (x: number) => {
          acc.add(x);
          const g = globalThis as unknown as Record<string, number>;
          if (x === 3 && !g[token]) {
            g[token] = 1;
            throw new Error('transient failure');
          }
        }),
      );
      off();
      expect(failed).toBeGreaterThanOrEqual(1);
      expect(acc.value).toBe(6);
    });

    it('broadcast values are read through capture', async () => {
      const sc = ctx();
      const table = sc.broadcast(
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      );
      const names = sc.broadcast({ prefix: 'k-' });
      const out = await sc
        .parallelize(['a', 'b', 'c', 'a'], 3)
        .map(capture({ table, names }, (k: string) => `${names.value.prefix}${table.value.get(k) ?? 0}`))
        .collect();
      expect(out).toEqual(['k-1', 'k-2', 'k-0', 'k-1']);
      // a broadcast is reusable in later jobs
      expect(
        await sc
          .parallelize(['b'], 1)
          .map(capture({ table }, (k: string) => table.value.get(k)))
          .collect(),
      ).toEqual([2]);
    });

    it('an undeclared free variable is rejected at the call, naming it', () => {
      const sc = ctx();
      const hidden = 3;
      // build the function from source so the test does not depend on how vitest rewrites closures
      const fn = new Function('return (x) => x * hidden')() as (x: number) => number;
      void hidden;
      expect(() => sc.parallelize([1], 1).map(fn)).toThrow(/hidden/);
    });
  });

  describe('errors', () => {
    it('a throwing user function fails the job naming job, stage, partition and RDD; the context keeps working', async () => {
      const sc = ctx();
      const r = sc
        .parallelize([1, 2, 3], 2)
        .map((x) => {
          if (x === 2) throw new Error('bad element two');
          return x;
        })
        .setName('failing map');
      const err = await r.collect().then(
        () => undefined,
        (e: unknown) => e as JobFailedError,
      );
      expect(err).toBeInstanceOf(JobFailedError);
      expect(err!.message).toMatch(/bad element two/);
      expect(err!.message).toMatch(/Job \d+/);
      expect(err!.message).toMatch(/stage \d+/);
      expect(err!.message).toMatch(/partition 1\b/);
      expect(err!.message).toContain(`RDD ${r.id} (failing map)`);
      expect(err!.location?.partition).toBe(1);
      expect(err!.location?.rddId).toBe(r.id);
      expect(err!.causes.length).toBeGreaterThan(0);
      expect(err!.causes[0]!.message).toBe('bad element two');
      expect(err!.causes[0]!.stack).toMatch(/bad element two[\s\S]*\n\s+at /);
      expect(
        await sc
          .parallelize([1, 2, 3], 2)
          .map((x) => x + 1)
          .collect(),
      ).toEqual([2, 3, 4]);
    });

    it('an error in a map-side combine names the combining RDD', async () => {
      const sc = ctx();
      const r = sc
        .parallelize<[string, number]>(
          [
            ['k', 1],
            ['k', 2],
          ],
          1,
        )
        .reduceByKey(() => {
          throw new Error('combine failed');
        });
      const err = await r.collect().then(
        () => undefined,
        (e: unknown) => e as JobFailedError,
      );
      expect(err).toBeInstanceOf(JobFailedError);
      expect(err!.message).toMatch(/combine failed/);
      expect(err!.message).toContain(`RDD ${r.id}`);
      expect(await sc.parallelize([1], 1).count()).toBe(1);
    });
  });

  describe('countByKey, countByValue, collectAsMap, lookup', () => {
    it('countByKey and countByValue return Maps', async () => {
      const sc = ctx();
      const pairs = sc.parallelize<[string, number]>(
        [
          ['a', 1],
          ['b', 1],
          ['a', 2],
          ['c', 3],
          ['a', 1],
        ],
        3,
      );
      const byKey = await pairs.countByKey();
      expect(byKey).toBeInstanceOf(Map);
      expect(mapEntries(byKey)).toEqual([
        ['a', 3],
        ['b', 1],
        ['c', 1],
      ]);
      const byValue = await sc.parallelize(['x', 'y', 'x', 'x', 'z'], 2).countByValue();
      expect(byValue).toBeInstanceOf(Map);
      expect(mapEntries(byValue)).toEqual([
        ['x', 3],
        ['y', 1],
        ['z', 1],
      ]);
      expect((await pairs.countByValue()).size).toBe(4);
      expect((await sc.emptyRDD<[string, number]>().countByKey()).size).toBe(0);
    });

    it('with structural keys, the first-seen key object stands for its group', async () => {
      const sc = ctx();
      const pairs = sc.parallelize<[unknown, number]>(
        [
          [[1, 2], 1],
          [{ a: 1, b: 2 }, 2],
          [[1, 2], 3],
          [{ b: 2, a: 1 }, 4],
          [[1, 2], 5],
          [[2, 1], 6],
        ],
        3,
      );
      const counts = await pairs.countByKey();
      expect(counts.size).toBe(3);
      const keys = [...counts.keys()];
      const arr = keys.find((k) => Array.isArray(k) && k[0] === 1) as number[];
      expect(arr).toEqual([1, 2]);
      expect(counts.get(arr)).toBe(3);
      const obj = keys.find((k) => !Array.isArray(k)) as Record<string, number>;
      expect(Object.keys(obj)).toEqual(['a', 'b']); // the first-seen object, with its own key order
      expect(counts.get(obj)).toBe(2);
      expect(counts.get(keys.find((k) => Array.isArray(k) && k[0] === 2))).toBe(1);

      const byValue = await sc.parallelize<unknown>([[1, 2], [1, 2], { y: 1, x: 2 }, { x: 2, y: 1 }, [1, 2]], 2).countByValue();
      expect(byValue.size).toBe(2);
      const o = [...byValue.keys()].find((k) => !Array.isArray(k)) as object;
      expect(Object.keys(o)).toEqual(['y', 'x']);
      expect(byValue.get(o)).toBe(2);
      expect(byValue.get([...byValue.keys()].find((k) => Array.isArray(k)))).toBe(3);
    });

    it('collectAsMap: later values replace earlier ones; first-seen structural key kept', async () => {
      const sc = ctx();
      const m = await sc
        .parallelize<[string, number]>(
          [
            ['a', 1],
            ['b', 2],
            ['a', 3],
          ],
          2,
        )
        .collectAsMap();
      expect(m).toBeInstanceOf(Map);
      expect(mapEntries(m)).toEqual([
        ['a', 3],
        ['b', 2],
      ]);
      const s = await sc
        .parallelize<[unknown, string]>(
          [
            [{ p: 1, q: 2 }, 'first'],
            [[1], 'arr'],
            [{ q: 2, p: 1 }, 'second'],
          ],
          3,
        )
        .collectAsMap();
      expect(s.size).toBe(2);
      const obj = [...s.keys()].find((k) => !Array.isArray(k)) as object;
      expect(Object.keys(obj)).toEqual(['p', 'q']);
      expect(s.get(obj)).toBe('second');
    });

    it("reduceByKeyLocally: each key's values merged, as a Map on the driver keyed structurally (Spark's reduceByKeyLocally)", async () => {
      const sc = ctx();
      const data: Array<[unknown, number]> = [];
      for (let i = 0; i < 200; i++) data.push([i % 3 === 0 ? `k${i % 7}` : [i % 5, 'x'], i]);
      const m = await sc.parallelize(data, 4).reduceByKeyLocally((a, b) => a + b);
      expect(m).toBeInstanceOf(Map);
      const expected = new Map<string, number>();
      for (const [k, v] of data) expected.set(JSON.stringify(k), (expected.get(JSON.stringify(k)) ?? 0) + v);
      expect(m.size).toBe(expected.size);
      for (const [k, v] of expected) expect(m.get(JSON.parse(k))).toBe(v);
      expect(await sc.parallelize<[string, number]>([], 2).reduceByKeyLocally((a, b) => a + b)).toEqual(new Map());
    });

    it('lookup without a partitioner scans every partition', async () => {
      const sc = ctx();
      const pairs = sc.parallelize<[unknown, number]>(
        [
          ['a', 1],
          ['b', 2],
          ['a', 3],
          [[1, 2], 4],
          [{ x: 1, y: 2 }, 5],
        ],
        3,
      );
      expect((await pairs.lookup('a')).sort()).toEqual([1, 3]);
      expect(await pairs.lookup('zz')).toEqual([]);
      expect(await pairs.lookup([1, 2])).toEqual([4]);
      expect(await pairs.lookup({ y: 2, x: 1 })).toEqual([5]);
    });

    it('lookup with a partitioner reads only the key partition', async () => {
      const sc = ctx();
      const hp = new HashPartitioner(4);
      const pairs = sc
        .parallelize<[string, number]>(
          [
            ['a', 1],
            ['b', 2],
            ['a', 3],
            ['c', 4],
          ],
          2,
        )
        .partitionBy(hp);
      await pairs.count(); // shuffle output exists; the lookup job is then one result stage
      const tasks: SchedulerEvent[] = [];
      const off = sc.events.on('taskStart', (e) => void tasks.push(e));
      try {
        expect((await pairs.lookup('a')).sort()).toEqual([1, 3]);
      } finally {
        off();
      }
      expect(tasks).toHaveLength(1);
      expect((tasks[0] as { partition: number }).partition).toBe(hp.getPartition('a'));
      expect(await pairs.lookup('nope')).toEqual([]);
      const reduced = pairs.reduceByKey((a, b) => a + b);
      expect(await reduced.lookup('a')).toEqual([4]);
      const structural = sc
        .parallelize<[unknown, string]>(
          [
            [{ x: 1, y: [2] }, 'obj'],
            [[1, 'a'], 'arr'],
          ],
          2,
        )
        .partitionBy(3);
      expect(await structural.lookup({ y: [2], x: 1 })).toEqual(['obj']);
      expect(await structural.lookup([1, 'a'])).toEqual(['arr']);
    });

    it('lookup on a sorted RDD', async () => {
      const sc = ctx();
      const s = sc
        .parallelize(
          Array.from({ length: 30 }, (_, i) => [i % 10, i] as [number, number]),
          3,
        )
        .sortByKey();
      expect((await s.lookup(4)).sort((a, b) => a - b)).toEqual([4, 14, 24]);
      expect((await s.lookup(7)).sort((a, b) => a - b)).toEqual([7, 17, 27]);
    });
  });

  describe('numeric actions', () => {
    const xs = [4, 8, 15, 16, 23, 42];

    it('sum, mean, max, min', async () => {
      const r = ctx().parallelize(xs, 4);
      expect(await r.sum()).toBe(108);
      expect(await r.mean()).toBe(18);
      expect(await r.max()).toBe(42);
      expect(await r.min()).toBe(4);
    });

    it('max and min use the default ordering (strings, arrays)', async () => {
      const sc = ctx();
      expect(await sc.parallelize(['pear', 'apple', 'zoo', 'Zed'], 2).max()).toBe('zoo');
      expect(await sc.parallelize(['pear', 'apple', 'zoo', 'Zed'], 2).min()).toBe('Zed');
      expect(await sc.parallelize([10, 9, 100], 2).max()).toBe(100);
      expect(
        await sc
          .parallelize(
            [
              [1, 2],
              [1, 10],
              [0, 99],
            ],
            2,
          )
          .max(),
      ).toEqual([1, 10]);
    });

    it('max and min of an empty RDD reject', async () => {
      await expect(ctx().parallelize<number>([], 2).max()).rejects.toThrow(/empty/);
      await expect(ctx().emptyRDD<number>().min()).rejects.toThrow(/empty/);
    });

    it('stats has every field, matching a direct computation', async () => {
      const s = await ctx().parallelize(xs, 3).stats();
      const n = xs.length;
      const mean = xs.reduce((a, b) => a + b, 0) / n;
      const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
      expect(s.count).toBe(n);
      expect(s.sum).toBe(108);
      expect(s.min).toBe(4);
      expect(s.max).toBe(42);
      expect(s.mean).toBeCloseTo(mean, 12);
      expect(s.variance).toBeCloseTo(m2 / n, 10);
      expect(s.sampleVariance).toBeCloseTo(m2 / (n - 1), 10);
      expect(s.stdev).toBeCloseTo(Math.sqrt(m2 / n), 10);
      expect(s.sampleStdev).toBeCloseTo(Math.sqrt(m2 / (n - 1)), 10);
      expect(Object.keys(s).sort()).toEqual(['count', 'max', 'mean', 'min', 'sampleStdev', 'sampleVariance', 'stdev', 'sum', 'variance']);
    });

    it('stats of one element and of none', async () => {
      const one = await ctx().parallelize([7], 3).stats();
      expect(one).toMatchObject({ count: 1, mean: 7, sum: 7, min: 7, max: 7, variance: 0, stdev: 0 });
      expect(one.sampleVariance).toBeNaN();
      const none = await ctx().parallelize<number>([], 2).stats();
      expect(none.count).toBe(0);
      expect(none.sum).toBe(0);
      // Spark's and PySpark's StatCounter: the running mean starts at 0.0, so the mean of nothing is 0.
      expect(none.mean).toBe(0);
      expect(none.variance).toBeNaN();
      expect([none.min, none.max]).toEqual([Infinity, -Infinity]);
      expect(await ctx().emptyRDD<number>().sum()).toBe(0);
      expect(await ctx().parallelize<number>([], 2).mean()).toBe(0);
      expect(
        await ctx()
          .parallelize([1, 2, 3], 3)
          .filter((x) => x > 5)
          .mean(),
      ).toBe(0);
    });

    it('stats over many partitions equals a single-partition computation', async () => {
      const data = Array.from({ length: 1000 }, (_, i) => ((i * 37) % 101) - 50.5);
      const a = await ctx().parallelize(data, 1).stats();
      const b = await ctx().parallelize(data, 7).stats();
      expect(b.count).toBe(a.count);
      expect(b.sum).toBeCloseTo(a.sum, 8);
      expect(b.mean).toBeCloseTo(a.mean, 10);
      expect(b.variance).toBeCloseTo(a.variance, 8);
      expect(b.min).toBe(a.min);
      expect(b.max).toBe(a.max);
      expect([b.min, b.max]).toEqual([-50.5, 49.5]);
    });
  });
});

describe.each(MODES)('context lifecycle (%s)', (master) => {
  const ctx = useContext(master);

  it('several jobs may run at once on one context, sharing shuffles', async () => {
    const sc = ctx();
    const counts = sc
      .range(0, 700, 1, 4)
      .map((x) => [x % 7, 1] as [number, number])
      .reduceByKey((a, b) => a + b);
    const sortedCounts = counts.sortByKey();
    const [all, n, ordered, doubled, selfJoin] = await Promise.all([
      counts.collect(),
      counts.count(),
      sortedCounts.collect(),
      counts.mapValues((v) => v * 2).collect(),
      counts.join(counts).count(),
    ]);
    const expected = [0, 1, 2, 3, 4, 5, 6].map((k) => [k, 100]);
    expect(sorted(all)).toEqual(sorted(expected));
    expect(n).toBe(7);
    expect(ordered).toEqual(expected);
    expect(sorted(doubled)).toEqual(sorted(expected.map(([k, v]) => [k, v! * 2])));
    expect(selfJoin).toBe(7);
  });

  it('an RDD belongs to its context; another context runs independently', async () => {
    const sc = ctx();
    const other = new Context({ master: 'local', progress: false });
    try {
      const mine = sc.parallelize([1, 2, 3], 2);
      const theirs = other.parallelize([10, 20], 2);
      expect(await theirs.sum()).toBe(30);
      expect(await mine.sum()).toBe(6);
      await expect(other.union([theirs, mine]).collect()).rejects.toThrow(/another context/);
    } finally {
      await other.stop();
    }
    expect(await sc.parallelize([4], 1).collect()).toEqual([4]);
  });

  it('actions after stop() reject clearly; stop() is idempotent', async () => {
    const sc = ctx();
    const r = sc.parallelize([1, 2, 3], 2);
    expect(await r.count()).toBe(3);
    await sc.stop();
    await sc.stop();
    await expect(r.count()).rejects.toBeInstanceOf(ContextStoppedError);
    await expect(r.collect()).rejects.toThrow(/stop/);
  });
});
