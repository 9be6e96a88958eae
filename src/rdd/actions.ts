/**
 * Actions: each runs one job (take may run a few) and merges the per-partition results on the driver. The
 * per-partition half of each action is in result-functions.ts.
 */
import { shipUserFunction } from './rdd-context.js';
import { compareKeys, keyId } from '../core/keys.js';
import { structuralMap } from '../core/structural-map.js';
import { setupJob, commitJob, abortJob, type OutputFormat } from '../io/index.js';
import type { ShippedFunction } from '../closure/index.js';
import { emptyStats, estimateHyperLogLog, mergeStats, type MaybeValue, type StatCounter as Moments } from './result-functions.js';
import { StatCounter } from './stat-counter.js';

export { countApprox, sumApprox, meanApprox } from './approx.js';
import { MappedRDD, InputFilesRDD, pair, checkSampleArguments, describeArgument, type RDD } from './internal.js';
import { NotAPairError, isPair, InvalidArgumentError, InvalidDataError, EmptyCollectionError } from '../core/errors.js';
import { cloneZero } from '../shuffle/aggregator.js';
import { eachPair, type EncodedBucket } from '../shuffle/bucket-codec.js';
import { capture } from '../closure/capture.js';
import { HashPartitioner } from '../core/partitioner.js';
import { SeededRandom } from '../core/random.js';
import { concatArrays } from '../util/arrays.js';
import { withActionOptions, type ActionOptions } from '../core/job-scope.js';

/** The statistics `rdd.stats()` gives: its answer, a {@link StatCounter} (Spark's), has every one of these. */
export type Stats = Pick<StatCounter, 'count' | 'mean' | 'sum' | 'min' | 'max' | 'variance' | 'sampleVariance' | 'stdev' | 'sampleStdev'>;

const any = (rdd: RDD<unknown>): RDD<unknown> => rdd;

const ship = (rdd: RDD<unknown>, op: string, fn: Function): ShippedFunction =>
  shipUserFunction(rdd, op, fn, `${op} function of an action on ${rdd.label}`);

function emptyError(rdd: RDD<unknown>, op: string): EmptyCollectionError {
  return new EmptyCollectionError(`${op}() on an empty collection: ${rdd.label} is empty`);
}

export async function collect<T>(rdd: RDD<T>): Promise<T[]> {
  const parts = await rdd.context.runJob<T[]>(any(rdd), { kind: 'collect' }, undefined, `collect at ${rdd.label}`);
  return concatArrays(parts);
}

export async function count(rdd: RDD<unknown>): Promise<number> {
  const parts = await rdd.context.runJob<number>(rdd, { kind: 'count' }, undefined, `count at ${rdd.label}`);
  return parts.reduce((a, b) => a + b, 0);
}

/**
 * Spark's take: scan one partition first, then more partitions each round (up to 4x the scanned count,
 * estimated from how many elements the scanned ones gave), stopping as soon as `n` are found.
 */
/** Spark's default spark.rdd.limit.scaleUpFactor: how much more of the partitions each round of take reads. */
const TAKE_SCALE_UP = 4;

export async function take<T>(rdd: RDD<T>, n: number): Promise<T[]> {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`take: n must be a non-negative integer, got ${describeArgument(n)}`);
  const buf: T[] = [];
  const total = rdd.getNumPartitions();
  let scanned = 0;
  while (buf.length < n && scanned < total) {
    // Scala's RDD.take: one partition, then four times as many as scanned while nothing was found
    // (spark.rdd.limit.scaleUpFactor), else 1.5 times the partitions the elements still missing need at the rate seen
    // so far, capped at that factor. PySpark's estimate (1.5 times what all n need, less the partitions scanned) asks for
    // more partitions when most of n is found already.
    let tryCount = 1;
    if (scanned > 0) {
      tryCount =
        buf.length === 0 ? scanned * TAKE_SCALE_UP : Math.min(Math.ceil((1.5 * (n - buf.length) * scanned) / buf.length), scanned * TAKE_SCALE_UP);
    }
    const parts = Array.from({ length: Math.min(tryCount, total - scanned) }, (_, i) => scanned + i);
    const results = await rdd.context.runJob<T[]>(any(rdd), { kind: 'take', n: n - buf.length }, parts, `take at ${rdd.label}`);
    for (const r of results) for (const x of r) if (buf.length < n) buf.push(x);
    scanned += parts.length;
  }
  return buf;
}

export async function first<T>(rdd: RDD<T>): Promise<T> {
  const xs = await take(rdd, 1);
  if (xs.length === 0) throw emptyError(any(rdd), 'first');
  return xs[0] as T;
}

/**
 * These actions take PySpark's `key=` function of one element; a JavaScript comparator `(a, b) => ...` (what
 * `Array.prototype.sort` and Scala's `Ordering` take) would be called with one argument and fail in every task
 * with a TypeError about `undefined`, far from the mistake: refused at the call instead.
 */
function refuseComparator(action: string, keyFn: unknown): void {
  if (typeof keyFn === 'function' && keyFn.length >= 2) {
    throw new InvalidArgumentError(
      `${action}: takes a key function of one element (PySpark's key=), got a function of ${keyFn.length} parameters (a comparator?); ` +
        `compare by what it returns, e.g. ${action}((x) => x.length)`,
    );
  }
}

export async function takeOrdered<T>(rdd: RDD<T>, n: number, keyFn: ((x: T) => unknown) | undefined, descending: boolean): Promise<T[]> {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`takeOrdered/top: n must be a non-negative integer, got ${describeArgument(n)}`);
  refuseComparator(descending ? 'top' : 'takeOrdered', keyFn);
  const wire = {
    kind: 'takeOrdered' as const,
    n,
    descending,
    ...(keyFn ? { keyFn: ship(any(rdd), descending ? 'top' : 'takeOrdered', keyFn) } : {}),
  };
  const parts = await rdd.context.runJob<Array<[unknown, T]>>(any(rdd), wire, undefined, `takeOrdered at ${rdd.label}`);
  const sign = descending ? -1 : 1;
  // Stable sort over partition order keeps earlier elements first among equal keys.
  return parts
    .flat()
    .sort((a, b) => sign * compareKeys(a[0], b[0]))
    .slice(0, n)
    .map((kx) => kx[1]);
}

export async function reduce<T>(rdd: RDD<T>, fn: (a: T, b: T) => T): Promise<T> {
  const parts = await rdd.context.runJob<MaybeValue>(
    any(rdd),
    { kind: 'reduce', fn: ship(any(rdd), 'reduce', fn) },
    undefined,
    `reduce at ${rdd.label}`,
  );
  return mergeReduced(parts, fn, rdd, 'reduce');
}

/** The driver's last step of reduce-like actions: the partitions' partial results, reduced; empty RDDs refused. */
function mergeReduced<T>(parts: readonly MaybeValue[], fn: (a: T, b: T) => T, rdd: RDD<T>, op: string): T {
  let has = false;
  let acc: T | undefined;
  for (const r of parts) {
    if (r.empty) continue;
    acc = has ? fn(acc as T, r.value as T) : (r.value as T);
    has = true;
  }
  if (!has) throw emptyError(any(rdd), op);
  return acc as T;
}

export async function fold<T>(rdd: RDD<T>, zero: T, fn: (a: T, b: T) => T): Promise<T> {
  pair.checkZero('fold', zero);
  const parts = await rdd.context.runJob<T>(any(rdd), { kind: 'fold', zero, fn: ship(any(rdd), 'fold', fn) }, undefined, `fold at ${rdd.label}`);
  return parts.reduce((acc, x) => fn(acc, x), cloneZero(zero));
}

export async function aggregate<T, U>(rdd: RDD<T>, zero: U, seqOp: (acc: U, x: T) => U, combOp: (a: U, b: U) => U): Promise<U> {
  pair.checkZero('aggregate', zero);
  ship(any(rdd), 'aggregate combOp', combOp);
  const parts = await rdd.context.runJob<U>(
    any(rdd),
    { kind: 'aggregate', zero, seqOp: ship(any(rdd), 'aggregate seqOp', seqOp) },
    undefined,
    `aggregate at ${rdd.label}`,
  );
  return parts.reduce((acc, x) => combOp(acc, x), cloneZero(zero));
}

export async function foreach<T>(rdd: RDD<T>, fn: (x: T) => void): Promise<void> {
  await rdd.context.runJob(any(rdd), { kind: 'foreach', fn: ship(any(rdd), 'foreach', fn) }, undefined, `foreach at ${rdd.label}`);
}

export async function foreachPartition<T>(rdd: RDD<T>, fn: (it: Iterable<T>) => void | PromiseLike<void>): Promise<void> {
  const op = 'foreachPartition';
  const shipped = shipUserFunction(any(rdd), op, fn, `${op} function of an action on ${rdd.label}`, { allowAsync: true });
  await rdd.context.runJob(any(rdd), { kind: 'foreachPartition', fn: shipped }, undefined, `foreachPartition at ${rdd.label}`);
}

/** Counts per distinct element, in a Map keyed structurally; the first-seen element object stands for its group. */
export async function countByValue<T>(rdd: RDD<T>): Promise<Map<T, number>> {
  const merged = new Map<unknown, [T, number]>();
  // Each partition's counts merged as it arrives, in partition order, while later partitions still compute.
  await rdd.context.runJob<Array<[T, number]>>(any(rdd), { kind: 'countByValue' }, undefined, `countByValue at ${rdd.label}`, (_, part) => {
    for (const [x, c] of part) {
      const id = keyId(x);
      const cur = merged.get(id);
      if (cur === undefined) merged.set(id, [x, c]);
      else cur[1] += c;
    }
  });
  return structuralMap(merged.values());
}

export function countByKey<K, V>(rdd: RDD<[K, V]>): Promise<Map<K, number>> {
  // Its own keys step, so that an element that is not a pair is reported as countByKey's.
  return countByValue(new MappedRDD<[K, V], K>(rdd, 'keys', undefined, { op: 'countByKey' }));
}

export async function collectAsMap<K, V>(rdd: RDD<[K, V]>): Promise<Map<K, V>> {
  // Straight into the structural map, partition by partition as each arrives in order (the driver fills the
  // map while later partitions still compute; no flattened copy, no second map of ids): the first-seen key
  // object stays, the last value wins, as Spark's collectAsMap has it. A long partition of pairs may arrive as
  // the columns it travelled in (local backend): read from them, no pair is built.
  // Hash-partitioned pairs (reduceByKey's, a join's) have each key in one partition, so neither the key object
  // nor the value kept can depend on the order partitions are merged in: each is merged as soon as it arrives,
  // and the driver does not sit idle while an earlier partition's task is still running. Only the Map's
  // iteration order then varies (Spark's HashMap has none). A range partitioner's order is the sort's, kept.
  const inArrivalOrder = rdd.partitioner instanceof HashPartitioner;
  const out = structuralMap<K, V>();
  const set = (k: unknown, v: unknown): void => void out.set(k as K, v as V);
  await rdd.context.runJob<Array<[K, V]> | EncodedBucket>(
    any(rdd),
    { kind: 'collect', pairColumns: true },
    undefined,
    `collect at ${rdd.label}`,
    (_, pairs) => {
      try {
        if (!Array.isArray(pairs)) {
          eachPair(pairs, set);
          return;
        }
        for (let i = 0; i < pairs.length; i++) {
          const kv = pairs[i]!;
          if (!isPair(kv)) throw new NotAPairError('collectAsMap', rdd.label, kv);
          out.set(kv[0], kv[1]);
        }
      } catch (e) {
        // The map is filled here, on the driver, outside any task: a key it cannot hold failed naming no RDD.
        if (e instanceof InvalidDataError) throw new InvalidDataError(`collectAsMap on ${rdd.label}: ${e.message.replace(/^kindling: /, '')}`);
        throw e;
      }
    },
    inArrivalOrder,
  );
  return out;
}

export async function lookup<K, V>(rdd: RDD<[K, V]>, key: K): Promise<V[]> {
  const p = rdd.partitioner;
  // A sort's bounds, sampled now rather than by the lookup's own job, so that it reads the key's partition only.
  await p?.settle?.();
  let parts: number[] | undefined;
  try {
    if (p !== undefined) parts = [p.getPartition(key)];
  } catch {
    parts = undefined; // a key the partitioner cannot place (a partitioner of no partitions): scan everything
  }
  const results = await rdd.context.runJob<V[]>(any(rdd), { kind: 'lookup', key }, parts, `lookup at ${rdd.label}`);
  return results.flat() as V[];
}

/** `action`: the name the job is shown with (sum(), mean(), ... compute the same stats). */
export async function stats(rdd: RDD<number>, action = 'stats'): Promise<StatCounter> {
  const parts = await rdd.context.runJob<Moments>(any(rdd), { kind: 'stats' }, undefined, `${action} at ${rdd.label}`);
  return StatCounter.of(parts.reduce(mergeStats, emptyStats()));
}

export async function extreme<T>(rdd: RDD<T>, which: 'max' | 'min', keyFn?: (x: T) => unknown): Promise<T> {
  refuseComparator(which, keyFn);
  const wire = { kind: 'extreme' as const, which, ...(keyFn ? { keyFn: ship(any(rdd), `${which} key`, keyFn) } : {}) };
  const parts = await rdd.context.runJob<MaybeValue>(any(rdd), wire, undefined, `${which} at ${rdd.label}`);
  let has = false;
  let best: unknown;
  let bestKey: unknown;
  const sign = which === 'max' ? 1 : -1;
  for (const r of parts) {
    if (r.empty) continue;
    const [k, x] = r.value as [unknown, unknown];
    if (!has || sign * compareKeys(k, bestKey) > 0) {
      best = x;
      bestKey = k;
    }
    has = true;
  }
  if (!has) throw emptyError(any(rdd), which);
  return best as T;
}

/** The elements, one partition at a time: a job per partition, run when the iteration reaches it. */
export async function* toLocalIterator<T>(rdd: RDD<T>, options?: ActionOptions): AsyncGenerator<T, void, undefined> {
  const n = rdd.getNumPartitions();
  for (let p = 0; p < n; p++) {
    // Each partition's job is submitted when the iteration reaches it, outside the caller's scope: the signal is
    // put in scope for every one.
    const [part] = await withActionOptions(
      options,
      () => rdd.context.runJob<T[]>(any(rdd), { kind: 'collect' }, [p], `toLocalIterator at ${rdd.label}`),
      // Named as every other action's: a bad options argument said "the action".
      () => `toLocalIterator at ${rdd.label}`,
    );
    yield* part!;
  }
}

/** Spark's bounds: a sampling fraction that yields at least `num` of `total` elements with probability 0.9999. */
function fractionForSampleSize(num: number, total: number, withReplacement: boolean): number {
  if (withReplacement) {
    const numStd = num < 6 ? 12 : num < 16 ? 9 : 6;
    return Math.max(num + numStd * Math.sqrt(num), 1e-10) / total;
  }
  const fraction = num / total;
  const gamma = -Math.log(1e-4) / total;
  return Math.min(1, Math.max(1e-10, fraction + gamma + Math.sqrt(gamma * gamma + 2 * gamma * fraction)));
}

function shuffleInPlace<T>(xs: T[], rng: SeededRandom): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

const MAX_SAMPLE_SIZE = 2 ** 31 - 1 - Math.trunc(10 * Math.sqrt(2 ** 31 - 1));

/** Spark's takeSample: sample with a fraction that almost surely yields enough, retry if not, shuffle, cut. */
export async function takeSample<T>(rdd: RDD<T>, withReplacement: boolean, num: number, seed?: number): Promise<T[]> {
  checkSampleArguments('takeSample', withReplacement, num, 'num');
  if (!Number.isInteger(num) || num < 0)
    throw new InvalidArgumentError(`takeSample: num must be a non-negative integer, got ${describeArgument(num)}`);
  // Spark's bound: a larger sample could not come back as one array, and asking for it would sample again forever.
  if (num > MAX_SAMPLE_SIZE) {
    throw new InvalidArgumentError(
      `takeSample: cannot support a sample size > ${MAX_SAMPLE_SIZE} (Int.MaxValue - 10 * sqrt(Int.MaxValue), as Spark), got ${num}`,
    );
  }
  const rng = new SeededRandom(seed ?? Math.floor(Math.random() * 2 ** 31));
  if (num === 0) return [];
  const total = await count(rdd);
  if (total === 0) return [];
  if (!withReplacement && num >= total) return shuffleInPlace(await collect(rdd), rng);
  const fraction = fractionForSampleSize(num, total, withReplacement);
  let samples = await collect(rdd.sample(withReplacement, fraction, rng.nextUint32()));
  // Unlikely (p < 1e-4 per round): the sample came out short; draw again with another seed.
  while (samples.length < num) samples = await collect(rdd.sample(withReplacement, fraction, rng.nextUint32()));
  return shuffleInPlace(samples, rng).slice(0, num);
}

/** Registers for a relative standard deviation, as Spark's HyperLogLog++ chooses them. */
export async function countApproxDistinct(rdd: RDD<unknown>, relativeSD: number): Promise<number> {
  if (!(relativeSD > 0.000017)) throw new InvalidArgumentError(`countApproxDistinct: relativeSD must be greater than 0.000017, got ${relativeSD}`);
  const p = Math.max(4, Math.ceil((2 * Math.log(1.054 / relativeSD)) / Math.log(2)));
  if (p > 24) throw new InvalidArgumentError(`countApproxDistinct: relativeSD ${relativeSD} needs 2^${p} registers; use 0.0003 or more`);
  const parts = await rdd.context.runJob<Uint8Array>(rdd, { kind: 'hyperLogLog', p }, undefined, `countApproxDistinct at ${rdd.label}`);
  const merged = new Uint8Array(1 << p);
  for (const r of parts) for (let i = 0; i < r.length; i++) if (r[i]! > merged[i]!) merged[i] = r[i]!;
  return estimateHyperLogLog(merged);
}

/**
 * Spark's treeAggregate: partitions are aggregated in place, then combined in rounds of shuffles (each round
 * divides the partition count by `scale`) until few enough remain for the driver to combine.
 */
export async function treeAggregate<T, U>(rdd: RDD<T>, zero: U, seqOp: (acc: U, x: T) => U, combOp: (a: U, b: U) => U, depth: number): Promise<U> {
  if (!Number.isInteger(depth) || depth < 1) throw new InvalidArgumentError(`treeAggregate: depth must be a positive integer, got ${depth}`);
  ship(any(rdd), 'treeAggregate seqOp', seqOp);
  ship(any(rdd), 'treeAggregate combOp', combOp);
  const partial = rdd.mapPartitions(
    capture({ zero, seqOp }, function* (it: Iterable<T>) {
      let acc = structuredClone(zero);
      for (const x of it) acc = seqOp(acc, x);
      yield acc;
    }),
  );
  return fold(reduceInRounds(partial, combOp, depth), zero, combOp);
}

/** Spark's treeReduce: each partition reduced, empty ones dropped, then combined in rounds as treeAggregate. */
export async function treeReduce<T>(rdd: RDD<T>, f: (a: T, b: T) => T, depth: number): Promise<T> {
  if (!Number.isInteger(depth) || depth < 1) throw new InvalidArgumentError(`treeReduce: depth must be a positive integer, got ${depth}`);
  ship(any(rdd), 'treeReduce', f);
  const partial = rdd.mapPartitions(
    capture({ f }, function* (it: Iterable<T>) {
      let has = false;
      let acc: T | undefined;
      for (const x of it) {
        acc = has ? f(acc as T, x) : x;
        has = true;
      }
      if (has) yield acc as T;
    }),
  );
  const rounds = reduceInRounds(partial, f, depth);
  const parts = await rounds.context.runJob<MaybeValue>(
    any(rounds),
    { kind: 'reduce', fn: ship(any(rounds), 'treeReduce', f) },
    undefined,
    `treeReduce at ${rdd.label}`,
  );
  return mergeReduced(parts, f, rdd, 'treeReduce');
}

function reduceInRounds<U>(partial: RDD<U>, combOp: (a: U, b: U) => U, depth: number): RDD<U> {
  let numPartitions = partial.getNumPartitions();
  const scale = Math.max(Math.ceil(numPartitions ** (1 / depth)), 2);
  let rdd = partial;
  while (numPartitions > scale + Math.ceil(numPartitions / scale)) {
    numPartitions = Math.floor(numPartitions / scale);
    const target = numPartitions;
    rdd = rdd
      .mapPartitionsWithIndex(capture({ target }, (i: number, it: Iterable<U>) => Array.from(it, (x): [number, U] => [i % target, x])))
      .reduceByKey(combOp, new HashPartitioner(target))
      .values();
  }
  return rdd;
}

/**
 * pyspark's histogram: `buckets` sorted bounds (the last bucket closed), or a count of even buckets between
 * the minimum and the maximum. Values outside the buckets, NaN and values of another type are not counted.
 */
export async function histogram(rdd: RDD<unknown>, buckets: number | readonly unknown[]): Promise<[unknown[], number[]]> {
  let bounds: unknown[];
  let even: boolean;
  if (typeof buckets === 'number') {
    if (!Number.isInteger(buckets) || buckets < 1)
      throw new InvalidArgumentError(`histogram: the number of buckets must be a positive integer, got ${buckets}`);
    const s = await stats(rdd.filter((x) => typeof x === 'number' && !Number.isNaN(x)) as RDD<number>);
    if (s.count === 0) throw new InvalidArgumentError(`histogram: ${rdd.label} has no numbers to make buckets from`);
    if (!Number.isFinite(s.min) || !Number.isFinite(s.max)) throw new InvalidArgumentError('histogram: cannot make buckets with an infinite value');
    if (s.min === s.max || buckets === 1) return [[s.min, s.max], [s.count]];
    bounds = evenEdges(s.min, s.max, buckets);
    // A span beyond the largest double (from near -MAX_VALUE to near MAX_VALUE) cannot be divided arithmetically
    // in the workers; its edges are still exact, so they are searched.
    even = Number.isFinite(s.max - s.min);
  } else {
    bounds = [...buckets];
    if (bounds.length < 2) throw new InvalidArgumentError('histogram: buckets must have at least 2 elements');
    for (let i = 1; i < bounds.length; i++) {
      const c = compareKeys(bounds[i - 1], bounds[i]);
      if (c === 0) throw new InvalidArgumentError('histogram: buckets must not contain duplicated values');
      if (c > 0) throw new InvalidArgumentError('histogram: buckets must be sorted');
    }
    // Open-ended edges (-Infinity, +Infinity) are allowed, as in Spark and pyspark; NaN is refused as pyspark does.
    if (bounds.some((b) => typeof b === 'number' && Number.isNaN(b))) throw new InvalidArgumentError('histogram: buckets must not contain NaN');
    even = bounds.every((b) => typeof b === 'number' && Number.isFinite(b)) && evenlySpaced(bounds as number[]);
  }
  const parts = await rdd.context.runJob<number[]>(rdd, { kind: 'histogram', buckets: bounds, even }, undefined, `histogram at ${rdd.label}`);
  const counts = new Array<number>(bounds.length - 1).fill(0);
  for (const part of parts) for (let i = 0; i < part.length; i++) counts[i]! += part[i]!;
  return [bounds, counts];
}

/**
 * `n` even buckets' edges from `min` to `max`, as Scala's `min + (i * span) / n` (more exact than `min + i * (span /
 * n)`: 1 to 2 in 10 gives 1.7, not 1.7000000000000002); where the span or `i * span` overflows, a weighted mean
 * that cannot.
 */
export function evenEdges(min: number, max: number, n: number): number[] {
  const span = max - min;
  const edges = new Array<number>(n + 1);
  for (let i = 0; i < n; i++) {
    const e = min + (i * span) / n;
    edges[i] = Number.isFinite(e) ? e : min * ((n - i) / n) + max * (i / n);
  }
  edges[n] = max;
  return edges;
}

function evenlySpaced(b: readonly number[]): boolean {
  const width = b[1]! - b[0]!;
  for (let i = 2; i < b.length; i++) if (Math.abs(b[i]! - b[i - 1]! - width) > 1e-10 * Math.max(1, Math.abs(width))) return false;
  return true;
}

/** The input specs of the files `rdd` reads (its file-reading ancestors: textFile, csvFile, binaryRecords, ...), found without listing. */
function inputSpecs(rdd: RDD<unknown>): string[] {
  const specs: string[] = [];
  const seen = new Set<number>();
  const stack = [rdd];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    if (r instanceof InputFilesRDD) specs.push(r.path);
    for (const d of r.dependencies) stack.push(d.rdd);
  }
  return specs;
}

/** Hadoop's commit protocol: tasks write and commit into a staging folder; the job is moved into place at the end. */
export async function saveAsTextFile(rdd: RDD<unknown>, path: string, overwrite: boolean, format: OutputFormat = 'text'): Promise<void> {
  const plan = await setupJob(path, {
    overwrite,
    format,
    jobId: `rdd${rdd.id}`,
    numPartitions: rdd.getNumPartitions(),
    inputs: inputSpecs(rdd),
  });
  try {
    const op = format === 'object' ? 'saveAsObjectFile' : 'saveAsTextFile';
    await rdd.context.runJob(rdd, { kind: 'save', plan }, undefined, `${op} at ${rdd.label}`);
    await commitJob(plan);
  } catch (e) {
    // The job's own error is what the user must see; a cleanup that failed too is added to it, never put in its place.
    await abortJob(plan).catch((cleanup: unknown) => {
      if (e instanceof Error) {
        e.message += ` (and its staging folder ${plan.stagingPath} could not be removed: ${(cleanup as Error).message}; delete it by hand)`;
      }
    });
    throw e;
  }
}
