/**
 * Seeded pseudo-random numbers for the data generators.
 *
 * xoshiro128** was chosen because it needs only 32-bit integer operations (which V8 runs as fast int32
 * arithmetic through Math.imul and the shift operators), passes the usual statistical batteries, and
 * has a period of 2^128 - 1, far beyond what a data set consumes. Its four state words are filled from
 * the seed by splitmix32-style mixing, so that nearby seeds (1, 2, 3, ...) give unrelated streams and
 * the all-zero state, the one state xoshiro cannot leave, is never produced in practice.
 *
 * Everything here is deterministic across platforms: integer operations and IEEE double arithmetic
 * whose results JavaScript specifies exactly. The one exception in principle is Math.log in the Gaussian
 * path, which the language leaves implementation-defined; V8 computes it with its own portable fdlibm
 * port rather than the platform's libm, so Node gives the same bits everywhere.
 */

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const TWO_POW_26 = 67108864;

/** Advances a Weyl sequence and mixes it with the murmur3 finaliser: a tiny, good seed expander. */
function mixer(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A deterministic random source (xoshiro128**). Same seed and stream, same sequence, on every machine.
 *
 * `stream` selects an independent sequence for the same seed, so that a generator can draw, say, node
 * degrees and edge targets from separate streams: changing how many numbers one part consumes then does
 * not shift the other.
 *
 * @example
 * ```ts
 * const rng = new SeededRandom(42);
 * rng.nextFloat();    // in [0, 1)
 * rng.nextInt(6);     // 0..5
 * rng.nextGaussian(); // N(0, 1)
 * ```
 */
export class SeededRandom {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  /** Marsaglia's polar method yields Gaussians in pairs; the second one waits here. */
  #spareGaussian: number | undefined;

  constructor(seed: number, stream = 0) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    if (!Number.isInteger(stream) || stream < 0) throw new RangeError(`stream must be a non-negative integer`);
    // Fold all of a large or fractional seed in rather than truncating it to its low 32 bits.
    const low = Math.trunc(seed) >>> 0;
    const high = Math.floor(Math.trunc(seed) / TWO_POW_32) >>> 0;
    const frac = Math.floor((seed - Math.trunc(seed)) * TWO_POW_32) >>> 0;
    const next = mixer(low ^ Math.imul(high, 0x27d4eb2f) ^ Math.imul(frac, 0x165667b1) ^ Math.imul(stream + 1, 0x61c88647));
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /**
   * The next 32 random bits as an unsigned integer.
   *
   * @example
   * ```ts
   * new SeededRandom(1).nextUint32(); // 0 .. 2^32 - 1
   * ```
   */
  nextUint32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /**
   * A uniform double in [0, 1) with the full 53 bits of precision.
   *
   * @example
   * ```ts
   * const u = new SeededRandom(1).nextFloat(); // 0 <= u < 1
   * ```
   */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }

  /**
   * A uniform integer in [0, n), without modulo bias. `n` must be an integer in [1, 2^32].
   *
   * @example
   * ```ts
   * const die = new SeededRandom(7).nextInt(6) + 1; // 1..6
   * ```
   */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= TWO_POW_32) || !Number.isInteger(n)) {
      throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${n}`);
    }
    // Reject the top sliver of the 32-bit range that would make low results more likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /**
   * A standard normal deviate, N(0, 1).
   *
   * @example
   * ```ts
   * const height = 170 + 8 * new SeededRandom(3).nextGaussian();
   * ```
   */
  nextGaussian(): number {
    const spare = this.#spareGaussian;
    if (spare !== undefined) {
      this.#spareGaussian = undefined;
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
    this.#spareGaussian = v * factor;
    return u * factor;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A uniformly random permutation of `0 .. n-1` (Fisher–Yates).
 *
 * @example
 * ```ts
 * const order = shuffledRange(5, new SeededRandom(1)); // e.g. Int32Array [3, 0, 4, 1, 2]
 * ```
 */
export function shuffledRange(n: number, rng: SeededRandom): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = out[i] as number;
    out[i] = out[j] as number;
    out[j] = tmp;
  }
  return out;
}
