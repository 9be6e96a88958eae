/**
 * Sampling with replacement against Spark's documented meaning: each element is emitted Poisson(fraction) times,
 * for any fraction (Spark's PoissonSampler draws from commons-math's PoissonDistribution, exact for large means), and
 * `takeSample(true, num)` returns exactly `num` elements of any non-empty RDD.
 */
import { describe, expect, test } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { poissonDraw } from '../../src/rdd/sampling.js';
import { MODES, useContext } from './helpers.js';

/** Pearson's statistic of `n` draws against Poisson(lambda), over the values expected at least 5 times. */
function chiSquare(lambda: number, n: number, seed: number): { chi: number; bins: number; mean: number; variance: number } {
  const rng = new SeededRandom(seed);
  const seen = new Map<number, number>();
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const k = poissonDraw(rng, lambda);
    sum += k;
    squares += k * k;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  let chi = 0;
  let bins = 0;
  let logFactorial = 0;
  for (let k = 0; k < lambda + 20 * Math.sqrt(lambda) + 20; k++) {
    if (k > 0) logFactorial += Math.log(k);
    const expected = n * Math.exp(-lambda + k * Math.log(lambda) - logFactorial);
    if (expected < 5) continue;
    chi += ((seen.get(k) ?? 0) - expected) ** 2 / expected;
    bins++;
  }
  const mean = sum / n;
  return { chi, bins, mean, variance: squares / n - mean * mean };
}

describe('poissonDraw', () => {
  test.each([0.5, 3, 9.9, 10, 12.5, 40, 745, 1000, 5000])('draws Poisson(%d): its frequencies pass a chi-square test', (lambda) => {
    const { chi, bins, mean, variance } = chiSquare(lambda, 100_000, 29);
    // For `bins` degrees of freedom the statistic is about bins ± sqrt(2 bins); 6 standard deviations above never
    // happens by chance. Knuth's product alone never draws above ~745 and fails from 745 on.
    expect(chi).toBeLessThan(bins + 6 * Math.sqrt(2 * bins));
    expect(Math.abs(mean - lambda)).toBeLessThan(6 * Math.sqrt(lambda / 100_000));
    expect(Math.abs(variance / lambda - 1)).toBeLessThan(0.05);
  });

  test("below a mean of 10 draws what Knuth's method drew before, so a seed picks the same sample as it did", () => {
    const a = new SeededRandom(5);
    const b = new SeededRandom(5);
    for (const lambda of [0.1, 1, 2.5, 9.99]) {
      for (let i = 0; i < 1000; i++) {
        const limit = Math.exp(-lambda);
        let k = 0;
        let prod = b.nextFloat();
        while (prod > limit) {
          k++;
          prod *= b.nextFloat();
        }
        expect(poissonDraw(a, lambda)).toBe(k);
      }
    }
  });
});

describe.each(MODES)('sample and takeSample with replacement, large fractions (%s)', (master) => {
  const ctx = useContext(master);

  test('sample(true, 1000) emits each element about 1000 times (it was capped near 745)', async () => {
    const counts = await ctx().range(20, undefined, 1, 4).sample(true, 1000, 3).countByValue();
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    // 20 elements, each Poisson(1000): the total is 20,000 ± 141 (one standard deviation).
    expect(Math.abs(total - 20_000)).toBeLessThan(6 * Math.sqrt(20_000));
    expect(Math.max(...counts.values())).toBeGreaterThan(900);
  });

  test('takeSample(true, num) of a small RDD returns num elements (it sampled again forever when num > ~745 per element)', async () => {
    const rdd = ctx().parallelize(['a', 'b', 'c'], 2);
    const sample = await rdd.takeSample(true, 5000, 11);
    expect(sample).toHaveLength(5000);
    expect(new Set(sample)).toEqual(new Set(['a', 'b', 'c']));
    expect(await rdd.takeSample(true, 5000, 11)).toEqual(sample);
  });

  test("takeSample refuses Spark's too-large sizes at the call, naming the bound", async () => {
    await expect(
      ctx()
        .range(10)
        .takeSample(true, 2 ** 40, 1),
    ).rejects.toThrow(/cannot support a sample size > 2147020238.*got 1099511627776/);
    await expect(
      ctx()
        .range(10)
        .takeSample(false, 2 ** 31, 1),
    ).rejects.toThrow(/cannot support a sample size/);
    expect(await ctx().range(10).count()).toBe(10);
  });
});
