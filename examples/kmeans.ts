/**
 * k-means (Lloyd's algorithm, Spark's SparkKMeans) on the features of the generated points file (the labels
 * are dropped; 1M points x 10, or 20k with --small).
 *
 * The points are parsed and cached; the initial centers are the first k points. Every iteration captures the
 * current centers with `capture({ centers }, ...)`, assigns each point to its closest center, and sums
 * `[vector, count, squared distance]` per center with `reduceByKey`; the new centers are the means (a center
 * that lost all its points stays where it was). The cost (sum of squared distances to the assigned centers)
 * never increases from one iteration to the next: the program checks that.
 *
 * With `--aggregate` the sums are made with `aggregateByKey` instead, the way Spark documents for accumulators that
 * may be updated in place: each key starts from a copy of the zero `{ sum, count, cost }`, and the seqOp and combOp
 * add into their first argument and return it, so no vector is allocated per point. Same centers, same costs.
 *
 *   npx tsx examples/kmeans.ts --master local[2] --iterations 10 --k 5 [--small] [--aggregate]
 */
import { capture, type Context, type RDD } from 'kindling';
import { kMeansBaseline } from '../bench/baselines/kmeans.js';
import { Timer, check, isMain, maxRelativeDiff, parseCli, printTable, runMain, type ExampleResult } from './common.js';
import { parsePoint, pointShape, pointsInput } from './logistic-regression.js';

export interface KMeansOptions {
  /** Points file (`label f1 .. fD`; the label is ignored); default the generated points in `dataDir`. */
  readonly input?: string;
  readonly small?: boolean;
  readonly dataDir?: string;
  /** Default 10. */
  readonly iterations?: number;
  /** Number of clusters (default 5). */
  readonly k?: number;
  /** Input partitions (default twice the workers). */
  readonly partitions?: number;
  /**
   * How the points of each center are summed: `reduceByKey` of `[vector, 1, distance]` (Spark's SparkKMeans; the
   * default), or `aggregateByKey` into an accumulator updated in place.
   */
  readonly combine?: 'reduceByKey' | 'aggregateByKey';
}

export interface KMeansSummary {
  readonly k: number;
  readonly iterations: number;
  readonly points: number;
  /** The final centers. */
  readonly centers: ReadonlyArray<readonly number[]>;
  /** Points closest to each final center. */
  readonly sizes: readonly number[];
  /** Sum of squared distances of the points to their closest final center. */
  readonly cost: number;
  /** The cost of each iteration's assignment (to the centers that iteration started from). */
  readonly costs: readonly number[];
}

/**
 * Index of the center closest to `p` (the first one on ties) and the squared distance to it, as
 * `[index, distance]`. Shipped to workers as a captured helper.
 */
export function closestCenter(p: readonly number[], centers: ReadonlyArray<readonly number[]>): [number, number] {
  let best = 0;
  let bestDist = Infinity;
  for (let c = 0; c < centers.length; c++) {
    const center = centers[c]!;
    let d = 0;
    for (let j = 0; j < p.length; j++) {
      const diff = p[j]! - center[j]!;
      d += diff * diff;
    }
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return [best, bestDist];
}

type Stats = [sum: number[], count: number, cost: number];

/** Assigns every point to its closest center and sums vectors, counts and costs per center. */
function assign(points: RDD<number[]>, centers: ReadonlyArray<readonly number[]>): RDD<[number, Stats]> {
  return points
    .map(
      capture({ centers, closestCenter }, (p: number[]): [number, Stats] => {
        const [c, d] = closestCenter(p, centers);
        return [c, [p, 1, d]];
      }),
    )
    .reduceByKey(([s1, n1, d1]: Stats, [s2, n2, d2]: Stats): Stats => {
      // A new array: s1 may be a cached point, which must not change.
      const s = s1.slice();
      for (let j = 0; j < s.length; j++) s[j]! += s2[j]!;
      return [s, n1 + n2, d1 + d2];
    });
}

/** A center's running sums, added into in place by {@link assignInPlace}'s seqOp and combOp. */
interface Sums {
  sum: number[];
  count: number;
  cost: number;
}

/**
 * {@link assign} with `aggregateByKey`: each point goes to its closest center as `[point, distance]`, and each
 * center's accumulator (a copy of the zero per key, Spark's contract) takes the point's coordinates in place.
 */
function assignInPlace(points: RDD<number[]>, centers: ReadonlyArray<readonly number[]>): RDD<[number, Stats]> {
  const zero: Sums = { sum: new Array<number>(centers[0]!.length).fill(0), count: 0, cost: 0 };
  return points
    .map(
      capture({ centers, closestCenter }, (p: number[]): [number, [number[], number]] => {
        const [c, d] = closestCenter(p, centers);
        return [c, [p, d]];
      }),
    )
    .aggregateByKey(
      zero,
      (acc: Sums, [p, d]: [number[], number]): Sums => {
        const s = acc.sum;
        for (let j = 0; j < s.length; j++) s[j]! += p[j]!;
        acc.count += 1;
        acc.cost += d;
        return acc;
      },
      (a: Sums, b: Sums): Sums => {
        const s = a.sum;
        for (let j = 0; j < s.length; j++) s[j]! += b.sum[j]!;
        a.count += b.count;
        a.cost += b.cost;
        return a;
      },
    )
    .mapValues((a): Stats => [a.sum, a.count, a.cost]);
}

/**
 * Runs k-means and returns the centers, cluster sizes, costs and one timing per iteration.
 *
 * @example
 * ```ts
 * const { summary } = await run(sc, { small: true, k: 3, iterations: 5 });
 * ```
 */
export async function run(sc: Context, options: KMeansOptions = {}): Promise<ExampleResult<KMeansSummary>> {
  const input = await pointsInput(options);
  const iterations = options.iterations ?? 10;
  const k = options.k ?? 5;
  const sums = options.combine === 'aggregateByKey' ? assignInPlace : assign;
  const timer = new Timer();
  const points: RDD<number[]> = sc
    .textFile(input, options.partitions ?? 2 * sc.defaultParallelism)
    .filter((line) => line.trim().length > 0)
    .map(parsePoint)
    .map((p) => p.slice(1)) // the features; the label is not used
    .setName('points')
    .cache();
  const n = await timer.time(
    'load points (parse, cache)',
    async () => (await pointShape(points)).count,
    (c) => `${c} points`,
  );
  let centers = await timer.time(
    'initial centers (first k points)',
    () => points.take(k),
    (cs) => `${cs.length} centers`,
  );
  check(centers.length === k, `k = ${k} but the input has only ${centers.length} points`);
  const costs: number[] = [];
  for (let i = 1; i <= iterations; i++) {
    const stats = await timer.time(`iteration ${i}`, () => sums(points, centers).collectAsMap());
    let cost = 0;
    let moved = 0;
    const next = centers.map((old, c) => {
      const s = stats.get(c);
      if (s === undefined) return old;
      cost += s[2];
      const center = s[0].map((v) => v / s[1]);
      for (let j = 0; j < center.length; j++) moved = Math.max(moved, Math.abs(center[j]! - old[j]!));
      return center;
    });
    costs.push(cost);
    timer.timings[timer.timings.length - 1] = {
      ...timer.timings.at(-1)!,
      note: `cost ${cost.toFixed(3)}, max center move ${moved.toExponential(2)}`,
    };
    centers = next;
  }
  const final = await timer.time('final assignment', () =>
    sums(points, centers)
      .mapValues(([, count, d]) => [count, d] as const)
      .collectAsMap(),
  );
  const sizes = centers.map((_, c) => final.get(c)?.[0] ?? 0);
  const cost = [...final.values()].reduce((s, [, d]) => s + d, 0);
  return {
    summary: { k, iterations, points: n, centers: centers.map((c) => [...c]), sizes, cost, costs },
    timings: timer.timings,
  };
}

/** Checks Lloyd's invariant: each iteration's cost is at most the previous one's (up to rounding). */
export function costsNonIncreasing(costs: readonly number[], finalCost: number): boolean {
  const all = [...costs, finalCost];
  return all.every((c, i) => i === 0 || c <= all[i - 1]! * (1 + 1e-12));
}

export function printSummary(s: KMeansSummary): void {
  console.log(`\nk-means, k = ${s.k}, ${s.iterations} iterations over ${s.points} points: cost ${s.cost.toFixed(3)}`);
  printTable(
    ['center', 'points', 'coordinates'],
    s.centers.map((c, i) => [i, s.sizes[i]!, c.map((v) => v.toFixed(4)).join(' ')]),
  );
}

if (isMain(import.meta.url)) {
  const cli = parseCli(
    'kmeans',
    'k-means on the features of the generated points or a points file',
    {
      iterations: { type: 'string', help: 'iterations (default 10)' },
      k: { type: 'string', help: 'clusters (default 5)' },
      partitions: { type: 'string', help: 'input partitions (default 2 x workers)' },
      aggregate: { type: 'boolean', help: 'sum with aggregateByKey into accumulators updated in place' },
    },
    undefined,
    'points.txt',
  );
  await runMain(cli, 'k-means', async (sc) => {
    const options: KMeansOptions = {
      input: cli.positional,
      small: cli.small,
      dataDir: cli.dataDir,
      iterations: cli.int('iterations', 10),
      k: cli.int('k', 5),
      partitions: cli.string('partitions') === undefined ? undefined : cli.int('partitions', 1),
      combine: cli.flag('aggregate') ? 'aggregateByKey' : 'reduceByKey',
    };
    const result = await run(sc, options);
    const s = result.summary;
    printSummary(s);
    if (cli.validate) {
      check(costsNonIncreasing(s.costs, s.cost), `the cost went up between iterations: ${[...s.costs, s.cost].join(', ')}`);
      const base = kMeansBaseline(await pointsInput(options), options).summary;
      const diff = maxRelativeDiff(s.centers.flat(), base.centers.flat());
      check(diff <= 1e-9, `centers differ from the single-thread baseline (max relative difference ${diff})`);
      check(s.sizes.join() === base.sizes.join(), `cluster sizes ${s.sizes.join()} vs the baseline's ${base.sizes.join()}`);
      console.log(
        `validated: cost never increased; centers and sizes equal the single-thread baseline (max relative difference ${diff.toExponential(2)})`,
      );
    }
    return result;
  });
}
