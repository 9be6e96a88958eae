import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bootstrapMedian, median, pairedDifference } from '../../bench/paired.js';

describe('bootstrapMedian', () => {
  it('gives the median of the figures and an interval around it, from the figures alone (seeded)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 30 }), (xs) => {
        const b = bootstrapMedian(xs, 500);
        expect(b.median).toBe(median(xs));
        // A resampled median lies within the figures, and the interval is ordered.
        expect(b.lo).toBeGreaterThanOrEqual(Math.min(...xs));
        expect(b.hi).toBeLessThanOrEqual(Math.max(...xs));
        expect(b.lo).toBeLessThanOrEqual(b.hi);
        expect(bootstrapMedian(xs, 500)).toEqual(b);
      }),
      { numRuns: 50 },
    );
  });

  it('is the interval pairedDifference gives for the relative differences of its pairs', () => {
    const a = [10.4, 10.9, 10.2, 11.0, 9.8];
    const b = [10.0, 10.5, 10.1, 10.2, 10.0];
    const d = pairedDifference(a, b);
    expect(bootstrapMedian(d.diffs)).toEqual({ median: d.median, lo: d.lo, hi: d.hi });
    expect(d.higher).toBe(4);
  });
});
