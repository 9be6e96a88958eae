/**
 * Hand-written single-threaded k-means (Lloyd's algorithm): the COST baseline for examples/kmeans.ts. Same data
 * (the features of the same points file), same initial centers (the first k points), same update rule (a center
 * without points stays), same number of iterations.
 */
import type { ExampleResult, Timing } from '../../examples/common.js';
import type { KMeansSummary } from '../../examples/kmeans.js';
import { readPoints } from './logistic-regression.js';

/**
 * k-means over the features of the points of `path`.
 *
 * @example
 * ```ts
 * const { summary } = kMeansBaseline('data/points-count1000000-dims10-seed42.txt', { k: 5, iterations: 10 });
 * ```
 */
export function kMeansBaseline(path: string, options: { k?: number; iterations?: number } = {}): ExampleResult<KMeansSummary> {
  const k = options.k ?? 5;
  const iterations = options.iterations ?? 10;
  const timings: Timing[] = [];
  let t0 = performance.now();
  const { count: n, dims, features: x } = readPoints(path);
  timings.push({ phase: 'load (parse)', ms: performance.now() - t0, note: `${n} points x ${dims}` });
  if (n < k) throw new Error(`k = ${k} but the input has only ${n} points`);
  const centers = x.slice(0, k * dims);
  const sums = new Float64Array(k * dims);
  const counts = new Float64Array(k);
  const costs: number[] = [];
  let cost = 0;
  // Assigns every point, filling sums/counts; returns the cost.
  const assign = (): number => {
    sums.fill(0);
    counts.fill(0);
    let total = 0;
    for (let i = 0, row = 0; i < n; i++, row += dims) {
      let best = 0;
      let bestDist = Infinity;
      for (let c = 0, at = 0; c < k; c++, at += dims) {
        let d = 0;
        for (let j = 0; j < dims; j++) {
          const diff = x[row + j]! - centers[at + j]!;
          d += diff * diff;
        }
        if (d < bestDist) {
          bestDist = d;
          best = c;
        }
      }
      total += bestDist;
      counts[best]!++;
      const at = best * dims;
      for (let j = 0; j < dims; j++) sums[at + j]! += x[row + j]!;
    }
    return total;
  };
  for (let it = 1; it <= iterations; it++) {
    t0 = performance.now();
    cost = assign();
    costs.push(cost);
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      for (let j = 0; j < dims; j++) centers[c * dims + j] = sums[c * dims + j]! / counts[c]!;
    }
    timings.push({ phase: `iteration ${it}`, ms: performance.now() - t0, note: `cost ${cost.toFixed(3)}` });
  }
  t0 = performance.now();
  cost = assign();
  timings.push({ phase: 'final assignment', ms: performance.now() - t0 });
  const list: number[][] = [];
  for (let c = 0; c < k; c++) list.push([...centers.subarray(c * dims, (c + 1) * dims)]);
  return { summary: { k, iterations, points: n, centers: list, sizes: [...counts], cost, costs }, timings };
}
