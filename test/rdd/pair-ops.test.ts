/**
 * Pair operations that combine by key: keys/values/mapValues/flatMapValues, reduceByKey, groupByKey,
 * aggregateByKey, foldByKey, combineByKey, groupBy, and structural keys.
 */
import { describe, expect, it } from 'vitest';
import { HashPartitioner, type RDD } from 'kindling';
import { MODES, sorted, useContext } from './helpers.js';

type P = [string, number];

describe.each(MODES)('pair operations (%s)', (master) => {
  const ctx = useContext(master);
  const pairs = (): RDD<P> =>
    ctx().parallelize<P>(
      [
        ['a', 1],
        ['b', 2],
        ['a', 3],
        ['c', 4],
        ['b', 5],
        ['a', 6],
      ],
      3,
    );

  it('pair operations type-check only on RDD<[K, V]>', async () => {
    const nums = ctx().parallelize([1, 2, 3]);
    // Never called: the @ts-expect-error lines fail a type check of this file if pair operations accept RDD<number>.
    const typeOnly = (): unknown[] => [
      // @ts-expect-error reduceByKey needs an RDD of pairs
      nums.reduceByKey((a: number, b: number) => a + b),
      // @ts-expect-error join needs an RDD of pairs
      nums.join(pairs()),
      // @ts-expect-error keys needs an RDD of pairs
      nums.keys(),
      // @ts-expect-error countByKey needs an RDD of pairs
      nums.countByKey(),
    ];
    expect(typeOnly).toBeTypeOf('function');
    const typed: RDD<[string, number]> = pairs().reduceByKey((a, b) => a + b);
    expect(await typed.count()).toBe(3);
  });

  describe('keys, values, mapValues, flatMapValues', () => {
    it('keys and values keep order', async () => {
      expect(await pairs().keys().collect()).toEqual(['a', 'b', 'a', 'c', 'b', 'a']);
      expect(await pairs().values().collect()).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('mapValues maps the value only', async () => {
      expect(
        await pairs()
          .mapValues((v) => v * 10)
          .collect(),
      ).toEqual([
        ['a', 10],
        ['b', 20],
        ['a', 30],
        ['c', 40],
        ['b', 50],
        ['a', 60],
      ]);
    });

    it('flatMapValues emits one pair per produced value', async () => {
      const r = ctx().parallelize<[string, string]>(
        [
          ['a', 'x y'],
          ['b', ''],
          ['c', 'z'],
        ],
        2,
      );
      expect(await r.flatMapValues((v) => (v === '' ? [] : v.split(' '))).collect()).toEqual([
        ['a', 'x'],
        ['a', 'y'],
        ['c', 'z'],
      ]);
    });
  });

  describe('reduceByKey', () => {
    it('word count', async () => {
      const sc = ctx();
      const out = await sc
        .parallelize(['a b a', 'c a', 'b'], 2)
        .flatMap((l) => l.split(' '))
        .map((w) => [w, 1] as [string, number])
        .reduceByKey((a, b) => a + b)
        .collect();
      expect(sorted(out)).toEqual([
        ['a', 3],
        ['b', 2],
        ['c', 1],
      ]);
    });

    it('takes a partition count or a partitioner', async () => {
      const byCount = pairs().reduceByKey((a, b) => a + b, 4);
      expect(byCount.getNumPartitions()).toBe(4);
      expect(byCount.partitioner?.numPartitions).toBe(4);
      expect(sorted(await byCount.collect())).toEqual([
        ['a', 10],
        ['b', 7],
        ['c', 4],
      ]);
      const hp = new HashPartitioner(2);
      const byPartitioner = pairs().reduceByKey((a, b) => a + b, hp);
      expect(byPartitioner.getNumPartitions()).toBe(2);
      const glommed = await byPartitioner.glom().collect();
      glommed.forEach((part, i) => {
        for (const [k] of part) expect(hp.getPartition(k)).toBe(i);
      });
    });

    it('uses a non-commutative-safe order only through the given function (max of strings)', async () => {
      const r = ctx().parallelize<[number, string]>(
        [
          [1, 'pear'],
          [2, 'fig'],
          [1, 'apple'],
          [1, 'zucchini'],
          [2, 'kiwi'],
        ],
        3,
      );
      expect(sorted(await r.reduceByKey((a, b) => (a > b ? a : b)).collect())).toEqual([
        [1, 'zucchini'],
        [2, 'kiwi'],
      ]);
    });

    it('rejects a bad partition count at the call', () => {
      expect(() => pairs().reduceByKey((a, b) => a + b, 0)).toThrow(RangeError);
    });

    it('a user error names the job, the RDD and the original message, and the context keeps working', async () => {
      const sc = ctx();
      const r = sc.parallelize<[string, number]>(
        [
          ['k', 1],
          ['k', 2],
        ],
        1,
      );
      const failing = r.reduceByKey((a, b) => {
        if (a + b > 0) throw new Error('boom in reduce');
        return a;
      });
      await expect(failing.collect()).rejects.toThrow(/boom in reduce/);
      expect(await r.count()).toBe(2);
    });

    it('rejects elements that are not pairs with a clear message', async () => {
      const r = ctx().parallelize([1, 2, 3], 2) as unknown as RDD<P>;
      await expect(r.groupByKey().collect()).rejects.toThrow(/pairs/);
    });
  });

  describe('groupByKey and groupBy', () => {
    it('groups values into arrays', async () => {
      const out = await pairs().groupByKey().collect();
      expect(sorted(out.map(([k, vs]) => [k, [...vs].sort((a, b) => a - b)]))).toEqual([
        ['a', [1, 3, 6]],
        ['b', [2, 5]],
        ['c', [4]],
      ]);
    });

    it('with a partition count', async () => {
      const g = pairs().groupByKey(5);
      expect(g.getNumPartitions()).toBe(5);
      expect(await g.count()).toBe(3);
    });

    it('groupBy groups elements by a key function', async () => {
      const g = ctx()
        .range(1, 10, 1, 3)
        .groupBy((x) => x % 3, 2);
      expect(g.getNumPartitions()).toBe(2);
      const out = await g.collect();
      expect(sorted(out.map(([k, vs]) => [k, [...vs].sort((a, b) => a - b)]))).toEqual([
        [0, [3, 6, 9]],
        [1, [1, 4, 7]],
        [2, [2, 5, 8]],
      ]);
    });
  });

  describe('aggregateByKey', () => {
    it('aggregates with seqOp within and combOp across partitions', async () => {
      const out = await pairs()
        .aggregateByKey(
          [0, 0] as [number, number],
          (acc, v) => [acc[0] + v, acc[1] + 1] as [number, number],
          (x, y) => [x[0] + y[0], x[1] + y[1]] as [number, number],
        )
        .collect();
      expect(sorted(out)).toEqual([
        ['a', [10, 3]],
        ['b', [7, 2]],
        ['c', [4, 1]],
      ]);
    });

    it('copies a mutable zero for each key (never shared)', async () => {
      const zero: number[] = [];
      const out = await pairs()
        .aggregateByKey(
          zero,
          (acc, v) => {
            acc.push(v);
            return acc;
          },
          (x, y) => {
            x.push(...y);
            return x;
          },
        )
        .collect();
      expect(sorted(out.map(([k, vs]) => [k, [...vs].sort((a, b) => a - b)]))).toEqual([
        ['a', [1, 3, 6]],
        ['b', [2, 5]],
        ['c', [4]],
      ]);
      expect(zero).toEqual([]);
    });

    it('copies a mutable object zero for each key, also when no shuffle is needed', async () => {
      const partitioned = pairs().partitionBy(new HashPartitioner(2));
      const agg = partitioned.aggregateByKey(
        { sum: 0, seen: [] as number[] },
        (acc, v) => {
          acc.sum += v;
          acc.seen.push(v);
          return acc;
        },
        (x, y) => {
          x.sum += y.sum;
          x.seen.push(...y.seen);
          return x;
        },
      );
      expect(agg.toDebugString().match(/\+-/g)?.length).toBe(1); // only partitionBy's shuffle
      const out = await agg.collect();
      expect(sorted(out.map(([k, a]) => [k, a.sum, [...a.seen].sort((x, y) => x - y)]))).toEqual([
        ['a', 10, [1, 3, 6]],
        ['b', 7, [2, 5]],
        ['c', 4, [4]],
      ]);
    });
  });

  it('zero values apply once per key per map partition (Spark semantics)', async () => {
    const r = ctx().parallelize<[string, number]>(
      [
        ['k', 1],
        ['j', 5],
        ['k', 2],
      ],
      2,
    );
    // partition 0 holds k:1, partition 1 holds j:5 and k:2
    expect(
      sorted(
        await r
          .aggregateByKey(
            10,
            (a, v) => a + v,
            (a, b) => a + b,
          )
          .collect(),
      ),
    ).toEqual([
      ['j', 15],
      ['k', 23],
    ]);
    expect(sorted(await r.foldByKey(100, (a, b) => a + b).collect())).toEqual([
      ['j', 105],
      ['k', 203],
    ]);
    // already partitioned: one combine per key, so the zero applies once
    const p = r.partitionBy(1);
    expect(sorted(await p.foldByKey(100, (a, b) => a + b).collect())).toEqual([
      ['j', 105],
      ['k', 103],
    ]);
  });

  it('bad partition counts throw at the call for every shuffle', () => {
    const sc = ctx();
    expect(() => pairs().groupByKey(0)).toThrow(RangeError);
    expect(() =>
      pairs().aggregateByKey(
        0,
        (a, b) => a + b,
        (a, b) => a + b,
        -1,
      ),
    ).toThrow(RangeError);
    expect(() => pairs().foldByKey(0, (a, b) => a + b, 1.5)).toThrow(RangeError);
    expect(() =>
      pairs().combineByKey(
        (v) => v,
        (a, b) => a + b,
        (a, b) => a + b,
        0,
      ),
    ).toThrow(RangeError);
    expect(() => sc.parallelize([1]).groupBy((x) => x, 0)).toThrow(RangeError);
    expect(() => sc.parallelize([1]).sortBy((x) => x, true, 0)).toThrow(RangeError);
  });

  it("a partitioning argument that is neither a count nor a partitioner throws at the call (Spark's cogroup(b, c) from JavaScript)", () => {
    // Taken as a partitioner, an RDD made a cogroup of no partitions: an empty result and no error.
    const other = (): RDD<any> => ctx().parallelize<P>([['a', 5]], 2);
    expect(() => (pairs() as any).cogroup(other(), other())).toThrow(/cogroup: the partitioning argument .* got RDD \d+ .*for more, use groupWith/);
    expect(() => (pairs() as any).join(other(), other())).toThrow(/^join: .*got RDD/);
    expect(() => (pairs() as any).reduceByKey((a: number, b: number) => a + b, '4')).toThrow(/reduceByKey: .*got string 4/);
    expect(() => (pairs() as any).groupByKey({ numPartitions: 2 })).toThrow(/groupByKey: .*an object without getPartition/);
  });

  describe('foldByKey and combineByKey', () => {
    it('foldByKey folds each key from zero', async () => {
      expect(
        sorted(
          await pairs()
            .foldByKey(0, (a, b) => a + b)
            .collect(),
        ),
      ).toEqual([
        ['a', 10],
        ['b', 7],
        ['c', 4],
      ]);
      expect(
        sorted(
          await pairs()
            .foldByKey(1, (a, b) => a * b, 2)
            .collect(),
        ),
      ).toEqual([
        ['a', 18],
        ['b', 10],
        ['c', 4],
      ]);
    });

    it('foldByKey copies a mutable zero for each key', async () => {
      const r = ctx().parallelize<[string, number[]]>(
        [
          ['x', [1]],
          ['y', [2]],
          ['x', [3]],
        ],
        1,
      );
      const out = await r
        .foldByKey([], (a, b) => {
          a.push(...b);
          return a;
        })
        .collect();
      expect(sorted(out.map(([k, v]) => [k, [...v].sort()]))).toEqual([
        ['x', [1, 3]],
        ['y', [2]],
      ]);
    });

    it('combineByKey computes per-key averages', async () => {
      const out = await pairs()
        .combineByKey(
          (v) => [v, 1] as [number, number],
          (c, v) => [c[0] + v, c[1] + 1] as [number, number],
          (x, y) => [x[0] + y[0], x[1] + y[1]] as [number, number],
          3,
        )
        .mapValues(([s, n]) => s / n)
        .collect();
      expect(sorted(out)).toEqual([
        ['a', 10 / 3],
        ['b', 3.5],
        ['c', 4],
      ]);
    });

    it('combineByKey builds lists', async () => {
      const out = await pairs()
        .combineByKey(
          (v) => [v],
          (c, v) => [...c, v],
          (x, y) => [...x, ...y],
        )
        .collect();
      expect(sorted(out.map(([k, vs]) => [k, [...vs].sort((a, b) => a - b)]))).toEqual([
        ['a', [1, 3, 6]],
        ['b', [2, 5]],
        ['c', [4]],
      ]);
    });
  });

  describe('structural keys', () => {
    it('arrays and objects with different property order group together', async () => {
      const r = ctx().parallelize<[unknown, number]>(
        [
          [[1, 2], 1],
          [{ a: 1, b: 2 }, 10],
          [[1, 2], 2],
          [{ b: 2, a: 1 }, 20],
          [[2, 1], 100],
          [[1, 2], 3],
          [{ a: 1, b: [3] }, 1000],
          [{ b: [3], a: 1 }, 2000],
        ],
        3,
      );
      expect(sorted(await r.reduceByKey((a, b) => a + b).collect())).toEqual(
        sorted([
          [[1, 2], 6],
          [{ a: 1, b: 2 }, 30],
          [[2, 1], 100],
          [{ a: 1, b: [3] }, 3000],
        ]),
      );
      const grouped = await r.groupByKey(2).collect();
      expect(grouped).toHaveLength(4);
      expect(sorted(grouped.map(([k, vs]) => [k, [...vs].sort((a, b) => a - b)]))).toEqual(
        sorted([
          [
            [1, 2],
            [1, 2, 3],
          ],
          [{ a: 1, b: 2 }, [10, 20]],
          [[2, 1], [100]],
          [{ a: 1, b: [3] }, [1000, 2000]],
        ]),
      );
    });

    it('primitives of different types are different keys', async () => {
      const r = ctx().parallelize<[unknown, number]>(
        [
          [1, 1],
          ['1', 2],
          [true, 4],
          [null, 8],
          [1, 16],
          ['1', 32],
          [[1], 64],
        ],
        2,
      );
      const out = await r.reduceByKey((a, b) => a + b).collect();
      expect(out).toHaveLength(5);
      expect(sorted(out)).toEqual(
        sorted([
          [1, 17],
          ['1', 34],
          [true, 4],
          [null, 8],
          [[1], 64],
        ]),
      );
    });

    it('Dates compare by time, NaN equals itself, undefined and null are keys', async () => {
      const out = await ctx()
        .parallelize<[unknown, number]>(
          [
            [new Date(1000), 1],
            [NaN, 2],
            [undefined, 4],
            [new Date(1000), 8],
            [null, 16],
            [NaN, 32],
            [new Date(2000), 64],
            [undefined, 128],
          ],
          3,
        )
        .reduceByKey((a, b) => a + b)
        .collect();
      expect(out).toHaveLength(5);
      const find = (pred: (k: unknown) => boolean): number | undefined => out.find(([k]) => pred(k))?.[1];
      expect(find((k) => k instanceof Date && k.getTime() === 1000)).toBe(9);
      expect(find((k) => k instanceof Date && k.getTime() === 2000)).toBe(64);
      expect(find((k) => typeof k === 'number' && Number.isNaN(k))).toBe(34);
      expect(find((k) => k === undefined)).toBe(132);
      expect(find((k) => k === null)).toBe(16);
    });

    it('-0 and 0 are the same key', async () => {
      const out = await ctx()
        .parallelize<[number, number]>(
          [
            [0, 1],
            [-0, 2],
          ],
          2,
        )
        .reduceByKey((a, b) => a + b)
        .collect();
      expect(out).toHaveLength(1);
      expect(out[0]![1]).toBe(3);
    });
  });
});
