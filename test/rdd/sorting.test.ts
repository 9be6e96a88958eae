/**
 * sortByKey and sortBy: global order across partitions (range partitioning from a sample), both directions,
 * partition counts, and the default ordering of numbers, strings and arrays.
 */
import { describe, expect, it } from 'vitest';
import { capture, RangePartitioner } from 'kindling';
import { MODES, useContext } from './helpers.js';

/** Asserts every partition is sorted and partitions follow one another in order. */
function expectGloballySorted(parts: number[][], ascending: boolean): void {
  const flat = parts.flat();
  for (let i = 1; i < flat.length; i++) {
    if (ascending) expect(flat[i]!).toBeGreaterThanOrEqual(flat[i - 1]!);
    else expect(flat[i]!).toBeLessThanOrEqual(flat[i - 1]!);
  }
}

describe.each(MODES)('sorting (%s)', (master) => {
  const ctx = useContext(master);
  // A fixed pseudo-random permutation of 0..199 with duplicates folded in.
  const data = Array.from({ length: 200 }, (_, i) => (i * 73 + 11) % 150);
  const ascending = [...data].sort((a, b) => a - b);

  it('sortByKey ascending is globally sorted across several partitions', async () => {
    const sc = ctx();
    const s = sc
      .parallelize(
        data.map((k) => [k, `v${k}`] as [number, string]),
        4,
      )
      .sortByKey();
    expect(s.getNumPartitions()).toBe(4);
    const parts = await s.keys().glom().collect();
    expect(parts).toHaveLength(4);
    expectGloballySorted(parts, true);
    // the sample spreads keys: no partition holds (nearly) everything
    expect(Math.max(...parts.map((p) => p.length))).toBeLessThan(150);
    const out = await s.collect();
    expect(out.map(([k]) => k)).toEqual(ascending);
    for (const [k, v] of out) expect(v).toBe(`v${k}`);
  });

  it('sortByKey descending is globally sorted in reverse', async () => {
    const sc = ctx();
    const s = sc
      .parallelize(
        data.map((k) => [k, k * 2] as [number, number]),
        3,
      )
      .sortByKey(false);
    const parts = await s.keys().glom().collect();
    expect(parts).toHaveLength(3);
    expectGloballySorted(parts, false);
    expect((await s.collect()).map(([k]) => k)).toEqual([...ascending].reverse());
  });

  it('sortByKey with an explicit partition count', async () => {
    const sc = ctx();
    const s = sc
      .parallelize(
        data.map((k) => [k, null] as [number, null]),
        2,
      )
      .sortByKey(true, 5);
    expect(s.getNumPartitions()).toBe(5);
    const parts = await s.keys().glom().collect();
    expect(parts).toHaveLength(5);
    expectGloballySorted(parts, true);
    expect(parts.flat()).toEqual(ascending);
    expect(() => sc.parallelize([[1, 1] as [number, number]]).sortByKey(true, 0)).toThrow(RangeError);
  });

  it('sortByKey of few distinct keys and of one hot key', async () => {
    const sc = ctx();
    const skewed = [...Array.from({ length: 50 }, () => 5), 1, 9, 5, 3];
    const out = await sc
      .parallelize(
        skewed.map((k, i) => [k, i] as [number, number]),
        3,
      )
      .sortByKey(true, 4)
      .keys()
      .collect();
    expect(out).toEqual([...skewed].sort((a, b) => a - b));
    const same = await sc
      .parallelize(
        Array.from({ length: 20 }, (_, i) => [7, i] as [number, number]),
        4,
      )
      .sortByKey(false)
      .values()
      .collect();
    expect([...same].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('numbers order numerically, strings by code unit, arrays element by element', async () => {
    const sc = ctx();
    const nums = [10, 9, 100, -1, 2.5, -30, 0];
    expect(
      await sc
        .parallelize(
          nums.map((n) => [n, 0] as [number, number]),
          3,
        )
        .sortByKey()
        .keys()
        .collect(),
    ).toEqual([-30, -1, 0, 2.5, 9, 10, 100]);
    const strs = ['b', 'a', 'B', 'é', 'Z', 'aa', '', 'a b'];
    expect(
      await sc
        .parallelize(
          strs.map((s) => [s, 0] as [string, number]),
          3,
        )
        .sortByKey()
        .keys()
        .collect(),
    ).toEqual(['', 'B', 'Z', 'a', 'a b', 'aa', 'b', 'é']);
    const arrs = [[1, 2], [1], [0, 5], [1, 1], [], [1, 2, 0], [0, 10]];
    expect(
      await sc
        .parallelize(
          arrs.map((a) => [a, 0] as [number[], number]),
          3,
        )
        .sortByKey()
        .keys()
        .collect(),
    ).toEqual([[], [0, 5], [0, 10], [1], [1, 1], [1, 2], [1, 2, 0]]);
  });

  it('sortBy sorts elements by a key function, both directions, with a partition count', async () => {
    const sc = ctx();
    const words = ['pear', 'fig', 'banana', 'kiwi', 'apple', 'plum', 'cherry'];
    const r = sc.parallelize(words, 3);
    const byLen = await r.sortBy((w) => [w.length, w]).collect();
    expect(byLen).toEqual(['fig', 'kiwi', 'pear', 'plum', 'apple', 'banana', 'cherry']);
    const desc = r.sortBy((w) => w, false, 2);
    expect(desc.getNumPartitions()).toBe(2);
    expect(await desc.collect()).toEqual([...words].sort().reverse());
    const numbers = await sc
      .parallelize(data, 4)
      .sortBy((x) => -x, true, 3)
      .collect();
    expect(numbers).toEqual([...ascending].reverse());
  });

  it('sortBy with a captured key function', async () => {
    const weight: Record<string, number> = { low: 0, mid: 1, high: 2 };
    const out = await ctx()
      .parallelize(['mid', 'high', 'low', 'mid'], 2)
      .sortBy(capture({ weight }, (x: string) => weight[x]!))
      .collect();
    expect(out).toEqual(['low', 'mid', 'mid', 'high']);
  });

  it("sortByKey's range bounds are Spark's RangePartitioner's: no more ranges than sampled keys, equal keys one bound", async () => {
    // Spark: determineBounds(candidates, min(partitions, candidates.size)), so 3 records asked into 5 ranges get the
    // bounds [1, 2] (3 partitions; kindling keeps the 5 asked for, the last two empty, as docs/pyspark.md says).
    const sc = ctx();
    const three = sc.parallelize<[number, string]>(
      [
        [2, 'b'],
        [3, 'c'],
        [1, 'a'],
      ],
      1,
    );
    const down = three.sortByKey(false, 5);
    expect(await down.glom().collect()).toEqual([[[3, 'c']], [[2, 'b']], [[1, 'a']], [], []]);
    expect((down.partitioner as RangePartitioner).bounds).toEqual([1, 2]);
    expect(await down.lookup(3)).toEqual(['c']);
    expect(await down.lookup(1)).toEqual(['a']);
    expect(await down.lookup(9)).toEqual([]);
    // The partitioner is Spark's (equal by bounds and direction), and repartitionAndSortWithinPartitions with it
    // gives the sort's partitions.
    const rp = down.partitioner as RangePartitioner;
    expect(rp.equals(new RangePartitioner(5, [1, 2], false))).toBe(true);
    expect(rp.equals(new RangePartitioner(5, [1, 2], true))).toBe(false);
    const again = three.repartitionAndSortWithinPartitions(rp, false);
    expect(again.partitioner?.equals(rp)).toBe(true);
    expect(await again.glom().collect()).toEqual(await down.glom().collect());
    const up = three.sortByKey(true, 5);
    expect(await up.glom().collect()).toEqual([[[1, 'a']], [[2, 'b']], [[3, 'c']], [], []]);
    expect((up.partitioner as RangePartitioner).bounds).toEqual([1, 2]);
    // A user's comparator takes the same ranges.
    const byCompare = three.sortByKey(false, 5, (a: number, b: number) => a - b);
    expect(await byCompare.glom().collect()).toEqual([[[3, 'c']], [[2, 'b']], [[1, 'a']], [], []]);
    // One record: no bound at all (Spark: one partition), so it is in partition 0 either way.
    expect(
      await sc
        .parallelize<[number, number]>([[4, 4]], 2)
        .sortByKey(false, 4)
        .glom()
        .collect(),
    ).toEqual([[[4, 4]], [], [], []]);
    // All-equal keys: one bound (equal candidates give one), all in the range ending there; descending, that is
    // partition 1, as Spark's 2-partition RangePartitioner places them.
    const same = sc.parallelize(
      Array.from({ length: 50 }, (_, i) => [7, i] as [number, number]),
      5,
    );
    const sameDown = same.sortByKey(false, 4);
    expect((await sameDown.glom().collect()).map((p) => p.length)).toEqual([0, 50, 0, 0]);
    expect((sameDown.partitioner as RangePartitioner).bounds).toEqual([7]);
    expect((await same.sortByKey(true, 4).glom().collect()).map((p) => p.length)).toEqual([50, 0, 0, 0]);
  });

  it('sorting empty inputs and more partitions than elements', async () => {
    const sc = ctx();
    expect(await sc.parallelize<[number, number]>([], 3).sortByKey().collect()).toEqual([]);
    expect(
      await sc
        .emptyRDD<number>()
        .sortBy((x) => x)
        .collect(),
    ).toEqual([]);
    const tiny = sc.parallelize([3, 1, 2], 8).sortBy((x) => x, true, 6);
    expect(tiny.getNumPartitions()).toBe(6);
    expect(await tiny.collect()).toEqual([1, 2, 3]);
  });

  it('a sorted RDD can be sorted again and reused across jobs', async () => {
    const sc = ctx();
    const s = sc
      .parallelize(
        data.map((k) => [k, k] as [number, number]),
        3,
      )
      .sortByKey();
    expect(await s.count()).toBe(200);
    const again = s.map(([k, v]) => [-k, v] as [number, number]).sortByKey(true, 2);
    expect(await again.keys().collect()).toEqual([...ascending].reverse().map((k) => -k));
    expect(await s.keys().take(3)).toEqual(ascending.slice(0, 3));
  });

  it('a comparator that throws fails the action naming the sort and the driver where it ran; the context sorts on', async () => {
    const sc = ctx();
    const pairs = sc.parallelize(
      data.map((k) => [k, k] as [number, number]),
      3,
    );
    // It throws on every key, so it fails first where it runs first: sorting the sample on the driver.
    const sorted = pairs.sortByKey(true, 2, (_a: number, _b: number): number => {
      throw new Error('not comparable');
    });
    const error = await sorted.collect().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('JobFailedError');
    expect(error?.message).toBe(`${sorted.label}: its comparator threw on the driver, placing the sampled keys in ranges: Error: not comparable`);
    expect((error?.cause as Error).message).toBe('not comparable');
    expect(
      await pairs
        .sortByKey(true, 2, (a: number, b: number) => b - a)
        .keys()
        .take(2),
    ).toEqual([149, 149]);
  });
});
