/**
 * Zipf (discrete power-law) sampling by inverse CDF.
 *
 * The cumulative weights are precomputed once into a Float64Array and a uniform draw is located with a
 * binary search: O(log n) per sample with no rejection loop, so the number of random draws per sample is
 * fixed, which keeps generated data reproducible even if the sampler's internals are tuned later.
 */

import type { SeededRandom } from '../core/random.js';
import { InvalidArgumentError } from '../core/errors.js';

/**
 * Zipf distribution over ranks `0 .. n-1`: P(rank r) ∝ 1 / (r + 1)^s.
 *
 * @example
 * ```ts
 * const zipf = new ZipfDistribution(200_000, 1.0);
 * const rank = zipf.sample(new SeededRandom(1)); // 0 is the most likely rank
 * zipf.probability(0); // ≈ 0.078 for n = 200k, s = 1
 * ```
 */
export class ZipfDistribution {
  readonly n: number;
  readonly exponent: number;
  /** cumulative[i] = Σ_{r ≤ i} weight(r), unnormalised: the last entry is the total weight. */
  readonly #cumulative: Float64Array;
  readonly #total: number;

  constructor(n: number, exponent: number) {
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`Zipf support size must be a positive integer, got ${n}`);
    if (!(exponent >= 0)) throw new InvalidArgumentError(`Zipf exponent must be >= 0, got ${exponent}`);
    this.n = n;
    this.exponent = exponent;
    const cumulative = new Float64Array(n);
    let sum = 0;
    for (let r = 0; r < n; r++) {
      sum += exponent === 1 ? 1 / (r + 1) : (r + 1) ** -exponent;
      cumulative[r] = sum;
    }
    this.#cumulative = cumulative;
    this.#total = sum;
  }

  /**
   * Draws a rank (0-based; 0 is the most frequent) using exactly one `nextFloat()`.
   *
   * @example
   * ```ts
   * const word = vocabulary[zipf.sample(rng)];
   * ```
   */
  sample(rng: SeededRandom): number {
    return this.rankAt(rng.nextFloat());
  }

  /**
   * The rank whose CDF interval contains `u` in [0, 1): the inverse CDF.
   *
   * @example
   * ```ts
   * zipf.rankAt(0); // 0
   * ```
   */
  rankAt(u: number): number {
    const cumulative = this.#cumulative;
    const target = u * this.#total;
    // Smallest index whose cumulative weight exceeds the target.
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * The probability of `rank`.
   *
   * @example
   * ```ts
   * new ZipfDistribution(2, 1).probability(0); // 2/3
   * ```
   */
  probability(rank: number): number {
    if (!(rank >= 0 && rank < this.n)) return 0;
    const below = rank === 0 ? 0 : (this.#cumulative[rank - 1] as number);
    return ((this.#cumulative[rank] as number) - below) / this.#total;
  }
}
