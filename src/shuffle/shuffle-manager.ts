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

/**
 * A position in one map output's bucket as served in parts: a spilled bucket is served run by run (a key's
 * records keep their order across runs), then what stayed in memory, so no part needs the whole bucket merged in
 * memory first. `segment` counts the runs, then the in-memory rest; `offset` is a record in it. The in-memory rest,
 * spilled while a reducer is part way through it, becomes the next run in the same order: the cursor still holds.
 */
export interface BucketCursor {
  readonly segment: number;
  readonly offset: number;
}

export const BUCKET_START: BucketCursor = { segment: 0, offset: 0 };

/** An answer of `fetchParts`: buckets (or parts) of the map ids asked, in order, and where to go on if not all. */
export interface BucketParts {
  readonly buckets: EncodedBucket[];
  /** Ask again from `mapIds[index]`, at `at` in its bucket. */
  readonly rest?: { readonly index: number; readonly at: BucketCursor };
}

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
  /**
   * The same buckets, encoded, from `at` in the first one, until about `maxBytes` are served: the last one may be a
   * part of its bucket, and `rest` says where to ask again. A reducer then never receives more than a bounded
   * amount at once (a structured clone or a deserialization cannot be interrupted to check the heap). `readOnly` as
   * for `fetchEncoded`. `stopped` (a task of this worker reading) throws once that task was asked to stop: a part read
   * from run files takes a while (never passed when serving a peer, whose fetch this thread's task must not end).
   */
  fetchParts?(
    shuffleId: number,
    mapIds: readonly number[],
    reduceId: number,
    at: BucketCursor,
    maxBytes: number,
    readOnly?: boolean,
    stopped?: () => void,
  ): BucketParts;
  remove(shuffleId: number): void;
  /**
   * Looks whether outputs held here in shared memory were read in full (by reduce tasks of any worker, which tell the
   * writer nothing), to move them to disk: optional, for managers that share outputs (spilling-shuffle-manager.ts).
   */
  pollShared?(): void;
  /** Deletes everything (worker shutdown). */
  close(): void;
}
