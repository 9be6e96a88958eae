/**
 * Paired comparisons for benchmarks whose rounds alternate two settings under a changing machine load: each round's
 * relative difference (`a / b - 1`, both measured moments apart), the median of those, and a percentile bootstrap
 * 95 % interval of that median. The medians of each setting's own runs do not say whether a difference is real when
 * one round spreads over more than the difference (as the UI's overhead does on a loaded machine); the interval does.
 *
 * @example
 * ```ts
 * const d = pairedDifference([10.4, 10.9, 10.2], [10.0, 10.5, 10.1]);
 * console.log(formatPaired(d)); // +3.0 % (95 % CI +1.0 … +4.0 %, 3 pairs, 3 of 3 higher)
 * ```
 */

import { mulberry32 } from './seeded-random.js';
export interface PairedDifference {
  /** Per-pair relative differences, in %. */
  readonly diffs: readonly number[];
  /** Median of `diffs`, in %. */
  readonly median: number;
  /** Bootstrap 95 % interval of the median, in %. */
  readonly lo: number;
  readonly hi: number;
  /** Pairs where `a` was higher. */
  readonly higher: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? Number.NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** A seeded generator, so that a report's interval can be computed again from its numbers. */
const random = mulberry32;

/** `a[i]` against `b[i]` for each pair (same length): see the module's comment. */
export function pairedDifference(a: readonly number[], b: readonly number[], resamples = 10_000): PairedDifference {
  if (a.length !== b.length) throw new Error(`paired samples of different sizes: ${a.length} and ${b.length}`);
  const diffs = a.map((x, i) => (x / b[i]! - 1) * 100);
  return { diffs, ...bootstrapMedian(diffs, resamples), higher: diffs.filter((d) => d > 0).length };
}

/**
 * The median of per-pair figures of any kind (differences in µs, shares of a budget, ...) and a seeded percentile
 * bootstrap 95 % interval of it, as {@link pairedDifference} computes for relative differences.
 *
 * @example
 * ```ts
 * const { median, lo, hi } = bootstrapMedian([1.2, 0.8, 1.9, 1.1]); // µs per task more with the UI on
 * ```
 */
export function bootstrapMedian(diffs: readonly number[], resamples = 10_000): { median: number; lo: number; hi: number } {
  const next = random(12345);
  const medians = new Float64Array(resamples);
  const sample = new Array<number>(diffs.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < diffs.length; i++) sample[i] = diffs[Math.floor(next() * diffs.length)]!;
    medians[r] = median(sample);
  }
  medians.sort();
  return { median: median(diffs), lo: medians[Math.floor(resamples * 0.025)]!, hi: medians[Math.ceil(resamples * 0.975) - 1]! };
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

export function formatPaired(d: PairedDifference): string {
  return `${signed(d.median)} % (95 % CI ${signed(d.lo)} … ${signed(d.hi)} %, ${d.diffs.length} pairs, ${d.higher} of ${d.diffs.length} higher)`;
}
