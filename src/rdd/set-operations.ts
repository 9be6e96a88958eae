/** Set-like operations, built from pair operations on `[element, null]` as Spark does. */
import { DirectPartitioner, HashPartitioner, type Partitioner } from '../core/partitioner.js';
import { ShippedPartitioner, type CustomPartitioner } from './user-partitioner.js';
import { capture } from '../closure/capture.js';
import type { Pair } from './task-context.js';
import { type RDD, MappedRDD, MapPartitionsRDD, ShuffledRDD, checkPartitionCount } from './internal.js';
import { combineWith, cogroup, resolvePartitioner, subtractByKey } from './pair-functions.js';

const withNull = <T>(rdd: RDD<T>): RDD<[T, null]> => new MappedRDD<T, [T, null]>(rdd, 'pairWithNull', undefined);

export function distinct<T>(rdd: RDD<T>, n: number | undefined): RDD<T> {
  if (n !== undefined) checkPartitionCount('distinct', n);
  const known = rdd.partitioner;
  if (known !== undefined && (n === undefined || n === rdd.getNumPartitions())) {
    // Spark's distinct with a known partitioner: equal pairs have equal keys, which that partitioner already placed
    // in one partition, so duplicates are removed within each partition, with no shuffle, and the partitioner kept.
    const local = new MapPartitionsRDD<[T, null], [T, null]>(withNull(rdd), {
      mode: 'combineLocal',
      aggregator: { kind: 'first' },
      op: 'distinct',
      preservesPartitioning: true,
    });
    const out = (local as RDD<[T, null]>).keys();
    out.partitioner = known;
    return out;
  }
  const count = n ?? rdd.getNumPartitions();
  // Spark's distinct(partitions.length): none for an RDD of none.
  const partitioner = count === 0 ? HashPartitioner.ofNoPartitions() : new HashPartitioner(count);
  return combineWith<T, null>(withNull(rdd) as RDD<Pair>, { kind: 'first' }, partitioner, true, 'distinct').keys();
}

export function intersection<T>(a: RDD<T>, b: RDD<T>, n: number | Partitioner | CustomPartitioner | undefined): RDD<T> {
  // Scala's intersection(other, partitioner) too; a user's partitioner is shipped with a's context.
  const grouped = cogroup(withNull(a), withNull(b), n === undefined ? undefined : resolvePartitioner('intersection', n, a, b));
  return new MappedRDD<unknown, T>(grouped, 'intersectKeys', undefined, { op: 'intersection' });
}

export function subtract<T>(a: RDD<T>, b: RDD<T>, n: number | Partitioner | CustomPartitioner | undefined): RDD<T> {
  if (n !== undefined && typeof n !== 'number') {
    // Scala's subtract(other, partitioner): the partitioner places the elements, except that `a`'s own partitioner (of
    // its pairs' keys) places each pair by its key, as Spark's does, so that a key-typed getPartition is not given pairs.
    const p = resolvePartitioner('subtract', n, a, b);
    const byKey = a.partitioner?.equals(p) === true && p instanceof ShippedPartitioner;
    return subtractByKey(withNull(a), withNull(b), byKey ? pairsByKey(p, a) : p).keys();
  }
  if (n !== undefined) checkPartitionCount('subtract', n);
  // By the elements, so not by `a`'s partitioner (of its pairs' keys): Spark's HashPartitioner(partitions.length).
  const partitioner =
    n !== undefined
      ? new HashPartitioner(n)
      : a.getNumPartitions() === 0 && b.getNumPartitions() === 0
        ? HashPartitioner.ofNoPartitions()
        : new HashPartitioner(Math.max(1, a.getNumPartitions()));
  return subtractByKey(withNull(a), withNull(b), partitioner).keys();
}

export function repartition<T>(rdd: RDD<T>, n: number): RDD<T> {
  const keyed = new MapPartitionsRDD<T, [number, T]>(rdd, { mode: 'roundRobin', args: { numPartitions: n }, op: 'repartition' });
  return new ShuffledRDD<number, T, T>(rdd.context, keyed, new DirectPartitioner(n), { mapSideCombine: false }, { op: 'repartition' }).values();
}

/** A user's partitioner of keys, placing `[key, value]` elements by their key. */
function pairsByKey(p: ShippedPartitioner, rdd: RDD<unknown>): ShippedPartitioner {
  const byKey = p.user.getPartition;
  const getPartition = capture({ byKey }, (pair: unknown): number => byKey((pair as [unknown, unknown])[0]));
  return new ShippedPartitioner({ numPartitions: p.numPartitions, getPartition }, rdd.context);
}
