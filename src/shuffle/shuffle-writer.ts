/**
 * The map side of a shuffle: buckets a partition's records by the partitioner, combining values by key first
 * when the shuffle asks for it (reduceByKey & co.). Combining before bucketing hashes each distinct key once.
 */
import { partitionerFromWire, type Partitioner } from '../core/partitioner.js';
import type { Pair } from '../core/pair.js';
import type { MapStatus, ShuffleWriteWire } from './wire.js';
import type { MapOutputWriter } from './shuffle-manager.js';
import type { Aggregator } from './aggregator.js';
import { combineExternally } from './external-combiner.js';
import { NotAPairError, classInstanceError, isPair } from '../core/errors.js';
import { findClassInstance } from '../closure/index.js';

/** One map task's records, pushed to `each` (the RDD's pipelined partition, so no array is built). */
export type RecordSource = (each: (x: unknown) => void) => void;

export function writeShuffleOutput(
  source: RecordSource,
  /** The RDD producing the records, named in errors. */
  producer: string,
  w: ShuffleWriteWire,
  aggregator: Aggregator | undefined,
  out: MapOutputWriter,
  /** Given when the partitioner needed compiling (a user's); otherwise rebuilt from the wire. */
  compiledPartitioner?: Partitioner,
): MapStatus {
  const partitioner = compiledPartitioner ?? partitionerFromWire(w.partitioner);
  // Every record may leave this thread (a peer's fetch, a spill, a disk shuffle), and the structured clone drops
  // prototypes: refuse class instances here, whether or not this record happens to cross, so that a program
  // behaves the same on one worker and on many. Primitive keys and values cost two typeof tests.
  const refuseClassInstance = (kv: Pair): void => {
    const found = findClassInstance(kv, 1);
    if (found !== undefined) {
      throw classInstanceError(found, `A record [key, value] of the shuffle from ${producer} to ${w.rddLabel}`, 'would be shuffled');
    }
  };
  const place = (kv: Pair): void => {
    const k = kv[0];
    const v = kv[1];
    if ((typeof k === 'object' && k !== null) || (typeof v === 'object' && v !== null)) refuseClassInstance(kv);
    out.add(partitioner.getPartition(k), kv);
  };
  const pairs = (each: (kv: Pair) => void): void =>
    source((x) => {
      if (!isPair(x)) throw new NotAPairError(w.rddLabel, producer, x);
      each(x as Pair);
    });
  try {
    if (aggregator !== undefined && w.mapSideCombine) {
      // The table of a partition's distinct keys counts against the worker's shuffle pool and spills sorted runs.
      const fns = { first: aggregator.createCombiner, merge: aggregator.mergeValue, mergeCombiners: aggregator.mergeCombiners };
      combineExternally(pairs, fns, w.rddId, w.rddLabel, place);
    } else {
      pairs(place);
    }
  } catch (e) {
    out.abort?.();
    throw e;
  }
  return out.close();
}
