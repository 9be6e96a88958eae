/**
 * Per-partition sampling for `sample()`: Bernoulli (each element kept with probability `fraction`) or Poisson
 * (each element emitted a Poisson(fraction) number of times), with one seeded generator per partition so a
 * given seed always selects the same elements, whichever worker computes the partition.
 */
import { SeededRandom, deriveSeed } from '../core/random.js';

export interface SampleArgs {
  readonly withReplacement: boolean;
  readonly fraction: number;
  readonly seed: number;
}

export function samplePartition(
  args: SampleArgs,
  partition: number,
  source: (each: (x: unknown) => void) => void,
  out: (x: unknown) => void,
): void {
  const rng = new SeededRandom(deriveSeed(args.seed, partition));
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
