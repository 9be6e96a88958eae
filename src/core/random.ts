/**
 * A small seeded PRNG (xoshiro128**) for sampling: the same seed gives the same stream on every thread,
 * process and platform, which `Math.random` cannot promise and which recomputed partitions need.
 */

const TWO_POW_32 = 4294967296;

// splitmix32: spreads an arbitrary (possibly tiny or sequential) seed over the 128-bit state, so seeds 1
// and 2 yield unrelated streams.
function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return [next, (z ^ (z >>> 15)) | 0];
}

/**
 * Derive an independent seed for a sub-stream, e.g. one per partition from a job-level seed.
 *
 * @example
 * ```ts
 * const rng = new SeededRandom(deriveSeed(42, partitionIndex));
 * ```
 */
export function deriveSeed(seed: number, index: number): number {
  const [, a] = splitmix32(foldSeed(seed));
  // Multiplying by an odd constant is a bijection, so distinct indexes give distinct derived seeds.
  const [, b] = splitmix32(a ^ Math.imul(foldSeed(index), 0x85ebca6b));
  return b >>> 0;
}

// Seeds may exceed 32 bits (timestamps) or be negative: fold both halves of the integer part in, so
// seeds that differ only in high bits still differ.
function foldSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`kindling: seed must be a finite number, got ${seed}`);
  const t = Math.trunc(seed);
  const lo = t >>> 0;
  const hi = Math.floor(t / TWO_POW_32) >>> 0;
  return (lo ^ Math.imul(hi, 0x9e3779b1)) | 0;
}

/**
 * Deterministic pseudo-random numbers from a numeric seed (xoshiro128**, 128-bit state).
 *
 * @example
 * ```ts
 * const rng = new SeededRandom(42);
 * rng.nextFloat();  // in [0, 1)
 * rng.nextInt(6);   // 0..5, unbiased
 * ```
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** @param seed any finite number; its integer part selects the stream. */
  constructor(seed: number) {
    let s = foldSeed(seed);
    let out: number;
    [s, out] = splitmix32(s);
    this.s0 = out;
    [s, out] = splitmix32(s);
    this.s1 = out;
    [s, out] = splitmix32(s);
    this.s2 = out;
    [s, out] = splitmix32(s);
    this.s3 = out;
    // An all-zero state would emit zeros forever.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s3 = 1;
  }

  /** The next uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const r = Math.imul(s1, 5);
    const result = Math.imul((r << 7) | (r >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result >>> 0;
  }

  /** A float uniformly distributed in [0, 1), with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * An integer uniformly distributed in [0, n) for a positive integer `n` up to 2^53. Bounds up to 2^32
   * are exact (rejection removes modulo bias); larger ones combine two draws.
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`kindling: nextInt bound must be a positive safe integer, got ${n}`);
    }
    if (n <= TWO_POW_32) {
      // Draws at or above `limit` would make low results slightly more likely; redraw them.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return x % n;
    }
    const wide = (this.nextUint32() >>> 11) * TWO_POW_32 + this.nextUint32(); // 53 random bits
    return Math.floor((wide / 2 ** 53) * n);
  }
}
