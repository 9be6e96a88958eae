/**
 * `rdd.stats()` answers Spark's StatCounter: the statistics stay properties (the keys they always were), and Spark's
 * `merge`, `copy` and PySpark's printed form are there.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { StatCounter } from 'kindling';
import { pyFloat } from '../../src/rdd/stat-counter.js';
import { useContext } from './helpers.js';

describe('StatCounter', () => {
  const ctx = useContext('local[2]');

  it("prints as PySpark's StatCounter, from console.log too", async () => {
    const s = await ctx().parallelize([1, 2, 3], 2).stats();
    expect(s).toBeInstanceOf(StatCounter);
    const text = '(count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)';
    expect(String(s)).toBe(text);
    expect(inspect(s)).toBe(text);
    // PySpark prints an empty StatCounter with its initial mean 0.0.
    expect(String(await ctx().parallelize<number>([], 2).stats())).toBe('(count: 0, mean: 0.0, stdev: nan, max: -inf, min: inf)');
    expect(String(new StatCounter())).toBe('(count: 0, mean: 0.0, stdev: nan, max: -inf, min: inf)');
  });

  it('keeps its statistics as its only keys', async () => {
    const s = await ctx().parallelize([4, 8, 15, 16, 23, 42], 3).stats();
    expect(Object.keys(s).sort()).toEqual(['count', 'max', 'mean', 'min', 'sampleStdev', 'sampleVariance', 'stdev', 'sum', 'variance']);
    expect(JSON.parse(JSON.stringify(s))).toMatchObject({ count: 6, sum: 108, min: 4, max: 42 });
  });

  it('merges numbers, iterables and counters in place, as one pass over all of them would', async () => {
    const a = await ctx().parallelize([1, 2, 3], 2).stats();
    const b = await ctx().parallelize([10, 20], 2).stats();
    const merged = a.copy().merge(b).merge(7).merge([8, 9]);
    const direct = new StatCounter([1, 2, 3, 10, 20, 7, 8, 9]);
    for (const k of ['count', 'sum', 'min', 'max'] as const) expect(merged[k]).toBe(direct[k]);
    for (const k of ['mean', 'variance', 'sampleVariance', 'stdev', 'sampleStdev'] as const) expect(merged[k]).toBeCloseTo(direct[k], 12);
    // copy() left `a` alone; merge() changed `merged` itself and returned it.
    expect(a.count).toBe(3);
    const self = new StatCounter([1, 2]);
    expect(self.merge(self).count).toBe(4);
    expect(self.mean).toBe(1.5);
    expect(() => new StatCounter().merge('1' as unknown as number)).toThrow(/takes a number/);
  });

  it("writes numbers as Python's repr of a float", () => {
    const cases: Array<[number, string]> = [
      [2, '2.0'],
      [-3, '-3.0'],
      [0.1, '0.1'],
      [123.456, '123.456'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [-1.5e-7, '-1.5e-07'],
      [1e15, '1000000000000000.0'],
      [1e16, '1e+16'],
      [1.2345e100, '1.2345e+100'],
      [Number.NaN, 'nan'],
      [Infinity, 'inf'],
      [-Infinity, '-inf'],
      [-0, '-0.0'],
    ];
    for (const [x, text] of cases) expect(pyFloat(x), String(x)).toBe(text);
  });
});
