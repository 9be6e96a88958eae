/**
 * The map side of a shuffle: buckets a partition's records by the partitioner, combining values by key first
 * when the shuffle asks for it (reduceByKey & co.). Combining before bucketing hashes each distinct key once.
 */
import { HashPartitioner, partitionOfHash, partitionerFromWire, powerOfTwoMask, type Partitioner } from '../core/partitioner.js';
import type { Pair } from '../core/pair.js';
import type { MapStatus, ShuffleWriteWire } from './wire.js';
import type { MapOutputWriter } from './shuffle-manager.js';
import type { EncodedBucket } from './bucket-codec.js';
import type { Aggregator } from './aggregator.js';
import { combineExternally } from './external-combiner.js';
import type { PairsSink } from './combine.js';
import { withMany, withPairs, type PairOf } from '../core/many-sink.js';
import { NotAPairError, classInstanceError, isPair } from '../core/errors.js';
import { findClassInstance } from '../closure/clonable.js';
import { giveBack, takeFloat64, takeInt32 } from '../util/scratch-arrays.js';
import { ReducerSlots, type SparseBuckets } from './sparse-buckets.js';

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
  const notAPair = (x: unknown): never => {
    throw new NotAPairError(w.rddLabel, producer, x);
  };
  // `many`: what the combine does with a whole array of records (a flatMap's result), checked as `each` checks one.
  // `kv`: what the combine does with one record given as its key and value (a map step's pair, read where it was made).
  const pairs = (each: (kv: Pair) => void, _numbers?: unknown, many?: PairsSink, kv?: PairOf): void => {
    const one = (x: unknown): void => {
      if (!isPair(x)) notAPair(x);
      each(x as Pair);
    };
    if (kv !== undefined) withPairs(one, kv);
    source(many === undefined ? one : withMany(one, (xs) => many(xs, 0, xs.length, notAPair)));
  };
  try {
    if (aggregator !== undefined && w.mapSideCombine) {
      // The table of a partition's distinct keys counts against the worker's shuffle pool and spills sorted runs.
      const fns = { first: aggregator.createCombiner, merge: aggregator.mergeValue, mergeCombiners: aggregator.mergeCombiners };
      const addEncoded = out.addEncoded?.bind(out);
      const numPartitions = partitioner.numPartitions;
      const numbers =
        addEncoded === undefined
          ? undefined
          : Object.assign(
              (keys: Int32Array | string[], combiners: Float64Array, hashes?: Int32Array) =>
                placeColumns(keys, combiners, partitioner, addEncoded, hashes),
              // String keys under a hash partitioner are bucketed by the hashes the table keeps and stored as the
              // chars a peer is served (bucket-codec.ts, stringColumn): no string is made for a packed key, and
              // serving sends the stored chars. A user's partitioner needs the keys themselves: placeColumns.
              partitioner.constructor === HashPartitioner
                ? {
                    stringBuckets: {
                      parts: numPartitions,
                      put: (buckets: SparseBuckets<EncodedBucket>) => {
                        for (let i = 0; i < buckets.ids.length; i++) addEncoded(buckets.ids[i]!, buckets.list[i]!);
                      },
                    },
                  }
                : {},
            );
      combineExternally(pairs, fns, w.rddId, w.rddLabel, place, undefined, undefined, numbers);
    } else {
      pairs(place, undefined, (xs, from, to) => {
        for (let i = from; i < to; i++) {
          const x = xs[i];
          if (!isPair(x)) notAPair(x);
          place(x as Pair);
        }
      });
    }
    // Inside: the disk engine writes every run at close, and a full disk there left the runs written before it.
    return out.close();
  } catch (e) {
    out.abort?.();
    throw e;
  }
}

/**
 * Buckets groups held as columns (int32 or string keys, number combiners: a reduceByKey of numbers, a word count)
 * without a pair per group: each reduce partition's keys and combiners are copied into columns of their own, in
 * the groups' order, and handed to the writer encoded, as `place` and the writer's own encoding would have stored
 * them (string keys as a plain-array column; number combiners as doubles, which hold every value exactly). With
 * `hashes` (each key's `hashKey`, kept by the string table), a hash partitioner's choice is read from them.
 */
function placeColumns(
  keys: Int32Array | string[],
  combiners: Float64Array,
  partitioner: Partitioner,
  addEncoded: (reduceId: number, records: EncodedBucket) => void,
  hashes?: Int32Array,
): void {
  const n = keys.length;
  const parts = partitioner.numPartitions;
  // Scratch: each group's slot (its reduce partition's, see ReducerSlots), read only here. By slot, not by partition,
  // so that a map task's work follows its groups and the partitions it writes to, not R.
  const of = takeInt32(n);
  const slots = new ReducerSlots(parts);
  const counts = new Array<number>(slots.size).fill(0);
  if (hashes !== undefined && partitioner.constructor === HashPartitioner) slotsOfHashes(hashes, n, parts, slots, of, counts);
  else slotsOf(keys, partitioner, slots, of, counts);
  // The buckets' typed arrays come from this thread's pool: a fresh large typed array costs about as much as filling
  // it (page faults). The shuffle manager gives them back once the output no longer needs them (moved to disk,
  // dropped) and no local reader was handed them as views.
  const bucketValues = counts.map((c) => takeFloat64(c));
  const put = (keysOf: (s: number) => EncodedBucket['keys']): void => {
    for (let s = 0; s < counts.length; s++) {
      if (counts[s] !== 0) addEncoded(slots.reducer(s), { length: counts[s]!, keys: keysOf(s), values: { kind: 'f64', data: bucketValues[s]! } });
    }
  };
  if (!(keys instanceof Int32Array)) {
    // Each bucket's keys must be a packed array (as a clone or `encodeColumn` makes them: V8 clones an array with
    // holes, which `new Array(n)` has, entry by entry). Array.from of a length makes one packed at its full size,
    // so the copy neither grows arrays as pushes do nor leaves them holey.
    const bucketKeys = counts.map((c): string[] => Array.from({ length: c }));
    scatterStrings(keys, combiners, of, bucketKeys, bucketValues);
    giveBack(of);
    put((s) => ({ kind: 'any', data: bucketKeys[s]! }));
    return;
  }
  const bucketKeys = counts.map((c) => takeInt32(c));
  scatterInts(keys, combiners, of, bucketKeys, bucketValues);
  giveBack(of);
  put((s) => ({ kind: 'i32', data: bucketKeys[s]! }));
}

// placeColumns' loops, each a function of its own: a loop in a function called once per task is optimized on
// stack (OSR) while it runs, and V8 (Node 20) kept re-entering that code and leaving it again at the first
// statement after the loop, which had no type feedback when it was compiled (twice in every map task, the rest of
// the task's bucketing then interpreted; `--trace-deopt`). A function that is all loop has nothing after it.

/** What HashPartitioner.getPartition computes, from the hashes the table already has: each group's slot. */
function slotsOfHashes(hashes: Int32Array, n: number, parts: number, slots: ReducerSlots, of: Int32Array, counts: number[]): void {
  const mask = powerOfTwoMask(parts);
  for (let i = 0; i < n; i++) {
    const s = slots.slot(partitionOfHash(hashes[i]!, parts, mask));
    if (s === counts.length) counts.push(0);
    of[i] = s;
    counts[s]!++;
  }
}

function slotsOf(keys: Int32Array | string[], partitioner: Partitioner, slots: ReducerSlots, of: Int32Array, counts: number[]): void {
  for (let i = 0; i < keys.length; i++) {
    const s = slots.slot(partitioner.getPartition(keys[i]));
    if (s === counts.length) counts.push(0);
    of[i] = s;
    counts[s]!++;
  }
}

function scatterInts(keys: Int32Array, combiners: Float64Array, of: Int32Array, bucketKeys: Int32Array[], bucketValues: Float64Array[]): void {
  const at = new Int32Array(bucketKeys.length); // by slot
  for (let i = 0; i < keys.length; i++) {
    const s = of[i]!;
    const j = at[s]!++;
    bucketKeys[s]![j] = keys[i]!;
    bucketValues[s]![j] = combiners[i]!;
  }
}

/** scatterInts for string keys: the same loop kept apart so that each one's loads see one kind of key column. */
function scatterStrings(keys: string[], combiners: Float64Array, of: Int32Array, bucketKeys: string[][], bucketValues: Float64Array[]): void {
  const at = new Int32Array(bucketKeys.length); // by slot
  for (let i = 0; i < keys.length; i++) {
    const s = of[i]!;
    const j = at[s]!++;
    bucketKeys[s]![j] = keys[i]!;
    bucketValues[s]![j] = combiners[i]!;
  }
}
