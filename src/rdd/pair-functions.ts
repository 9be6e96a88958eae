/**
 * Pair-RDD operations (Spark's PairRDDFunctions): combining by key, partitioning, joins. Each builds a shuffle
 * only when the input is not already partitioned the way the result must be.
 */
import { shipUserFunction } from './rdd-context.js';
import { HashPartitioner, type Partitioner } from '../core/partitioner.js';
import type { AggregatorWire } from '../shuffle/aggregator.js';
import { findUnclonable } from '../closure/clonable.js';
import type { ShippedFunction } from '../closure/index.js';
import { InvalidArgumentError, UnclonableDataError } from '../core/errors.js';
import { userCallSite } from '../util/call-site.js';
import { capture } from '../closure/capture.js';
import type { Pair } from './task-context.js';
import { isCustomPartitioner, ShippedPartitioner, type CustomPartitioner } from './user-partitioner.js';
import { type RDD, MapPartitionsRDD, ShuffledRDD, CoGroupedRDD, MappedRDD, checkPartitionCount, type ElementOp } from './internal.js';

type Parts = number | Partitioner | CustomPartitioner | undefined;

/**
 * Spark's defaultPartitioner: reuse the largest existing partitioner among the inputs when it is within an order
 * of magnitude of the largest input (so a join with an already-partitioned RDD avoids shuffling it), otherwise
 * hash into as many partitions as the largest input has.
 */
export function defaultPartitioner(...rdds: RDD<unknown>[]): Partitioner {
  const maxPartitions = Math.max(0, ...rdds.map((r) => r.getNumPartitions()));
  // Spark's HashPartitioner(max) when no input has a partition: a shuffle of nothing has no partitions either.
  if (maxPartitions === 0) return HashPartitioner.ofNoPartitions();
  let best: Partitioner | undefined;
  for (const r of rdds) {
    const p = r.partitioner;
    // A sort's partitioner counts before its bounds are sampled (Spark's has them at the call): it settles in place.
    if (p !== undefined && p.numPartitions > 0 && (best === undefined || p.numPartitions > best.numPartitions)) best = p;
  }
  if (best !== undefined && Math.log10(maxPartitions) - Math.log10(best.numPartitions) < 1) return best;
  return new HashPartitioner(maxPartitions);
}

/** Resolves a `numPartitions | Partitioner` argument, defaulting by Spark's rule. */
export function resolvePartitioner(op: string, arg: Parts, ...rdds: RDD<unknown>[]): Partitioner {
  if (arg === undefined) return defaultPartitioner(...rdds);
  if (typeof arg === 'number') {
    checkPartitionCount(op, arg);
    return new HashPartitioner(arg);
  }
  if (isCustomPartitioner(arg)) return shippedPartitionerFor(arg, rdds[0]!);
  if (!isEnginePartitioner(arg)) throw notAPartitioner(op, arg);
  if (arg.numPartitions === 0 && rdds.some((r) => r.getNumPartitions() > 0)) {
    // The partitioner of a shuffle of empty inputs (rdd.partitioner) would make this result silently empty.
    throw new InvalidArgumentError(`${op}: the partitioner has no partitions (an empty RDD's); give a number of partitions`);
  }
  return arg;
}

/**
 * The partitioner of `a.subtractByKey(b)` (and `subtract`) when none is given: `a`'s (Spark: the result is no larger
 * than `a`), else hashing into as many partitions as `a` has; none when neither input has one, as Spark's. While
 * `b` has partitions, its records must be placed, so a partitioner of no partitions is never used for them.
 */
export function subtractPartitioner(a: RDD<unknown>, b: RDD<unknown>): Partitioner {
  const empty = a.getNumPartitions() === 0 && b.getNumPartitions() === 0;
  const known = a.partitioner;
  if (known !== undefined && (known.numPartitions > 0 || empty)) return known;
  return empty ? HashPartitioner.ofNoPartitions() : new HashPartitioner(Math.max(1, a.getNumPartitions()));
}

function isEnginePartitioner(x: unknown): x is Partitioner {
  const p = x as Partial<Partitioner> | null;
  return (
    typeof x === 'object' && p !== null && typeof p.getPartition === 'function' && typeof p.toWire === 'function' && typeof p.equals === 'function'
  );
}

/**
 * From JavaScript nothing stops `a.cogroup(b, c)` (Spark's multi-way cogroup) or a string count; taken as a
 * partitioner, such a value made an RDD of no partitions and a silently empty result.
 */
function notAPartitioner(op: string, arg: unknown): InvalidArgumentError {
  const given = isRdd(arg)
    ? (arg as RDD<unknown>).label
    : typeof arg === 'object'
      ? 'an object without getPartition'
      : `${typeof arg} ${String(arg)}`;
  const hint = isRdd(arg) ? ' It takes one other RDD; for more, use groupWith (a.groupWith(b, c)).' : '';
  return new InvalidArgumentError(`${op}: the partitioning argument must be a number of partitions or a partitioner, got ${given}.${hint}`);
}

function isRdd(x: unknown): boolean {
  return typeof x === 'object' && x !== null && typeof (x as { getNumPartitions?: unknown }).getNumPartitions === 'function' && 'context' in x;
}

/** One driver-side wrapper per user partitioner object, so RDDs partitioned by it compare equal. */
const shippedPartitioners = new WeakMap<CustomPartitioner, ShippedPartitioner>();
function shippedPartitionerFor(user: CustomPartitioner, rdd: RDD<unknown>): ShippedPartitioner {
  let p = shippedPartitioners.get(user);
  if (p === undefined) {
    p = new ShippedPartitioner(user, rdd.context);
    shippedPartitioners.set(user, p);
  }
  return p;
}

const ship = (rdd: RDD<unknown>, op: string, fn: Function): ShippedFunction => shipUserFunction(rdd, op, fn, `${op} function at ${userCallSite()}`);

/**
 * A zero value reaches the workers by structured clone, and is cloned again for each key there, so it follows the
 * rule of captured values: an instance of a class with methods would arrive without them. Refused at the call.
 */
export function checkZero(op: string, zero: unknown): void {
  const problem = findUnclonable(zero, 'zero');
  if (problem !== undefined) {
    throw new UnclonableDataError(
      `${op}: ${problem.path === 'zero' ? 'the zero value' : `the zero value's ${problem.path.slice('zero'.length)}`} is ${problem.reason}. ` +
        'Use plain data (numbers, strings, arrays, plain objects, Map, Set, typed arrays, Date) and functions instead of methods.',
    );
  }
}

/** Combines by key with `aggregator`; a shuffle only if the input is not already partitioned by `partitioner`. */
export function combineWith<K, C>(
  rdd: RDD<Pair>,
  aggregator: AggregatorWire,
  partitioner: Partitioner,
  mapSideCombine: boolean,
  op: string,
): RDD<[K, C]> {
  if (rdd.partitioner?.equals(partitioner)) {
    return new MapPartitionsRDD(rdd, { mode: 'combineLocal', aggregator, op, preservesPartitioning: true }) as RDD<[K, C]>;
  }
  return new ShuffledRDD<K, unknown, C>(rdd.context, rdd as RDD<[K, unknown]>, partitioner, { aggregator, mapSideCombine }, { op });
}

export function reduceByKey<K, V>(rdd: RDD<[K, V]>, fn: (a: V, b: V) => V, n: Parts): RDD<[K, V]> {
  const r = rdd;
  return combineWith(
    rdd as RDD<Pair>,
    { kind: 'reduce', fn: ship(r, 'reduceByKey', fn) },
    resolvePartitioner('reduceByKey', n, r),
    true,
    'reduceByKey',
  );
}

export function groupByKey<K, V>(rdd: RDD<[K, V]>, n: Parts): RDD<[K, V[]]> {
  const r = rdd;
  return combineWith(rdd as RDD<Pair>, { kind: 'group' }, resolvePartitioner('groupByKey', n, r), false, 'groupByKey');
}

export function aggregateByKey<K, V, U>(rdd: RDD<[K, V]>, zero: U, seqOp: (acc: U, v: V) => U, combOp: (a: U, b: U) => U, n: Parts): RDD<[K, U]> {
  const r = rdd;
  checkZero('aggregateByKey', zero);
  const agg: AggregatorWire = {
    kind: 'aggregate',
    zero,
    seqOp: ship(r, 'aggregateByKey seqOp', seqOp),
    combOp: ship(r, 'aggregateByKey combOp', combOp),
  };
  return combineWith(rdd as RDD<Pair>, agg, resolvePartitioner('aggregateByKey', n, r), true, 'aggregateByKey');
}

export function foldByKey<K, V>(rdd: RDD<[K, V]>, zero: V, fn: (a: V, b: V) => V, n: Parts): RDD<[K, V]> {
  const r = rdd;
  checkZero('foldByKey', zero);
  return combineWith(
    rdd as RDD<Pair>,
    { kind: 'fold', zero, fn: ship(r, 'foldByKey', fn) },
    resolvePartitioner('foldByKey', n, r),
    true,
    'foldByKey',
  );
}

export function combineByKey<K, V, C>(
  rdd: RDD<[K, V]>,
  create: (v: V) => C,
  mergeValue: (c: C, v: V) => C,
  mergeCombiners: (a: C, b: C) => C,
  n: Parts,
): RDD<[K, C]> {
  const r = rdd;
  const agg: AggregatorWire = {
    kind: 'combine',
    create: ship(r, 'combineByKey createCombiner', create),
    mergeValue: ship(r, 'combineByKey mergeValue', mergeValue),
    mergeCombiners: ship(r, 'combineByKey mergeCombiners', mergeCombiners),
  };
  return combineWith(rdd as RDD<Pair>, agg, resolvePartitioner('combineByKey', n, r), true, 'combineByKey');
}

export function partitionBy<K, V>(rdd: RDD<[K, V]>, arg: number | Partitioner | CustomPartitioner): RDD<[K, V]> {
  const partitioner = resolvePartitioner('partitionBy', arg, rdd);
  if (rdd.partitioner?.equals(partitioner)) return rdd;
  return new ShuffledRDD<K, V, V>(rdd.context, rdd, partitioner, { mapSideCombine: false }, { op: 'partitionBy' });
}

export function cogroup<K, V, W>(a: RDD<[K, V]>, b: RDD<[K, W]>, n: Parts, op = 'cogroup'): RDD<[K, [V[], W[]]]> {
  const partitioner = resolvePartitioner(op, n, a, b);
  return new CoGroupedRDD<K>(a.context, [a as RDD<Pair>, b as RDD<Pair>], partitioner) as unknown as RDD<[K, [V[], W[]]]>;
}

/**
 * Spark's `groupWith`: the cogroup of `a` and every RDD of `others` (at least one), `[k, [vs, ws1, ws2, ...]]`, by
 * the default partitioner of them all. JavaScript callers may pass anything: a value that is not an RDD is refused.
 */
export function groupWith<K>(a: RDD<Pair>, others: readonly unknown[]): RDD<[K, unknown[][]]> {
  if (others.length === 0) {
    throw new InvalidArgumentError('groupWith: pass at least one other RDD of pairs (a.groupWith(b, c, ...)).');
  }
  others.forEach((o, i) => {
    if (!isRdd(o)) {
      const hint =
        typeof o === 'number' || isCustomPartitioner(o) || isEnginePartitioner(o)
          ? ' It takes no partitioning argument (Spark’s neither); partitionBy the result.'
          : '';
      throw new InvalidArgumentError(`groupWith: argument ${i + 1} must be an RDD of pairs, got ${o === null ? 'null' : typeof o}.${hint}`);
    }
  });
  const rdds = [a, ...(others as RDD<Pair>[])];
  const partitioner = resolvePartitioner('groupWith', undefined, ...rdds);
  return new CoGroupedRDD<K>(a.context, rdds, partitioner, { op: 'groupWith' });
}

export function join<K, V, W, R>(a: RDD<[K, V]>, b: RDD<[K, W]>, op: ElementOp, n: Parts): RDD<[K, R]> {
  return new MappedRDD<unknown, [K, R]>(cogroup(a, b, n, opName(op)), op, undefined, { op: opName(op) });
}

export function subtractByKey<K, V, W>(a: RDD<[K, V]>, b: RDD<[K, W]>, n: Parts): RDD<[K, V]> {
  // Spark: the result follows the left side's partitioning.
  const partitioner = n === undefined ? subtractPartitioner(a, b) : resolvePartitioner('subtractByKey', n, a, b);
  return new MappedRDD<unknown, [K, V]>(cogroup(a, b, partitioner), 'subtractByKey', undefined, { op: 'subtractByKey' });
}

export function sortByKey<K, V>(rdd: RDD<[K, V]>, ascending: boolean, numPartitions: number, compare?: (a: K, b: K) => number): RDD<[K, V]> {
  if (compare === undefined) {
    return new ShuffledRDD<K, V, V>(
      rdd.context,
      rdd,
      { rangeAscending: ascending, numPartitions: Math.max(1, numPartitions) },
      { mapSideCombine: false, keyOrdering: ascending ? 'ascending' : 'descending' },
      { op: 'sortByKey' },
    );
  }
  compare = numericComparator(compare);
  const shipped = ship(rdd as RDD<unknown>, 'sortByKey compare', compare);
  // The shuffle ranges keys by the comparator; each partition is then sorted with it (stable, spilling as any sort).
  return new ShuffledRDD<K, V, V>(
    rdd.context,
    rdd,
    { rangeAscending: ascending, numPartitions: Math.max(1, numPartitions), compare: compare as (a: unknown, b: unknown) => number },
    { mapSideCombine: false, keyOrdering: ascending ? 'ascending' : 'descending', compare: shipped },
    { op: 'sortByKey', compare: compare as (a: unknown, b: unknown) => number },
  );
}

/**
 * The user's comparator, refusing a result that is not a number. `(a, b) => a < b` (Scala's `sortWith` takes such a
 * "less than") or `a > b` gave booleans, which the sorts read as 1 and 0, and the keys came back in no order with
 * no error. Runs wherever the comparator does: on the driver for the range bounds, in the workers for the sorts.
 */
function numericComparator<K>(compare: (a: K, b: K) => number): (a: K, b: K) => number {
  return capture({ compare }, (a: K, b: K): number => {
    const r = compare(a, b);
    if (typeof r !== 'number') {
      // shipped: runs wherever sortByKey's comparator runs
      throw new TypeError(
        `sortByKey/sortBy: the comparator must return a number (negative, zero or positive), got ${typeof r} ${String(r)}; ` +
          'a comparator of booleans such as (a, b) => a < b orders nothing: write (a, b) => (a < b ? -1 : a > b ? 1 : 0)',
      );
    }
    return r;
  });
}

/** Spark's repartitionAndSortWithinPartitions: one shuffle that partitions by `arg` and sorts each partition by key. */
export function repartitionAndSortWithinPartitions<K, V>(rdd: RDD<[K, V]>, arg: Parts, ascending: boolean, keyFn?: (k: K) => unknown): RDD<[K, V]> {
  const partitioner = resolvePartitioner('repartitionAndSortWithinPartitions', arg, rdd as RDD<unknown>);
  const sortKey = keyFn === undefined ? undefined : ship(rdd, 'repartitionAndSortWithinPartitions', keyFn);
  return new ShuffledRDD<K, V, V>(
    rdd.context,
    rdd,
    partitioner,
    { mapSideCombine: false, keyOrdering: ascending ? 'ascending' : 'descending', ...(sortKey ? { sortKey } : {}) },
    { op: 'repartitionAndSortWithinPartitions' },
  );
}

function opName(op: ElementOp): string {
  switch (op) {
    case 'joinInner':
      return 'join';
    case 'joinLeft':
      return 'leftOuterJoin';
    case 'joinRight':
      return 'rightOuterJoin';
    case 'joinFull':
      return 'fullOuterJoin';
    default:
      return op;
  }
}
