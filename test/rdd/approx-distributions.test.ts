/**
 * The quantiles behind the approximate actions agree with Commons Math's (what Spark uses); the expected values
 * are scipy's (`scipy.stats.norm.ppf`, `t.ppf`, `poisson.ppf`, scipy 1.17).
 */
import { describe, expect, it } from 'vitest';
import { normalQuantile, poissonCdf, poissonQuantile, studentTQuantile } from '../../src/rdd/approx-distributions.js';

describe('approximate actions: distributions', () => {
  it('normal quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 13);
    expect(normalQuantile(0.995)).toBeCloseTo(2.5758293035489004, 13);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 12);
    expect(normalQuantile(0.5)).toBe(0);
    expect([normalQuantile(0), normalQuantile(1)]).toEqual([-Infinity, Infinity]);
  });

  it("Student's t quantiles", () => {
    const scipy: Array<[number, number, number]> = [
      [1, 12.706204736174694, 63.656741162871526],
      [2, 4.302652729749462, 9.924843200918287],
      [5, 2.5705818356363146, 4.032142983555228],
      [29, 2.045229642132703, NaN],
      [99, 1.9842169515864174, 2.626405457280827],
    ];
    for (const [df, q975, q995] of scipy) {
      expect(studentTQuantile(0.975, df) / q975, `df ${df}`).toBeCloseTo(1, 12);
      expect(studentTQuantile(0.025, df) / -q975, `df ${df}`).toBeCloseTo(1, 12);
      if (!Number.isNaN(q995)) expect(studentTQuantile(0.995, df) / q995, `df ${df}`).toBeCloseTo(1, 12);
    }
  });

  it('Poisson quantiles: the smallest whole x whose CDF reaches p', () => {
    const scipy: Array<[number, number, number]> = [
      // [p, mean, quantile]
      [0.025, 100, 81],
      [0.975, 100, 120],
      [0.05, 100, 84],
      [0.95, 100, 117],
      [0.025, 10, 4],
      [0.975, 10, 17],
      [0.025, 3.5, 0],
      [0.975, 3.5, 8],
      [0.005, 1e6, 997425],
      [0.995, 1e6, 1002577],
      [0.975, 0.01, 0],
    ];
    for (const [p, mean, q] of scipy) expect(poissonQuantile(p, mean), `p ${p}, mean ${mean}`).toBe(q);
    // Against the CDF summed term by term.
    let cdf = 0;
    let term = Math.exp(-7.25);
    for (let x = 0; x < 30; x++) {
      cdf += term;
      expect(poissonCdf(x, 7.25)).toBeCloseTo(cdf, 12);
      term *= 7.25 / (x + 1);
    }
    expect([poissonQuantile(0, 5), poissonQuantile(1, 5)]).toEqual([0, Infinity]);
  });
});
