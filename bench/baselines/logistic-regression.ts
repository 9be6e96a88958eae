/**
 * Hand-written single-threaded logistic regression: the COST baseline for examples/logistic-regression.ts.
 * Same data (the same points file), same initial weights, same gradient and step; the points are parsed
 * from the file's bytes into one row-major Float64Array.
 */
import { readFileSync } from 'node:fs';
// The engine's seeded generator, and only it (two modules without imports of their own), so that this program starts
// as a plain one does: bench/cost-run-plain.ts times it cold without the engine (test/bench/cost-run-plain.test.ts).
import { SeededRandom } from '../../dist/core/random.js';
import type { ExampleResult, Timing } from '../../examples/common.js';
import type { LogisticRegressionSummary } from '../../examples/logistic-regression.js';

/** The initial weights: uniform in [-1, 1), seeded, as Spark's example draws them (the kindling example uses these). */
export function initialWeights(dims: number, seed: number): Float64Array {
  const rng = new SeededRandom(seed);
  const w = new Float64Array(dims);
  for (let j = 0; j < dims; j++) w[j] = 2 * rng.nextFloat() - 1;
  return w;
}

/** Points as flat arrays: point i has label `labels[i]` and features `features[i * dims .. (i + 1) * dims)`. */
export interface PointArrays {
  readonly count: number;
  readonly dims: number;
  readonly labels: Float64Array;
  readonly features: Float64Array;
}

/**
 * Parses `label f1 .. fD` lines (decimal numbers with an optional sign, fraction and exponent; spaces or tabs).
 * Numbers go through `Number()` of the token's text, exactly as the kindling example parses them.
 */
export function readPoints(path: string): PointArrays {
  const text = readFileSync(path, 'latin1');
  let dims = -1;
  let count = 0;
  let labels = new Float64Array(1 << 14);
  let features = new Float64Array(1 << 14);
  let f = 0;
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    let k = 0;
    let i = pos;
    while (i < end) {
      let c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13) {
        i++;
        continue;
      }
      const start = i;
      while (i < end && (c = text.charCodeAt(i)) !== 32 && c !== 9 && c !== 13) i++;
      const v = Number(text.slice(start, i));
      // As the kindling example's parsePoint: a field that is not a number fails naming its line.
      if (Number.isNaN(v)) throw new Error(`${path}: point ${count} is not numbers: ${JSON.stringify(text.slice(pos, end))}`);
      if (k === 0) {
        if (count === labels.length) {
          const l2 = new Float64Array(count * 2);
          l2.set(labels);
          labels = l2;
        }
        labels[count] = v;
      } else {
        if (f === features.length) {
          const f2 = new Float64Array(f * 2);
          f2.set(features);
          features = f2;
        }
        features[f++] = v;
      }
      k++;
    }
    pos = end + 1;
    if (k === 0) continue;
    if (dims < 0) dims = k - 1;
    else if (k - 1 !== dims) throw new Error(`${path}: point ${count} has ${k - 1} features, the first had ${dims}`);
    count++;
  }
  return { count, dims: Math.max(dims, 0), labels: labels.slice(0, count), features: features.slice(0, f) };
}

/**
 * Logistic regression over the points of `path`.
 *
 * @example
 * ```ts
 * const { summary } = logisticRegressionBaseline('data/points-count1000000-dims10-seed42.txt', { iterations: 10 });
 * ```
 */
export function logisticRegressionBaseline(
  path: string,
  options: { iterations?: number; step?: number; seed?: number } = {},
): ExampleResult<LogisticRegressionSummary> {
  const iterations = options.iterations ?? 10;
  const step = options.step ?? 1;
  const timings: Timing[] = [];
  let t0 = performance.now();
  const { count: n, dims, labels, features: x } = readPoints(path);
  timings.push({ phase: 'load (parse)', ms: performance.now() - t0, note: `${n} points x ${dims}` });
  const w = initialWeights(dims, options.seed ?? 42);
  const g = new Float64Array(dims);
  for (let it = 1; it <= iterations; it++) {
    t0 = performance.now();
    g.fill(0);
    for (let i = 0, row = 0; i < n; i++, row += dims) {
      const y = labels[i]!;
      let dot = 0;
      for (let j = 0; j < dims; j++) dot += w[j]! * x[row + j]!;
      const scale = (1 / (1 + Math.exp(-y * dot)) - 1) * y;
      for (let j = 0; j < dims; j++) g[j]! += scale * x[row + j]!;
    }
    for (let j = 0; j < dims; j++) w[j]! -= (step * g[j]!) / n;
    timings.push({ phase: `iteration ${it}`, ms: performance.now() - t0 });
  }
  t0 = performance.now();
  let correct = 0;
  for (let i = 0, row = 0; i < n; i++, row += dims) {
    let dot = 0;
    for (let j = 0; j < dims; j++) dot += w[j]! * x[row + j]!;
    if ((dot >= 0 ? 1 : -1) === labels[i]) correct++;
  }
  timings.push({ phase: 'accuracy', ms: performance.now() - t0, note: `${correct} of ${n} correct` });
  return { summary: { iterations, points: n, dims, weights: [...w], accuracy: n === 0 ? 0 : correct / n }, timings };
}
