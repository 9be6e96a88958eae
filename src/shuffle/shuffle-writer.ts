/**
 * The map side of a shuffle: buckets a partition's records by the partitioner, combining values by key first
 * when the shuffle asks for it (reduceByKey & co.). Combining before bucketing hashes each distinct key once.
 */
import { partitionerFromWire, type Partitioner } from '../core/partitioner.js';
import type { RDD, TaskContext, Pair } from '../rdd/index.js';
import type { MapStatus, ShuffleWriteWire } from '../exec/protocol.js';
import type { MapOutputWriter } from './shuffle-manager.js';
import type { Aggregator } from './aggregator.js';
import { combineValuesByKey } from './combine.js';

export function writeShuffleOutput(
  rdd: RDD<unknown>,
  partition: number,
  tc: TaskContext,
  w: ShuffleWriteWire,
  aggregator: Aggregator | undefined,
  out: MapOutputWriter,
  /** Given when the partitioner needed compiling (a user's); otherwise rebuilt from the wire. */
  compiledPartitioner?: Partitioner,
): MapStatus {
  const partitioner = compiledPartitioner ?? partitionerFromWire(w.partitioner);
  const place = (kv: Pair): void => out.add(partitioner.getPartition(kv[0]), kv);
  if (aggregator !== undefined && w.mapSideCombine) {
    const combined = combineValuesByKey((each) => rdd.forEach(partition, tc, each as (x: unknown) => void), aggregator, w.rddId, w.rddLabel);
    for (let i = 0; i < combined.length; i++) place(combined[i]!);
  } else {
    rdd.forEach(partition, tc, (x) => {
      if (!Array.isArray(x) || x.length !== 2) {
        throw new TypeError(`${w.rddLabel} shuffles pairs [key, value], but ${rdd.label} produced ${describe(x)}`);
      }
      place(x as Pair);
    });
  }
  return out.close();
}

function describe(x: unknown): string {
  try {
    const s = JSON.stringify(x);
    return s === undefined ? String(x) : s.length > 60 ? s.slice(0, 60) + '...' : s;
  } catch {
    return String(x);
  }
}
