/**
 * Shuffle managers: where a worker keeps the map outputs of shuffles, and how it serves them to reducers (its
 * own tasks and its peers). The context chooses one implementation for all workers:
 * - MemoryShuffleManager (the memory engine): buckets stay in memory; a map task whose output outgrows the
 *   shuffle budget spills sorted runs to disk, merged again when a reducer fetches them.
 * - DiskShuffleManager (the mapreduce engine): Hadoop-style, every map output is sorted and written to disk
 *   as per-reducer runs, and reducers merge-read them.
 */
import type { Bucket, MapStatus } from './wire.js';
import type { Pair } from './combine.js';
import type { EncodedBucket } from './bucket-codec.js';

/** Receives one map task's records, already assigned to reduce partitions. */
export interface MapOutputWriter {
  add(reduceId: number, kv: Pair): void;
  /**
   * Adds records already encoded as columns (bucket-codec.ts), after those added before: what `add` of each of
   * them would do. Optional: a writer without it is given the records one by one.
   */
  addEncoded?(reduceId: number, records: EncodedBucket): void;
  /** Ends the map task's output and stores it; returns the record count of each reduce partition. */
  close(): MapStatus;
  /** Drops what a failed map task wrote so far (its memory and run files). */
  abort?(): void;
}

export interface ShuffleManager {
  writer(shuffleId: number, mapId: number, numReducers: number): MapOutputWriter;
  /** Bucket `reduceId` of each listed map output held here, in the order asked; throws naming a missing one. */
  fetchBuckets(shuffleId: number, mapIds: readonly number[], reduceId: number): Bucket[];
  /**
   * The same buckets in the encoding peers receive (bucket-codec.ts), when the manager stores them that way: served
   * without decoding and encoding again. Its typed arrays are the caller's to transfer, unless `readOnly` (a task of
   * this worker that only reads them): then they may be the stored ones, not copied.
   */
  fetchEncoded?(shuffleId: number, mapIds: readonly number[], reduceId: number, readOnly?: boolean): EncodedBucket[];
  remove(shuffleId: number): void;
  /** Deletes everything (worker shutdown). */
  close(): void;
}
