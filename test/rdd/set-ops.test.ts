/**
 * Set-like operations: distinct, intersection, subtract, union, with structural elements and partition counts.
 */
import { describe, expect, it } from 'vitest';
import { MODES, numSorted, sorted, useContext } from './helpers.js';

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
  });

  it('union then distinct equals the set union', async () => {
    const sc = ctx();
    const a = sc.parallelize([1, 2, 3], 2);
    const b = sc.parallelize([3, 4, 1], 2);
    expect(numSorted(await a.union(b).collect())).toEqual([1, 1, 2, 3, 3, 4]);
    expect(numSorted(await a.union(b).distinct().collect())).toEqual([1, 2, 3, 4]);
  });
});
