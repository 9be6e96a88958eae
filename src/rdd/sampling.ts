/**
 * Per-partition sampling for `sample()`: Bernoulli (each element kept with probability `fraction`) or Poisson
 * (each element emitted a Poisson(fraction) number of times), with one seeded generator per partition so a
 * given seed always selects the same elements, whichever worker computes the partition.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { keyId, type KeyId } from '../core/keys.js';
import { SeededRandom, deriveSeed } from '../core/random.js';

export interface SampleArgs {
  readonly withReplacement: boolean;
  readonly fraction: number;
  readonly seed: number;
  /**
   * randomSplit: keep the elements whose draw falls in `[lower, upper)` (Spark's BernoulliCellSampler). The
   * splits of one call share a seed, so each element lands in exactly one of them.
   */
  readonly cell?: readonly [number, number];
  /** sampleByKey: the fraction of each key (by its structural id), replacing `fraction`; elements are pairs. */
  readonly fractions?: ReadonlyArray<readonly [KeyId, number]>;
}

export function samplePartition(args: SampleArgs, partition: number, source: (each: (x: unknown) => void) => void, out: (x: unknown) => void): void {
  const rng = new SeededRandom(deriveSeed(args.seed, partition));
  if (args.cell !== undefined) {
    const [lower, upper] = args.cell;
    source((x) => {
      const u = rng.nextFloat();
      if (u >= lower && u < upper) out(x);
    });
    return;
  }
  if (args.fractions !== undefined) {
    sampleByKeyPartition(args.withReplacement, new Map(args.fractions), rng, source, out);
    return;
  }
  const { fraction } = args;
  if (!args.withReplacement) {
    if (fraction <= 0) return;
    source((x) => {
      if (rng.nextFloat() < fraction) out(x);
    });
    return;
  }
  source((x) => {
    const k = poissonDraw(rng, fraction);
    for (let i = 0; i < k; i++) out(x);
  });
}

/**
 * One draw of Poisson(`lambda`). Below 10, Knuth's method (count uniform draws until their product falls below
 * e^-lambda: cheap for small means, and the draws every seed gave before); from 10 on, Hörmann's transformed
 * rejection (PTRS, as numpy), O(1) per draw. Knuth's product alone caps near 745 (e^-lambda underflows to 0 there),
 * so `sample(true, 1000)` gave at most ~745 copies of each element and `takeSample(true, n)` asking that many
 * sampled again forever.
 */
export function poissonDraw(rng: SeededRandom, lambda: number): number {
  if (lambda < 10) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let prod = rng.nextFloat();
    while (prod > limit) {
      k++;
      prod *= rng.nextFloat();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.nextFloat() - 0.5;
    const v = rng.nextFloat();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logGamma(k + 1)) return k;
  }
}

const LOG_GAMMA_SERIES = [
  8.333333333333333e-2, -2.777777777777778e-3, 7.936507936507937e-4, -5.952380952380952e-4, 8.417508417508418e-4, -1.917526917526918e-3,
  6.41025641025641e-3, -2.955065359477124e-2, 1.796443723688307e-1, -1.3924322169059,
];

/** ln Γ(x) for x ≥ 1 by Stirling's series, shifted up to 7 for small x (numpy's `random_loggam`). */
function logGamma(x: number): number {
  if (x === 1 || x === 2) return 0;
  const n = x < 7 ? Math.floor(7 - x) : 0;
  let x0 = x + n;
  const x2 = 1 / (x0 * x0);
  let gl0 = LOG_GAMMA_SERIES[9]!;
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + LOG_GAMMA_SERIES[k]!;
  let gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * Math.log(x0) - x0;
  for (let k = 1; k <= n; k++) {
    gl -= Math.log(x0 - 1);
    x0 -= 1;
  }
  return gl;
}

function sampleByKeyPartition(
  withReplacement: boolean,
  fractions: ReadonlyMap<KeyId, number>,
  rng: SeededRandom,
  source: (each: (x: unknown) => void) => void,
  out: (x: unknown) => void,
): void {
  source((x) => {
    const key = (x as [unknown, unknown])[0];
    const fraction = fractions.get(keyId(key));
    if (fraction === undefined) {
      let shown: string;
      try {
        shown = JSON.stringify(key) ?? String(key);
      } catch {
        shown = String(key);
      }
      // PySpark's {1: 0.5} written in JavaScript names the string '1': say so rather than "no fraction for 1".
      const asName = typeof key !== 'string' && fractions.has(keyId(String(key)));
      throw new InvalidArgumentError(
        `sampleByKey: no fraction given for key ${shown}; fractions must name every key` +
          (asName
            ? ` (an object's property names are strings: '${String(key)}' is not the key ${shown}; give the fractions as a Map, new Map([[${shown}, 0.5]]), to name keys that are not strings)`
            : ''),
      );
    }
    if (!withReplacement) {
      if (rng.nextFloat() < fraction) out(x);
      return;
    }
    const k = poissonDraw(rng, fraction);
    for (let i = 0; i < k; i++) out(x);
  });
}
