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
  // Knuth's method: count uniform draws until their product falls below e^-lambda.
  const limit = Math.exp(-fraction);
  source((x) => {
    let k = 0;
    let prod = rng.nextFloat();
    while (prod > limit) {
      k++;
      prod *= rng.nextFloat();
    }
    for (let i = 0; i < k; i++) out(x);
  });
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
    const limit = Math.exp(-fraction);
    let k = 0;
    let prod = rng.nextFloat();
    while (prod > limit) {
      k++;
      prod *= rng.nextFloat();
    }
    for (let i = 0; i < k; i++) out(x);
  });
}
