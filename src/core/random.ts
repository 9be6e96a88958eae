import { InvalidArgumentError } from './errors.js';
/**
 * The one seeded PRNG (xoshiro128**) for the engine's sampling and the data generators: the same seed gives
 * the same stream on every thread, process and platform, which `Math.random` cannot promise and which
 * recomputed partitions and regenerated data sets need.
 *
 * xoshiro128** needs only 32-bit integer operations (fast int32 arithmetic in V8 through Math.imul and the
 * shifts), passes the usual statistical batteries and has a period of 2^128 - 1. Everything is specified
 * exactly by JavaScript except Math.log in nextGaussian, which V8 computes with its own portable fdlibm
 * port rather than the platform's libm, so Node gives the same bits everywhere.
 */

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const TWO_POW_26 = 67108864;

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
  if (!Number.isFinite(seed)) throw new InvalidArgumentError(`kindling: seed must be a finite number, got ${seed}`);
  const t = Math.trunc(seed);
  const lo = t >>> 0;
  const hi = Math.floor(t / TWO_POW_32) >>> 0;
  return (lo ^ Math.imul(hi, 0x9e3779b1)) | 0;
}

/**
 * Deterministic pseudo-random numbers from a numeric seed (xoshiro128**, 128-bit state).
 *
 * `stream` selects an independent sequence for the same seed, so that a generator can draw, say, node
 * degrees and edge targets from separate streams: changing how many numbers one part consumes then does
 * not shift the other.
 *
 * @example
 * ```ts
 * const rng = new SeededRandom(42);
 * rng.nextFloat();    // in [0, 1)
 * rng.nextInt(6);     // 0..5, unbiased
 * rng.nextGaussian(); // N(0, 1)
 * new SeededRandom(42, 1).nextFloat(); // an unrelated stream for the same seed
 * ```
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  // Marsaglia's polar method yields Gaussians in pairs; the second one waits here.
  private spareGaussian: number | undefined;

  /**
   * @param seed any finite number; its integer part selects the sequence.
   * @param stream a non-negative integer; stream 0 is the seed's own sequence, and stream k > 0 is that
   *   of `deriveSeed(seed, k)`.
   */
  constructor(seed: number, stream = 0) {
    if (!Number.isInteger(stream) || stream < 0) {
      throw new InvalidArgumentError(`kindling: stream must be a non-negative integer, got ${stream}`);
    }
    // Stream 0 is the seed's own sequence: single-stream callers such as sampling, which derives its seeds
    // with deriveSeed already, draw exactly from the seed they pass.
    let s = foldSeed(stream === 0 ? seed : deriveSeed(seed, stream));
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

  /**
   * The next uniformly distributed unsigned 32-bit integer.
   *
   * @example
   * ```ts
   * new SeededRandom(1).nextUint32(); // 0 .. 2^32 - 1
   * ```
   */
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

  /**
   * A float uniformly distributed in [0, 1) with the full 53 bits of double precision (two draws).
   *
   * @example
   * ```ts
   * const u = new SeededRandom(1).nextFloat(); // 0 <= u < 1
   * ```
   */
  nextFloat(): number {
    return this.nextUint53() / TWO_POW_53;
  }

  /**
   * An integer uniformly distributed in [0, n) for a positive safe integer `n`, without modulo bias.
   *
   * @example
   * ```ts
   * const die = new SeededRandom(7).nextInt(6) + 1; // 1..6
   * ```
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > Number.MAX_SAFE_INTEGER) {
      throw new InvalidArgumentError(`kindling: nextInt bound must be a positive safe integer, got ${n}`);
    }
    // Draws at or above `limit` would make low results slightly more likely; redraw them. Bounds that fit
    // in 32 bits take one draw per try, larger ones 53 bits (exact in doubles, so `%` stays exact).
    if (n <= TWO_POW_32) {
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return x % n;
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % n);
    let x = this.nextUint53();
    while (x >= limit) x = this.nextUint53();
    return x % n;
  }

  /**
   * A standard normal deviate, N(0, 1), by Marsaglia's polar method.
   *
   * @example
   * ```ts
   * const height = 170 + 8 * new SeededRandom(3).nextGaussian();
   * ```
   */
  nextGaussian(): number {
    const spare = this.spareGaussian;
    if (spare !== undefined) {
      this.spareGaussian = undefined;
      return spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.nextFloat() - 1;
      v = 2 * this.nextFloat() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareGaussian = v * factor;
    return u * factor;
  }

  // 27 bits of one draw and 26 of the next: exactly the 53 a double's significand holds.
  private nextUint53(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return hi * TWO_POW_26 + lo;
  }
}
