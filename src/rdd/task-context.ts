/**
 * What a partition's computation can reach inside a worker: its task's identity, the worker's cached blocks, and
 * the inputs the task runner fetched before computing (shuffle buckets, parallelized slices). Computation itself
 * is synchronous; everything asynchronous (fetching from peers, compiling functions) happens before it starts.
 */
import type { Pair } from '../core/pair.js';
import type { NumberColumnsSink } from '../shuffle/combine.js';
import type { CachedBlocks } from '../storage/block-update.js';

export type { Pair, CachedBlocks };

export interface TaskContext {
  readonly stageId: number;
  readonly partition: number;
  readonly attempt: number;
  readonly blocks: CachedBlocks;
  /**
   * The records of one reduce partition of a shuffle, bucket by bucket in map-id order (a large bucket may come as
   * several consecutive slices); each call reads the input anew.
   */
  shuffleInput(shuffleId: number, reduceId: number): Iterable<ReadonlyArray<Pair>>;
  /**
   * The same input as buckets still in memory plus key-sorted run files the worker spilled while fetching, for
   * readers that merge-read runs (aggregating shuffles); absent where nothing spills.
   */
  shuffleInputParts?(
    shuffleId: number,
    reduceId: number,
  ): {
    buckets: Iterable<ReadonlyArray<Pair>>;
    runs: readonly string[];
    /**
     * Reads the same buckets instead of `buckets`: records of number values (int32 keys, or any keys) as columns to
     * `numbers` where the input holds them so, others as pairs to `each`, in the same order.
     */
    read?: (each: (kv: Pair) => void, numbers: NumberColumnsSink) => void;
    /** The most records of one map output still in memory, and the records of all of them. */
    largestBucket?: number;
    inMemoryRecords?: number;
  };
  /** Data shipped with the task for a leaf partition (parallelize). */
  payload(rddId: number, partition: number): readonly unknown[];
  /** Counts a computation of one of an RDD's partitions (not a cache hit), for the recomputation hints. */
  computed?(rddId: number): void;
  /** Counts what a leaf RDD read from its input (records, and bytes where known), for the task's metrics. */
  inputRead?(records: number, bytes: number): void;
  /** Counts what a save action wrote to its output (records, and bytes as written), for the task's metrics. */
  outputWritten?(records: number, bytes: number): void;
}
