/** What the block store reports to the driver, and what a computation sees of it. */
import type { CachedPartition } from './columnar-block.js';

export type { CachedPartition };

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
  /**
   * The cached values of an RDD partition on this worker, if any: an array, or columns (numbers and pairs of
   * numbers) whose elements are built as they are read (see columnar-block.ts).
   */
  get(rddId: number, partition: number): CachedPartition | undefined;
  /** Stores a computed partition (its elements, or the columns a computation ended with) under the RDD's storage level. */
  put(rddId: number, partition: number, values: CachedPartition, level: string): void;
}
