import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { ZipfDistribution } from '../../src/datagen/zipf.js';

describe('ZipfDistribution', () => {
  it('has probabilities ∝ 1 / (rank + 1)^s that sum to 1', () => {
    const z = new ZipfDistribution(1000, 1);
    let sum = 0;
    for (let r = 0; r < 1000; r++) sum += z.probability(r);
    expect(sum).toBeCloseTo(1, 12);
    expect(z.probability(0) / z.probability(9)).toBeCloseTo(10, 9);
    expect(new ZipfDistribution(2, 1).probability(0)).toBeCloseTo(2 / 3, 12);
    expect(z.probability(-1)).toBe(0);
    expect(z.probability(1000)).toBe(0);
    const flat = new ZipfDistribution(4, 0);
    expect(flat.probability(3)).toBeCloseTo(0.25, 12);
  });

  it('inverts the CDF at the edges and stays in range for any u in [0, 1)', () => {
    const z = new ZipfDistribution(50, 0.9);
    expect(z.rankAt(0)).toBe(0);
    expect(z.rankAt(1 - 2 ** -53)).toBe(49);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (u) => {
        const r = z.rankAt(u);
        expect(r >= 0 && r < 50).toBe(true);
      }),
    );
  });

  it('samples with the expected frequencies', () => {
    const z = new ZipfDistribution(100, 1);
    const rng = new SeededRandom(11);
    const counts = new Float64Array(100);
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[z.sample(rng)]!++;
    for (const r of [0, 1, 4, 20]) {
      const expected = z.probability(r) * n;
      expect(Math.abs(counts[r]! - expected)).toBeLessThan(5 * Math.sqrt(expected));
    }
  });

  it('rejects invalid parameters', () => {
    expect(() => new ZipfDistribution(0, 1)).toThrow(RangeError);
    expect(() => new ZipfDistribution(10, -1)).toThrow(RangeError);
  });
});
