/**
 * The map side of a shuffle: buckets a partition's records by the partitioner, combining values by key first
 * when the shuffle asks for it (reduceByKey & co.). Combining before bucketing hashes each distinct key once.
 */
import { partitionerFromWire } from '../core/partitioner.js';
import type { RDD, TaskContext, Pair } from '../rdd/index.js';
import type { MapStatus, ShuffleWriteWire } from '../exec/protocol.js';
import type { MapOutputWriter } from './shuffle-manager.js';
import type { Aggregator } from './aggregator.js';
import { combineValuesByKey } from './combine.js';
import { NotAPairError, classInstanceError, isPair } from '../core/errors.js';
import { findClassInstance } from '../closure/index.js';

export function writeShuffleOutput(
  rdd: RDD<unknown>,
  partition: number,
  tc: TaskContext,
  w: ShuffleWriteWire,
  aggregator: Aggregator | undefined,
  out: MapOutputWriter,
): MapStatus {
  const partitioner = partitionerFromWire(w.partitioner);
  // Every record may leave this thread (a peer's fetch, a spill, a disk shuffle), and the structured clone drops
  // prototypes: refuse class instances here, whether or not this record happens to cross, so that a program
  // behaves the same on one worker and on many. Primitive keys and values cost two typeof tests.
  const refuseClassInstance = (kv: Pair): void => {
    const found = findClassInstance(kv, 1);
    if (found !== undefined) {
      throw classInstanceError(found, `A record [key, value] of the shuffle from ${rdd.label} to ${w.rddLabel}`, 'would be shuffled');
    }
  };
  const place = (kv: Pair): void => {
    const k = kv[0];
    const v = kv[1];
    if ((typeof k === 'object' && k !== null) || (typeof v === 'object' && v !== null)) refuseClassInstance(kv);
    out.add(partitioner.getPartition(k), kv);
  };
  if (aggregator !== undefined && w.mapSideCombine) {
    const combined = combineValuesByKey((each) => rdd.forEach(partition, tc, each as (x: unknown) => void), aggregator, w.rddId, w.rddLabel, rdd.label);
    for (let i = 0; i < combined.length; i++) place(combined[i]!);
  } else {
    rdd.forEach(partition, tc, (x) => {
      if (!isPair(x)) throw new NotAPairError(w.rddLabel, rdd.label, x);
      place(x as Pair);
    });
  }
  return out.close();
}
