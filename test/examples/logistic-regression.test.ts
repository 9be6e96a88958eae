/**
 * Logistic regression and k-means examples on the small generated points: weights, accuracy, centers, sizes and
 * costs equal the single-thread baselines'.
 */
import { describe, expect, it } from 'vitest';
import { lrWeights } from 'kindling/datagen';
import { kMeansBaseline } from '../../bench/baselines/kmeans.js';
import { logisticRegressionBaseline } from '../../bench/baselines/logistic-regression.js';
import { maxRelativeDiff } from '../../examples/common.js';
import { costsNonIncreasing, run as runKMeans } from '../../examples/kmeans.js';
import { cosine, pointsInput, run as runLR } from '../../examples/logistic-regression.js';
import { DATA_DIR, ENGINES, useContext } from './helpers.js';

describe.each(ENGINES)('points examples (%s engine)', (engine) => {
  const ctx = useContext(engine);
  const input = () => pointsInput({ small: true, dataDir: DATA_DIR });

  it('logistic regression: weights within 1e-9 (relative) of the Float64Array baseline, same accuracy', async () => {
    const path = await input();
    const options = { input: path, iterations: 8, step: 1, seed: 7 };
    const { summary, timings } = await runLR(ctx(), options);
    const base = logisticRegressionBaseline(path, options).summary;
    expect(summary.points).toBe(20_000);
    expect(summary.dims).toBe(10);
    expect(summary.points).toBe(base.points);
    for (let j = 0; j < base.weights.length; j++) {
      expect(Math.abs(summary.weights[j]! - base.weights[j]!)).toBeLessThanOrEqual(1e-9 * Math.abs(base.weights[j]!));
    }
    expect(summary.accuracy).toBe(base.accuracy);
    // It learns: the generator's labels follow sign(w* . x) up to noise.
    expect(summary.accuracy).toBeGreaterThan(0.9);
    expect(cosine(summary.weights, lrWeights(10))).toBeGreaterThan(0.95);
    expect(timings.map((t) => t.phase)).toEqual([
      'load points (parse, cache)',
      ...Array.from({ length: 8 }, (_, i) => `iteration ${i + 1}`),
      'accuracy',
    ]);
  });

  it.each(['reduceByKey', 'aggregateByKey'] as const)(
    'k-means (%s): centers, cluster sizes and costs equal the baseline; the cost never goes up',
    async (combine) => {
      const path = await input();
      const options = { input: path, iterations: 6, k: 4, combine };
      const { summary } = await runKMeans(ctx(), options);
      const base = kMeansBaseline(path, options).summary;
      expect(summary.points).toBe(base.points);
      expect(maxRelativeDiff(summary.centers.flat(), base.centers.flat())).toBeLessThanOrEqual(1e-9);
      expect(summary.sizes).toEqual(base.sizes);
      expect(summary.sizes.reduce((a, b) => a + b, 0)).toBe(20_000);
      expect(maxRelativeDiff(summary.costs, base.costs)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(summary.cost - base.cost)).toBeLessThanOrEqual(1e-9 * base.cost);
      expect(costsNonIncreasing(summary.costs, summary.cost)).toBe(true);
    },
  );
});
