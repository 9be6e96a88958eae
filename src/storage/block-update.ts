/** What the block store reports to the driver, and what a computation sees of it. */

/** A change to a cached partition on a worker: where it is now (both sizes 0: no longer cached there). */
export interface BlockUpdate {
  readonly rddId: number;
  readonly partition: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly change: 'added' | 'evicted' | 'spilled' | 'dropped';
}

/** What a partition's computation can do with the worker's cached blocks. */
export interface CachedBlocks {
  /** The cached values of an RDD partition on this worker, if any. */
  get(rddId: number, partition: number): readonly unknown[] | undefined;
  /** Stores a computed partition under the RDD's storage level. */
  put(rddId: number, partition: number, values: readonly unknown[], level: string): void;
}
