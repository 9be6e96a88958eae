/**
 * Transformations a PySpark user reaches for, specified by pyspark's documented examples (quoted above each
 * check) and Spark's semantics; user-defined partitioners.
 */
import { describe, expect, test } from 'vitest';
import { capture, Context, type CustomPartitioner } from 'kindling';
import { MODES, numSorted, sorted, useContext } from './helpers.js';

describe.each(MODES)('Spark transformations (%s)', (master) => {
  const ctx = useContext(master);

  test('randomSplit: every element in exactly one split, sizes by weight, deterministic by seed', async () => {
    // >>> rdd = sc.parallelize(range(500), 1); rdd1, rdd2 = rdd.randomSplit([2, 3], 17)
    // >>> len(rdd1.collect() + rdd2.collect()) -> 500; 150 < rdd1.count() < 250; 250 < rdd2.count() < 350
    const rdd = ctx().range(500, undefined, 1, 1);
    const [rdd1, rdd2] = rdd.randomSplit([2, 3], 17);
    const a = await rdd1!.collect();
    const b = await rdd2!.collect();
    expect(numSorted([...a, ...b])).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(a.length).toBeGreaterThan(150);
    expect(a.length).toBeLessThan(250);
    expect(b.length).toBeGreaterThan(250);
    expect(b.length).toBeLessThan(350);
    expect(await rdd.randomSplit([2, 3], 17)[0]!.collect()).toEqual(a);
    const parts = ctx().range(1000, undefined, 1, 4).randomSplit([0.1, 0.2, 0.7], 3);
    const counts = await Promise.all(parts.map((p) => p.count()));
    expect(counts.reduce((x, y) => x + y, 0)).toBe(1000);
    expect(() => rdd.randomSplit([1, -1])).toThrow(RangeError);
  });

  test('sampleByKey: each key sampled with its own fraction', async () => {
    // >>> fractions = {"a": 0.2, "b": 0.1}
    // >>> rdd = sc.parallelize(fractions.keys()).cartesian(sc.parallelize(range(0, 1000)))
    // >>> sample = dict(rdd.sampleByKey(False, fractions, 2).groupByKey().collect())
    // >>> 100 < len(sample["a"]) < 300 and 50 < len(sample["b"]) < 150 -> True
    // >>> max(sample["a"]) <= 999 and min(sample["a"]) >= 0 -> True
    const sc = ctx();
    const rdd = sc.parallelize(['a', 'b']).cartesian(sc.range(1000, undefined, 1, 2));
    const sample = new Map(await rdd.sampleByKey(false, { a: 0.2, b: 0.1 }, 2).groupByKey().collect());
    const sa = sample.get('a')!;
    const sb = sample.get('b')!;
    expect(sa.length > 100 && sa.length < 300 && sb.length > 50 && sb.length < 150).toBe(true);
    expect(Math.max(...sa) <= 999 && Math.min(...sa) >= 0).toBe(true);
    // A Map with structural keys, and with replacement (fractions above 1 allowed).
    const tuples = sc
      .parallelize([
        [0, 0],
        [0, 1],
      ])
      .cartesian(sc.range(500, undefined, 1, 2));
    const withRep = await tuples
      .sampleByKey(
        true,
        new Map([
          [[0, 0], 2],
          [[0, 1], 0],
        ]),
        5,
      )
      .countByKey();
    expect(withRep.get([0, 0])).toBeGreaterThan(800);
    expect(withRep.get([0, 0])).toBeLessThan(1200);
    expect(withRep.has([0, 1])).toBe(false);
    await expect(rdd.sampleByKey(false, { a: 0.5 }, 1).count()).rejects.toThrow(/no fraction given for key "b"/);
    // PySpark's {1: 0.5} written in JavaScript names the string '1', not the number: the error says so and what to write.
    const numbers = sc.parallelize<[number, string]>([
      [1, 'x'],
      [2, 'y'],
    ]);
    await expect(numbers.sampleByKey(false, { 1: 0.5, 2: 0.5 }, 1).count()).rejects.toThrow(
      /property names are strings: .[12]. is not the key [12]; .*new Map\(\[\[[12], 0\.5\]\]\)/,
    );
  });

  test('repartitionAndSortWithinPartitions with a user partitioner', async () => {
    // >>> rdd = sc.parallelize([(0, 5), (3, 8), (2, 6), (0, 8), (3, 8), (1, 3)])
    // >>> rdd2 = rdd.repartitionAndSortWithinPartitions(2, lambda x: x % 2, True)
    // >>> rdd2.glom().collect() -> [[(0, 5), (0, 8), (2, 6)], [(1, 3), (3, 8), (3, 8)]]
    const rdd = ctx().parallelize<[number, number]>(
      [
        [0, 5],
        [3, 8],
        [2, 6],
        [0, 8],
        [3, 8],
        [1, 3],
      ],
      3,
    );
    const rdd2 = rdd.repartitionAndSortWithinPartitions({ numPartitions: 2, getPartition: (x: number) => x % 2 });
    const glommed = await rdd2.glom().collect();
    // Values of equal keys keep no particular order in Spark either; keys are sorted.
    expect(glommed.map((p) => p.map(([k]) => k))).toEqual([
      [0, 0, 2],
      [1, 3, 3],
    ]);
    expect(glommed.map((p) => sorted(p))).toEqual([
      sorted([
        [0, 5],
        [0, 8],
        [2, 6],
      ]),
      sorted([
        [1, 3],
        [3, 8],
        [3, 8],
      ]),
    ]);
    const desc = await rdd.repartitionAndSortWithinPartitions(1, false).collect();
    expect(desc.map(([k]) => k)).toEqual([3, 3, 2, 1, 0, 0]);
  });

  test('repartitionAndSortWithinPartitions with a key function (pyspark keyfunc): sorted by its result, ties in arrival order', async () => {
    const words = ctx().parallelize<[string, number]>(
      [
        ['ccc', 1],
        ['a', 2],
        ['bb', 3],
        ['dd', 4],
        ['e', 5],
      ],
      2,
    );
    const byLength = await words.repartitionAndSortWithinPartitions(1, true, (k) => k.length).collect();
    expect(byLength.map(([k]) => k.length)).toEqual([1, 1, 2, 2, 3]);
    expect(new Set(byLength.map(([k]) => k))).toEqual(new Set(['ccc', 'a', 'bb', 'dd', 'e']));
    const longestFirst = await words.repartitionAndSortWithinPartitions(1, false, (k) => k.length).collect();
    expect(longestFirst.map(([k]) => k.length)).toEqual([3, 2, 2, 1, 1]);
    // Two partitions: each sorted by the key function, without it the engine's order (alphabetical) would show.
    const parts = await words
      .repartitionAndSortWithinPartitions({ numPartitions: 2, getPartition: (k: string) => k.length % 2 }, true, (k) => -k.charCodeAt(0))
      .glom()
      .collect();
    expect(parts).toEqual([
      [
        ['dd', 4],
        ['bb', 3],
      ],
      [
        ['e', 5],
        ['ccc', 1],
        ['a', 2],
      ],
    ]);
  });

  test('zipWithUniqueId', async () => {
    // >>> sc.parallelize(["a", "b", "c", "d", "e"], 3).zipWithUniqueId().collect()
    // -> [('a', 0), ('b', 1), ('c', 4), ('d', 2), ('e', 5)]
    expect(await ctx().parallelize(['a', 'b', 'c', 'd', 'e'], 3).zipWithUniqueId().collect()).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 4],
      ['d', 2],
      ['e', 5],
    ]);
  });

  test('zipPartitions pairs partitions whose sizes differ', async () => {
    const a = ctx().parallelize([1, 2, 3, 4], 2);
    const b = ctx().parallelize(['a', 'b', 'c'], 2);
    expect(await a.zipPartitions(b, (xs, ys) => [[...xs].length, [...ys].length]).collect()).toEqual([2, 1, 2, 2]);
    const sep = '-';
    const joined = a.zipPartitions(
      b,
      capture({ sep }, function* (xs: Iterable<number>, ys: Iterable<string>) {
        yield [...xs].join(sep) + '|' + [...ys].join(sep);
      }),
    );
    expect(await joined.collect()).toEqual(['1-2|a', '3-4|b-c']);
    expect(() => a.zipPartitions(ctx().parallelize([1], 1), (x) => x)).toThrow(/same number of partitions/);
  });

  test('pipe: each partition through an external command, lines in and out', async () => {
    // >>> sc.parallelize(['1', '2', '', '3']).pipe('cat').collect() -> ['1', '2', '', '3']
    expect(await ctx().parallelize(['1', '2', '', '3'], 2).pipe('cat').collect()).toEqual(['1', '2', '', '3']);
    expect(await ctx().parallelize(['b', 'c', 'a'], 1).pipe(['sort']).collect()).toEqual(['a', 'b', 'c']);
    expect(
      await ctx()
        .parallelize([1, { a: 2 }], 1)
        .pipe('cat')
        .collect(),
    ).toEqual(['1', '{"a":2}']);
    expect(
      await ctx()
        .parallelize(['x'], 1)
        .pipe('echo "$GREETING $(cat)"', { env: { GREETING: 'hi' } })
        .collect(),
    ).toEqual(['hi x']);
    expect(await ctx().emptyRDD<string>().pipe('cat').collect()).toEqual([]);
    await expect(ctx().parallelize(['x'], 1).pipe('echo oops >&2; exit 3').collect()).rejects.toThrow(/exited with 3: oops/);
  });

  test('pipe: a command that stops reading its input is judged by its exit status, not by the broken pipe', async () => {
    // Input far larger than a pipe's buffer, so the writer is still writing when the command exits.
    const lines = Array.from({ length: 200_000 }, (_, i) => `line ${i}`);
    expect(await ctx().parallelize(lines, 2).pipe('head -n 1').collect()).toEqual(['line 0', 'line 100000']);
    await expect(ctx().parallelize(lines, 1).pipe('echo oops >&2; exit 3').collect()).rejects.toThrow(/exited with 3: oops/);
  });

  describe('user-defined partitioners', () => {
    const n = 3;
    const byMod: CustomPartitioner<number> = { numPartitions: n, getPartition: capture({ n }, (k: number) => ((k % n) + n) % n) };

    test('partitionBy places keys with the user function in the workers', async () => {
      const pairs = ctx()
        .range(30, undefined, 1, 4)
        .map((i) => [i, `v${i}`]);
      const parts = await pairs.partitionBy(byMod).glom().collect();
      expect(parts).toHaveLength(3);
      parts.forEach((p, i) => {
        expect(p.length).toBe(10);
        for (const [k] of p) expect(k % 3).toBe(i);
      });
    });

    test('RDDs partitioned by the same partitioner join without another shuffle; lookup reads one partition', async () => {
      const sc = ctx();
      const left = sc
        .range(60, undefined, 1, 4)
        .map((i) => [i, i * 2])
        .partitionBy(byMod)
        .cache();
      const right = sc
        .range(60, undefined, 1, 2)
        .map((i) => [i, `r${i}`])
        .partitionBy(byMod);
      const joined = left.join(right);
      // The cogroup under the join reads both sides through narrow dependencies: no shuffle for the join itself.
      const cogrouped = joined.dependencies[0]!.rdd;
      expect(cogrouped.kind).toBe('CoGroupedRDD');
      expect(cogrouped.dependencies.map((d) => d.type)).toEqual(['narrow', 'narrow']);
      expect(joined.partitioner).toBe(left.partitioner);
      const rows = await joined.collect();
      expect(rows).toHaveLength(60);
      expect(new Map(rows).get(7)).toEqual([14, 'r7']);
      await left.count();
      const tasks: number[] = [];
      const off = sc.events.on('taskStart', (e) => void tasks.push(e.partition));
      try {
        expect(await left.lookup(7)).toEqual([14]);
      } finally {
        off();
      }
      expect(tasks).toEqual([1]);
    });

    test('a getPartition result outside [0, numPartitions) fails the job naming the key', async () => {
      const bad = { numPartitions: 2, getPartition: (k: number) => k };
      await expect(
        ctx()
          .parallelize<[number, number]>([
            [0, 0],
            [5, 5],
          ])
          .partitionBy(bad)
          .collect(),
      ).rejects.toThrow(/getPartition of a custom partitioner returned 5 for key 5; it must be an integer in \[0, 2\)/);
    });
  });
});

test('a user partitioner works in the mapreduce engine too', async () => {
  const sc = new Context({ master: 'local[2]', engine: 'mapreduce', progress: false });
  try {
    const parts = await sc
      .parallelize<[string, number]>(
        [
          ['a', 1],
          ['bb', 2],
          ['ccc', 3],
          ['dd', 4],
        ],
        2,
      )
      .partitionBy({ numPartitions: 4, getPartition: (k: string) => k.length })
      .glom()
      .collect();
    expect(parts.map((p) => p.map(([k]) => k).sort())).toEqual([[], ['a'], ['bb', 'dd'], ['ccc']]);
  } finally {
    await sc.stop();
  }
});

describe.each(MODES)('sorting with a custom comparator (%s)', (master) => {
  const ctx = useContext(master);

  test('sortByKey with compare: globally ordered by the comparator, across partitions, both directions', async () => {
    // Case-insensitive order, which the engine's own order (uppercase before lowercase) does not give.
    const words = ['banana', 'Apple', 'cherry', 'apple2', 'Date', 'elder', 'Fig', 'grape', 'Honeydew', 'kiwi', 'Lemon', 'mango'];
    const pairs = ctx().parallelize(
      words.map((w, i): [string, number] => [w, i]),
      3,
    );
    const byLower = (a: string, b: string): number => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0);
    const expected = [...words].sort(byLower);
    const sortedRdd = pairs.sortByKey(true, 3, byLower);
    expect(await sortedRdd.keys().collect()).toEqual(expected);
    // Ranges, not one partition: each partition holds a contiguous, sorted run.
    const parts = await sortedRdd.keys().glom().collect();
    expect(parts.filter((p) => p.length > 0).length).toBeGreaterThan(1);
    expect(await pairs.sortByKey(false, 2, byLower).keys().collect()).toEqual([...expected].reverse());
    // The engine's order differs, so the comparator really decided.
    expect(await pairs.sortByKey(true, 3).keys().collect()).not.toEqual(expected);
  });

  test('sortBy with compare, e.g. by length then alphabetically', async () => {
    const words = ctx().parallelize(['ccc', 'a', 'bb', 'aa', 'b', 'aaa'], 2);
    const cmp = (x: string, y: string): number => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
    expect(await words.sortBy((w) => w, true, 2, cmp).collect()).toEqual(['a', 'b', 'aa', 'bb', 'aaa', 'ccc']);
  });
});
