/**
 * Logistic regression by batch gradient descent (Spark's SparkLR) over the generated points file
 * (`label f1 .. f10` lines, label ±1; 1M points, or 20k with --small).
 *
 * The points are parsed once and cached; every iteration captures the current weights with
 * `capture({ w }, ...)`, sums the gradient over all points with `aggregate` (one job per iteration), and takes
 * a step: w -= step * gradient / n. Prints the accuracy of the final weights.
 *
 *   npx tsx examples/logistic-regression.ts --master local[2] --iterations 10 [--small] [--step 1]
 */
import { capture, type Context, type RDD } from 'kindling';
import { ensureDataset, lrWeights } from 'kindling/datagen';
import { initialWeights, logisticRegressionBaseline } from '../bench/baselines/logistic-regression.js';
import { Timer, check, isMain, maxRelativeDiff, parseCli, printTable, runMain, type ExampleResult } from './common.js';

export interface LogisticRegressionOptions {
  /** Points file (`label f1 .. fD`); default the generated points in `dataDir`. */
  readonly input?: string;
  readonly small?: boolean;
  readonly dataDir?: string;
  /** Default 10. */
  readonly iterations?: number;
  /** Step size of gradient descent on the mean gradient (default 1). */
  readonly step?: number;
  /** Seed of the initial weights, uniform in [-1, 1) (default 42). */
  readonly seed?: number;
  /** Input partitions (default twice the workers, so the 77 MB file splits evenly). */
  readonly partitions?: number;
}

export interface LogisticRegressionSummary {
  readonly iterations: number;
  readonly points: number;
  readonly dims: number;
  readonly weights: readonly number[];
  /** Fraction of points whose label is sign(w · x) (0 counts as +1). */
  readonly accuracy: number;
}

/** The generated points' size: 1M × 10, or 20k × 10 with `small`. */
export function pointsParams(small = false): { count: number; dims: number } {
  return { count: small ? 20_000 : 1_000_000, dims: 10 };
}

/** The input path: `options.input`, or the generated points (written on first use). */
export async function pointsInput(options: { input?: string; small?: boolean; dataDir?: string }): Promise<string> {
  return options.input ?? (await ensureDataset('points', options.dataDir ?? 'data', pointsParams(options.small)));
}

/**
 * `y x1 .. xD` (spaces or tabs) to the array [y, x1, .., xD], label first. Shipped to workers as it is.
 * A field that is not a number (a CSV line, a LIBSVM `index:value`) fails naming the line, as Spark's example fails
 * on `toDouble`: kept as NaN it turned every weight into NaN without an error.
 *
 * Plain arrays of numbers rather than a Float64Array per point: V8 stores them as one compact block on its heap,
 * while a small typed array is three objects and an off-heap buffer, which makes every pass over a million
 * cached points markedly slower.
 */
export function parsePoint(line: string): number[] {
  const p: number[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && (c = line.charCodeAt(j)) !== 32 && c !== 9 && c !== 13) j++;
    const x = Number(line.slice(i, j));
    if (Number.isNaN(x)) throw new Error(`not a point ('label x1 .. xD', numbers separated by spaces or tabs): ${JSON.stringify(line)}`);
    p.push(x);
    i = j;
  }
  return p;
}

/**
 * The number of points and their length, in one pass (the pass that caches them). Points of different lengths (a
 * line missing a feature, a file of another data set mixed in) fail naming both lengths: read on, a missing feature
 * is `undefined` in the dot products, and the weights or centers became NaN without an error.
 *
 * @example
 * ```ts
 * const { count, length } = await pointShape(points); // 20000 points of 11 values (label and 10 features)
 * ```
 */
export async function pointShape(points: RDD<number[]>): Promise<{ count: number; length: number }> {
  const [count, shortest, longest] = await points.aggregate<[number, number, number]>(
    [0, Number.POSITIVE_INFINITY, 0],
    (a, p) => {
      a[0]++;
      if (p.length < a[1]) a[1] = p.length;
      if (p.length > a[2]) a[2] = p.length;
      return a;
    },
    (a, b) => [a[0] + b[0], Math.min(a[1], b[1]), Math.max(a[2], b[2])],
  );
  check(count > 0, 'the input holds no points');
  check(shortest === longest, `the points hold ${shortest} to ${longest} numbers each; every line must hold as many as the others`);
  return { count, length: longest };
}

/** Cosine of the angle between two vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

/**
 * Trains logistic regression and returns the weights, the accuracy and one timing per iteration.
 *
 * @example
 * ```ts
 * const { summary } = await run(sc, { small: true, iterations: 5 });
 * summary.accuracy; // about 0.97 on the generated points
 * ```
 */
export async function run(sc: Context, options: LogisticRegressionOptions = {}): Promise<ExampleResult<LogisticRegressionSummary>> {
  const input = await pointsInput(options);
  const iterations = options.iterations ?? 10;
  const step = options.step ?? 1;
  const timer = new Timer();
  const points: RDD<number[]> = sc
    .textFile(input, options.partitions ?? 2 * sc.defaultParallelism)
    .filter((line) => line.trim().length > 0)
    .map(parsePoint)
    .setName('points')
    .cache();
  const first = await timer.time(
    'load points (parse, cache)',
    async () => {
      const { count, length } = await pointShape(points);
      return [count, length - 1] as const;
    },
    ([n, d]) => `${n} points x ${d}`,
  );
  const [n, dims] = first;
  let w = initialWeights(dims, options.seed ?? 42);
  for (let i = 1; i <= iterations; i++) {
    const current = w;
    const gradient = await timer.time(
      `iteration ${i}`,
      () =>
        points.aggregate(
          new Float64Array(dims),
          capture({ w: current }, (g: Float64Array, p: number[]) => {
            const y = p[0]!;
            let dot = 0;
            for (let j = 0; j < w.length; j++) dot += w[j]! * p[j + 1]!;
            const scale = (1 / (1 + Math.exp(-y * dot)) - 1) * y;
            for (let j = 0; j < w.length; j++) g[j]! += scale * p[j + 1]!;
            return g;
          }),
          (a: Float64Array, b: Float64Array) => {
            for (let j = 0; j < a.length; j++) a[j]! += b[j]!;
            return a;
          },
        ),
      (g) => `|gradient| / n = ${(Math.hypot(...g) / n).toExponential(3)}`,
    );
    w = current.map((wj, j) => wj - (step * gradient[j]!) / n);
  }
  const final = w;
  const correct = await timer.time(
    'accuracy',
    () =>
      points
        .filter(
          capture({ w: final }, (p: number[]) => {
            let dot = 0;
            for (let j = 0; j < w.length; j++) dot += w[j]! * p[j + 1]!;
            return (dot >= 0 ? 1 : -1) === p[0];
          }),
        )
        .count(),
    (c) => `${c} of ${n} correct`,
  );
  return {
    summary: { iterations, points: n, dims, weights: [...final], accuracy: n === 0 ? 0 : correct / n },
    timings: timer.timings,
  };
}

export function printSummary(s: LogisticRegressionSummary): void {
  console.log(`\nlogistic regression, ${s.iterations} iterations over ${s.points} points x ${s.dims}: accuracy ${(100 * s.accuracy).toFixed(2)}%`);
  printTable(
    ['j', 'weight'],
    s.weights.map((v, j) => [j + 1, v]),
  );
}

if (isMain(import.meta.url)) {
  const cli = parseCli(
    'logistic-regression',
    'Logistic regression (batch gradient descent) on the generated points or a points file',
    {
      iterations: { type: 'string', help: 'iterations (default 10)' },
      step: { type: 'string', help: 'step size on the mean gradient (default 1)' },
      seed: { type: 'string', help: 'seed of the initial weights (default 42)' },
      partitions: { type: 'string', help: 'input partitions (default 2 x workers)' },
    },
    undefined,
    'points.txt',
  );
  await runMain(cli, 'logistic regression', async (sc) => {
    const options: LogisticRegressionOptions = {
      input: cli.positional,
      small: cli.small,
      dataDir: cli.dataDir,
      iterations: cli.int('iterations', 10),
      step: cli.number('step', 1),
      seed: cli.int('seed', 42),
      partitions: cli.string('partitions') === undefined ? undefined : cli.int('partitions', 1),
    };
    const result = await run(sc, options);
    const s = result.summary;
    printSummary(s);
    if (cli.validate) {
      const base = logisticRegressionBaseline(await pointsInput(options), options).summary;
      const diff = maxRelativeDiff(s.weights, base.weights);
      check(diff <= 1e-9, `weights differ from the single-thread baseline (max relative difference ${diff})`);
      check(s.accuracy === base.accuracy, `accuracy ${s.accuracy} vs the baseline's ${base.accuracy}`);
      if (options.input === undefined) {
        const cos = cosine(s.weights, lrWeights(s.dims));
        check(cos > 0.9 && s.accuracy > 0.9, `learned weights far from the generator's (cosine ${cos}, accuracy ${s.accuracy})`);
        console.log(`cosine with the generator's true weights: ${cos.toFixed(4)}`);
      }
      console.log(`validated: weights equal the single-thread baseline (max relative difference ${diff.toExponential(2)})`);
    }
    return result;
  });
}
