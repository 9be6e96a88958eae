/**
 * Partitioning: partitionBy with Hash and Range partitioners, Spark's default partition count for shuffles, reuse
 * of an existing partitioner (no new shuffle), which transformations keep the partitioner, and driver/worker
 * agreement on where a key lives.
 */
import { describe, expect, it } from 'vitest';
import { HashPartitioner, RangePartitioner, type RDD } from 'kindling';
import { MODES, sorted, useContext } from './helpers.js';

/** Distinct shuffles in the lineage: the map-side RDDs printed after `+-` (a shared parent prints twice). */
const shuffles = (rdd: RDD<unknown>): number => new Set(rdd.toDebugString().match(/\+-\(\d+\) \S+\[\d+\]/g) ?? []).size;

describe.each(MODES)('partitioning (%s)', (master) => {
  const ctx = useContext(master);
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
  const pairs = (n: number): RDD<[string, number]> =>
    ctx().parallelize(
      keys.map((k, i) => [k, i] as [string, number]),
      n,
    );

  describe('partitionBy', () => {
    it('places every key in the partition its HashPartitioner names', async () => {
      const hp = new HashPartitioner(3);
      const p = pairs(2).partitionBy(hp);
      expect(p.getNumPartitions()).toBe(3);
      expect(p.partitioner?.equals(hp)).toBe(true);
      const parts = await p.glom().collect();
      expect(parts).toHaveLength(3);
      parts.forEach((part, i) => {
        for (const [k] of part) expect(hp.getPartition(k)).toBe(i);
      });
      expect(sorted(parts.flat())).toEqual(sorted(keys.map((k, i) => [k, i])));
    });

    it('with a number means a HashPartitioner of that many partitions', async () => {
      const p = pairs(2).partitionBy(4);
      expect(p.partitioner?.equals(new HashPartitioner(4))).toBe(true);
      const hp = new HashPartitioner(4);
      (await p.glom().collect()).forEach((part, i) => {
        for (const [k] of part) expect(hp.getPartition(k)).toBe(i);
      });
      expect(() => pairs(2).partitionBy(0)).toThrow(RangeError);
    });

    it('with a RangePartitioner places keys into ranges', async () => {
      const sc = ctx();
      const rp = new RangePartitioner(3, [10, 20]);
      const data = [5, 25, 10, 15, 20, 30, -1, 11].map((k) => [k, String(k)] as [number, string]);
      const parts = await sc.parallelize(data, 2).partitionBy(rp).keys().glom().collect();
      expect(parts.map((p) => [...p].sort((a, b) => a - b))).toEqual([
        [-1, 5, 10],
        [11, 15, 20],
        [25, 30],
      ]);
    });

    it('structural keys hash the same on driver and workers', async () => {
      const hp = new HashPartitioner(5);
      const ks: unknown[] = [[1, 2], { a: 1, b: 'x' }, [[1], { z: null }], 'str', 3.25, -7, true, null];
      const data = [...ks, { b: 'x', a: 1 }].map((k, i) => [k, i] as [unknown, number]);
      const parts = await ctx().parallelize(data, 3).partitionBy(hp).glom().collect();
      parts.forEach((part, i) => {
        for (const [k] of part) expect(hp.getPartition(k)).toBe(i);
      });
      const objPart = parts.findIndex((part) =>
        part.some(([k]) => k !== null && typeof k === 'object' && !Array.isArray(k) && 'b' in k && (k as { b: unknown }).b === 'x'),
      );
      expect(
        parts[objPart]!.filter(([k]) => k !== null && typeof k === 'object' && !Array.isArray(k) && (k as { b?: unknown }).b === 'x'),
      ).toHaveLength(2);
    });

    it('with an equal partitioner returns the same RDD: no new shuffle', () => {
      const p = pairs(2).partitionBy(new HashPartitioner(4));
      expect(p.partitionBy(new HashPartitioner(4))).toBe(p);
      expect(p.partitionBy(4)).toBe(p);
      const q = p.partitionBy(new HashPartitioner(3));
      expect(q).not.toBe(p);
      expect(shuffles(q as RDD<unknown>)).toBe(2);
      const r = pairs(2).partitionBy(new RangePartitioner(2, ['f']));
      expect(r.partitionBy(new RangePartitioner(2, ['f']))).toBe(r);
      expect(r.partitionBy(new RangePartitioner(2, ['g']))).not.toBe(r);
    });
  });

  describe('default partition count and partitioner reuse', () => {
    it('a shuffle without a count takes the largest parent count', () => {
      const sc = ctx();
      expect(
        pairs(3)
          .reduceByKey((a, b) => a + b)
          .getNumPartitions(),
      ).toBe(3);
      expect(pairs(5).groupByKey().getNumPartitions()).toBe(5);
      expect(pairs(2).join(pairs(7)).getNumPartitions()).toBe(7);
      expect(pairs(7).cogroup(pairs(2)).getNumPartitions()).toBe(7);
      expect(
        pairs(2)
          .union(pairs(3))
          .reduceByKey((a, b) => a + b)
          .getNumPartitions(),
      ).toBe(5);
      expect(sc.parallelize([1, 2], 4).distinct().getNumPartitions()).toBe(4);
      expect(
        sc
          .parallelize([1, 2], 4)
          .groupBy((x) => x)
          .getNumPartitions(),
      ).toBe(4);
      expect(
        sc
          .parallelize([1, 2], 4)
          .sortBy((x) => x)
          .getNumPartitions(),
      ).toBe(4);
      expect(pairs(6).sortByKey().getNumPartitions()).toBe(6);
      expect(
        pairs(3)
          .aggregateByKey(
            0,
            (a, b) => a + b,
            (a, b) => a + b,
          )
          .getNumPartitions(),
      ).toBe(3);
      expect(
        pairs(3)
          .foldByKey(0, (a, b) => a + b)
          .getNumPartitions(),
      ).toBe(3);
      expect(
        pairs(3)
          .combineByKey(
            (v) => v,
            (a, b) => a + b,
            (a, b) => a + b,
          )
          .getNumPartitions(),
      ).toBe(3);
    });

    it('reuses an existing partitioner: combining a partitioned RDD needs no new shuffle', async () => {
      const hp = new HashPartitioner(4);
      const p = pairs(2).partitionBy(hp);
      const reduced = p.reduceByKey((a, b) => a + b);
      expect(reduced.getNumPartitions()).toBe(4);
      expect(reduced.partitioner?.equals(hp)).toBe(true);
      expect(shuffles(reduced as RDD<unknown>)).toBe(1);
      expect(sorted(await reduced.collect())).toEqual(sorted(keys.map((k, i) => [k, i])));
      const grouped = p.groupByKey();
      expect(shuffles(grouped as RDD<unknown>)).toBe(1);
      expect(sorted(await grouped.collect())).toEqual(sorted(keys.map((k, i) => [k, [i]])));
      // an explicit equal partitioner also avoids a shuffle; a different one does not
      expect(shuffles(p.reduceByKey((a, b) => a + b, new HashPartitioner(4)) as RDD<unknown>)).toBe(1);
      expect(shuffles(p.reduceByKey((a, b) => a + b, 3) as RDD<unknown>)).toBe(2);
    });

    it('a partitioned RDD in a join with a much larger input is not reused (Spark order-of-magnitude rule)', () => {
      const small = pairs(2).partitionBy(2);
      const big = pairs(30);
      const j = small.join(big);
      expect(j.getNumPartitions()).toBe(30);
      const reusable = pairs(5);
      expect(small.join(reusable).getNumPartitions()).toBe(2);
      expect(small.join(reusable).partitioner?.equals(new HashPartitioner(2))).toBe(true);
    });

    it('the larger of two partitioners is reused', () => {
      const a = pairs(2).partitionBy(3);
      const b = pairs(2).partitionBy(6);
      const j = a.join(b);
      expect(j.getNumPartitions()).toBe(6);
      expect(j.partitioner?.equals(new HashPartitioner(6))).toBe(true);
      expect(shuffles(j as RDD<unknown>)).toBe(3);
    });
  });

  describe('which operations keep the partitioner', () => {
    it('mapValues, flatMapValues, filter and reduceByKey keep it; map, keys, flatMap drop it', () => {
      const hp = new HashPartitioner(3);
      const p = pairs(2).partitionBy(hp);
      expect(p.mapValues((v) => v + 1).partitioner?.equals(hp)).toBe(true);
      expect(p.flatMapValues((v) => [v]).partitioner?.equals(hp)).toBe(true);
      expect(p.filter(([, v]) => v > 2).partitioner?.equals(hp)).toBe(true);
      expect(p.map((kv) => kv).partitioner).toBeUndefined();
      expect(p.flatMap((kv) => [kv]).partitioner).toBeUndefined();
      expect(p.keys().partitioner).toBeUndefined();
      expect(p.mapPartitions((it) => it).partitioner).toBeUndefined();
      expect(p.mapPartitions((it) => it, true).partitioner?.equals(hp)).toBe(true);
      expect(p.coalesce(2).partitioner).toBeUndefined();
    });

    it('a parallelized RDD has no partitioner; a shuffle result has a HashPartitioner', () => {
      const r = pairs(2);
      expect(r.partitioner).toBeUndefined();
      const red = r.reduceByKey((a, b) => a + b, 5);
      expect(red.partitioner?.numPartitions).toBe(5);
      expect(red.partitioner?.getPartition('a')).toBe(new HashPartitioner(5).getPartition('a'));
    });

    it('a join after a preserving mapPartitions stays narrow', async () => {
      const p = pairs(2).partitionBy(3);
      const q = p.mapPartitions((it) => [...it].map(([k, v]) => [k, v * 10] as [string, number]), true);
      const j = q.join(p);
      expect(shuffles(j as RDD<unknown>)).toBe(1);
      expect(sorted(await j.collect())).toEqual(sorted(keys.map((k, i) => [k, [i * 10, i]])));
    });
  });
});
