import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SeededRandom, deriveSeed } from '../../src/core/random.js';
import { reservoirSample } from '../../src/core/partitioner.js';

/** Pearson chi-square statistic of observed counts against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

describe('SeededRandom', () => {
  it('pins the stream for a seed (sampling must replay identically on recomputation)', () => {
    const r = new SeededRandom(42);
    expect([r.nextUint32(), r.nextUint32()]).toEqual([660444221, 3652823732]);
    const a = new SeededRandom(123);
    const b = new SeededRandom(123);
    for (let i = 0; i < 100; i++) expect(a.nextUint32()).toBe(b.nextUint32());
  });

  it('gives each stream of a seed its own reproducible sequence', () => {
    const draw = (rng: SeededRandom): number[] => Array.from({ length: 8 }, () => rng.nextUint32());
    expect(draw(new SeededRandom(42, 0))).toEqual(draw(new SeededRandom(42)));
    expect(draw(new SeededRandom(42, 3))).toEqual(draw(new SeededRandom(42, 3)));
    expect(draw(new SeededRandom(42, 3))).toEqual(draw(new SeededRandom(deriveSeed(42, 3))));
    const streams = [0, 1, 2, 3, 4].map((s) => draw(new SeededRandom(42, s)).join());
    expect(new Set(streams).size).toBe(5);
    expect(draw(new SeededRandom(43, 1))).not.toEqual(draw(new SeededRandom(42, 1)));
    for (const bad of [-1, 1.5, NaN]) expect(() => new SeededRandom(1, bad)).toThrow(RangeError);
  });

  it('draws nextFloat with 53 bits of precision from two draws', () => {
    // The pinned draws above, (660444221 >>> 5) * 2^26 + (3652823732 >>> 6), over 2^53.
    expect(new SeededRandom(42).nextFloat()).toBe(0.15377165265745885);
    const r = new SeededRandom(5);
    let finerThan32Bits = 0;
    for (let i = 0; i < 100; i++) if (!Number.isInteger(r.nextFloat() * 2 ** 32)) finerThan32Bits++;
    expect(finerThan32Bits).toBeGreaterThan(90);
  });

  it('gives different streams for seeds differing only in high bits, sign or by one', () => {
    const first = (seed: number): number => new SeededRandom(seed).nextUint32();
    const firsts = [0, 1, -1, 2 ** 32, 2 ** 40 + 1, 1.9].map(first);
    expect(firsts[5]).toBe(firsts[1]); // the integer part selects the stream
    expect(new Set(firsts.slice(0, 5)).size).toBe(5);
    expect(() => new SeededRandom(NaN)).toThrow(RangeError);
  });

  it('draws floats in [0, 1) and integers in [0, n)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (seed, n) => {
        const r = new SeededRandom(seed);
        for (let i = 0; i < 20; i++) {
          const f = r.nextFloat();
          expect(f >= 0 && f < 1).toBe(true);
          const k = r.nextInt(n);
          expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
        }
      }),
    );
    for (const bad of [0, -3, 1.5, NaN, 2 ** 53]) expect(() => new SeededRandom(1).nextInt(bad)).toThrow(RangeError);
    expect(new SeededRandom(1).nextInt(1)).toBe(0);
  });

  it('draws nextInt uniformly (chi-square, fixed seed)', () => {
    const r = new SeededRandom(2024);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.nextInt(6)]! += 1;
    expect(chiSquare(counts)).toBeLessThan(20.5); // p = 0.001 for 5 degrees of freedom
    const bits = new Array<number>(32).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const x = r.nextUint32();
      for (let b = 0; b < 32; b++) bits[b]! += (x >>> b) & 1;
    }
    for (const ones of bits) expect(Math.abs(ones - 10_000)).toBeLessThan(500);
  });

  it('draws nextInt uniformly above 32 bits too', () => {
    // 3 × 2^40 needs the 53-bit path; its thirds are equally likely only without bias.
    const r = new SeededRandom(99);
    const n = 3 * 2 ** 40;
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[Math.floor(r.nextInt(n) / 2 ** 40)]! += 1;
    expect(chiSquare(counts)).toBeLessThan(13.8); // p = 0.001 for 2 degrees of freedom
  });

  it('draws nextGaussian with mean 0 and variance 1', () => {
    const r = new SeededRandom(3);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const g = r.nextGaussian();
      sum += g;
      sq += g * g;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.02);
  });

  it('derives distinct per-partition seeds', () => {
    const seeds = new Set<number>();
    for (let i = 0; i < 10_000; i++) seeds.add(deriveSeed(42, i));
    expect(seeds.size).toBe(10_000);
    expect(deriveSeed(42, 3)).toBe(deriveSeed(42, 3));
    expect(deriveSeed(42, 3)).not.toBe(deriveSeed(43, 3));
  });
});

describe('reservoirSample', () => {
  it('returns min(k, n) distinct input items and the count, reproducibly per seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 50 }), fc.integer(), (n, k, seed) => {
        const items = Array.from({ length: n }, (_, i) => i);
        const { sample, count } = reservoirSample(items, k, seed);
        expect(count).toBe(n);
        expect(sample.length).toBe(Math.min(k, n));
        expect(new Set(sample).size).toBe(sample.length);
        for (const x of sample) expect(x >= 0 && x < n).toBe(true);
        if (n <= k) expect(sample).toEqual(items);
        expect(reservoirSample(items, k, seed)).toEqual({ sample, count });
      }),
    );
  });

  it('consumes any iterable once, including generators', () => {
    function* gen(): Generator<string> {
      for (let i = 0; i < 1000; i++) yield `x${i}`;
    }
    const { sample, count } = reservoirSample(gen(), 5, 1);
    expect(count).toBe(1000);
    expect(sample).toHaveLength(5);
    expect(() => reservoirSample([1], -1, 0)).toThrow(RangeError);
    expect(reservoirSample([1, 2, 3], 0, 0)).toEqual({ sample: [], count: 3 });
  });

  it('selects every item with equal probability (chi-square over seeds)', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const hits = new Array<number>(100).fill(0);
    for (let seed = 0; seed < 4000; seed++) for (const x of reservoirSample(items, 10, seed).sample) hits[x]! += 1;
    expect(chiSquare(hits)).toBeLessThan(148.2); // p = 0.001 for 99 degrees of freedom
  });
});
