/**
 * The map side of a shuffle: buckets a partition's records by the partitioner, combining values by key first
 * when the shuffle asks for it (reduceByKey & co.). Combining before bucketing hashes each distinct key once.
 */
import { partitionerFromWire } from '../core/partitioner.js';
import type { RDD, TaskContext, Pair } from '../rdd/index.js';
import type { MapStatus, ShuffleWriteWire } from '../exec/protocol.js';
import type { MapOutputWriter } from './shuffle-manager.js';
import type { Aggregator } from './aggregator.js';
import { combineExternally } from './external-combiner.js';

export function writeShuffleOutput(
  rdd: RDD<unknown>,
  partition: number,
  tc: TaskContext,
  w: ShuffleWriteWire,
  aggregator: Aggregator | undefined,
  out: MapOutputWriter,
): MapStatus {
  const partitioner = partitionerFromWire(w.partitioner);
  const place = (kv: Pair): void => out.add(partitioner.getPartition(kv[0]), kv);
  try {
    if (aggregator !== undefined && w.mapSideCombine) {
      // The table of a partition's distinct keys counts against the worker's shuffle pool and spills sorted runs.
      const fns = { first: aggregator.createCombiner, merge: aggregator.mergeValue, mergeCombiners: aggregator.mergeCombiners };
      combineExternally((each) => rdd.forEach(partition, tc, each as (x: unknown) => void), fns, w.rddId, w.rddLabel, place);
    } else {
      rdd.forEach(partition, tc, (x) => {
        if (!Array.isArray(x) || x.length !== 2) {
          throw new TypeError(`${w.rddLabel} shuffles pairs [key, value], but ${rdd.label} produced ${describe(x)}`);
        }
        place(x as Pair);
      });
    }
  } catch (e) {
    out.abort?.();
    throw e;
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
