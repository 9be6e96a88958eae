/**
 * Labelled points for the logistic-regression benchmark, in the format of Spark's original LR example:
 * one point a line, `y x1 ... xD`, with y = ±1.
 *
 * Features are independent N(0, 1), rounded to {@link FEATURE_DECIMALS} decimals before anything else
 * uses them, so the in-memory arrays and the numbers parsed back from the file are the same doubles and
 * a baseline computed either way agrees bit for bit. The label is the sign of a noisy linear score,
 * y = sign(w·x + ε), ε ~ N(0, {@link LABEL_NOISE_STD}²), with the fixed weights of {@link lrWeights}:
 * the classes are almost, but not perfectly, linearly separable, so LR converges to w's direction with a
 * small irreducible error (about 3% of labels disagree with sign(w·x) for the default 10 dimensions).
 */

import { SeededRandom } from '../core/random.js';
import { writeChunks, writeFixed } from './sink.js';
import { DEFAULT_SEED } from './text.js';
import { InvalidArgumentError } from '../core/errors.js';

/** Decimals kept per feature: enough for LR, and it keeps the default 1M × 10 file near 80 MB. */
export const FEATURE_DECIMALS = 4;
/** Standard deviation of the score noise that makes a few labels disagree with sign(w·x). */
export const LABEL_NOISE_STD = 0.5;

const SCALE = 10 ** FEATURE_DECIMALS;

/** Parameters of a generated point set. */
export interface PointsOptions {
  /** Number of points, default 1,000,000. */
  count?: number;
  /** Features per point, default 10. */
  dims?: number;
  seed?: number;
}

/** Generated points: `features` is row-major, point i's features at `[i * dims, (i + 1) * dims)`. */
export interface Points {
  readonly count: number;
  readonly dims: number;
  /** +1 or -1 per point. */
  readonly labels: Float64Array;
  readonly features: Float64Array;
  /** The true weights the labels were drawn from ({@link lrWeights}). */
  readonly weights: Float64Array;
}

/**
 * The fixed true weight vector: w_i = (-1)^i · (1 + (i mod 3) / 2), i.e. 1, -1.5, 2, -1, 1.5, -2, …
 * Mixed signs and magnitudes, so a learner that ignores a feature or flips a sign is visibly wrong.
 *
 * @example
 * ```ts
 * lrWeights(4); // Float64Array [1, -1.5, 2, -1]
 * ```
 */
export function lrWeights(dims: number): Float64Array {
  const w = new Float64Array(dims);
  for (let i = 0; i < dims; i++) w[i] = (i % 2 === 0 ? 1 : -1) * (1 + (i % 3) / 2);
  return w;
}

function resolve(opts: PointsOptions): { count: number; dims: number; seed: number } {
  const count = opts.count ?? 1_000_000;
  const dims = opts.dims ?? 10;
  if (!Number.isInteger(count) || count < 0) throw new InvalidArgumentError(`count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(dims) || dims < 1) throw new InvalidArgumentError(`dims must be a positive integer, got ${dims}`);
  return { count, dims, seed: opts.seed ?? DEFAULT_SEED };
}

/** Draws points one at a time; both the array and the file paths go through it, so they agree. */
class PointSource {
  readonly #rng: SeededRandom;
  readonly #weights: Float64Array;

  constructor(seed: number, dims: number) {
    this.#rng = new SeededRandom(seed);
    this.#weights = lrWeights(dims);
  }

  /**
   * Fills `scaled` with the next point's features as integers (value × 10^decimals) and returns its label.
   * Integers rather than doubles so the file writer can print them exactly without float formatting.
   */
  next(scaled: Float64Array): 1 | -1 {
    const rng = this.#rng;
    const w = this.#weights;
    let score = 0;
    for (let j = 0; j < scaled.length; j++) {
      const k = Math.round(rng.nextGaussian() * SCALE);
      scaled[j] = k;
      score += w[j]! * (k / SCALE);
    }
    return score + LABEL_NOISE_STD * rng.nextGaussian() >= 0 ? 1 : -1;
  }
}

/**
 * Generates the points in memory, for in-process baselines and tests.
 *
 * @example
 * ```ts
 * const { labels, features, dims } = generatePoints({ count: 1000, seed: 1 });
 * const firstPointThirdFeature = features[0 * dims + 2];
 * ```
 */
export function generatePoints(opts: PointsOptions = {}): Points {
  const { count, dims, seed } = resolve(opts);
  const source = new PointSource(seed, dims);
  const labels = new Float64Array(count);
  const features = new Float64Array(count * dims);
  const scaled = new Float64Array(dims);
  for (let i = 0; i < count; i++) {
    labels[i] = source.next(scaled);
    // `+ 0` turns -0 into 0, as the file (which prints "0.0000") would.
    for (let j = 0; j < dims; j++) features[i * dims + j] = scaled[j]! / SCALE + 0;
  }
  return { count, dims, labels, features, weights: lrWeights(dims) };
}

/**
 * Writes the points as `label f1 ... fD` lines and returns the file size in bytes. Parsing the file gives
 * exactly the doubles {@link generatePoints} returns for the same options.
 *
 * @example
 * ```ts
 * await writePoints('data/points.txt', { count: 1_000_000, dims: 10, seed: 42 });
 * ```
 */
export async function writePoints(path: string, opts: PointsOptions = {}): Promise<number> {
  const { count, dims, seed } = resolve(opts);
  const source = new PointSource(seed, dims);
  const scaled = new Float64Array(dims);
  // A Gaussian beyond ±10^9 never happens, so 16 bytes per feature is a safe line bound.
  const maxLine = 3 + dims * 16;
  let next = 0;
  return writeChunks(path, (buf) => {
    const limit = buf.length - maxLine;
    let pos = 0;
    while (next < count && pos <= limit) {
      const label = source.next(scaled);
      if (label < 0) buf[pos++] = 45; // '-'
      buf[pos++] = 49; // '1'
      for (let j = 0; j < dims; j++) {
        buf[pos++] = 32;
        pos = writeFixed(buf, pos, scaled[j]!, FEATURE_DECIMALS);
      }
      buf[pos++] = 10;
      next++;
    }
    return pos;
  });
}
