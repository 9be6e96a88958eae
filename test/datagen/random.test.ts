import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom, shuffledRange } from '../../src/datagen/random.js';

const draw = (rng: SeededRandom, n: number) => Array.from({ length: n }, () => rng.nextUint32());

describe('SeededRandom', () => {
  it('is deterministic per seed and stream, and differs across them', () => {
    expect(draw(new SeededRandom(42), 8)).toEqual(draw(new SeededRandom(42), 8));
    expect(draw(new SeededRandom(42), 8)).not.toEqual(draw(new SeededRandom(43), 8));
    expect(draw(new SeededRandom(42), 8)).not.toEqual(draw(new SeededRandom(42, 1), 8));
    expect(draw(new SeededRandom(2 ** 40), 8)).not.toEqual(draw(new SeededRandom(0), 8));
    expect(draw(new SeededRandom(0.5), 8)).not.toEqual(draw(new SeededRandom(0), 8));
  });

  it('produces 32-bit unsigned integers and floats in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const rng = new SeededRandom(seed);
        for (let i = 0; i < 50; i++) {
          const x = rng.nextUint32();
          expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
          const u = rng.nextFloat();
          expect(u >= 0 && u < 1).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('nextInt stays in range and is close to uniform', () => {
    const rng = new SeededRandom(7);
    const counts = new Array<number>(6).fill(0);
    const n = 60_000;
    for (let i = 0; i < n; i++) {
      counts[rng.nextInt(6)]!++;
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(n); // nothing fell outside 0..5
    // Chi-square with 5 degrees of freedom: 20.5 is the 0.999 quantile.
    const chi2 = counts.reduce((s, c) => s + (c - n / 6) ** 2 / (n / 6), 0);
    expect(chi2).toBeLessThan(20.5);
    expect(rng.nextInt(1)).toBe(0);
    expect(new SeededRandom(1).nextInt(2 ** 32)).toBeLessThan(2 ** 32);
  });

  it('rejects invalid bounds and seeds', () => {
    const rng = new SeededRandom(1);
    expect(() => rng.nextInt(0)).toThrow(RangeError);
    expect(() => rng.nextInt(2.5)).toThrow(RangeError);
    expect(() => rng.nextInt(2 ** 32 + 1)).toThrow(RangeError);
    expect(() => new SeededRandom(Number.NaN)).toThrow(RangeError);
    expect(() => new SeededRandom(1, -1)).toThrow(RangeError);
  });

  it('nextGaussian has mean 0 and variance 1', () => {
    const rng = new SeededRandom(3);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const g = rng.nextGaussian();
      sum += g;
      sq += g * g;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.02);
  });
});

describe('shuffledRange', () => {
  it('is a permutation of 0..n-1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (n, seed) => {
        const p = shuffledRange(n, new SeededRandom(seed));
        expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 100 },
    );
  });
});
