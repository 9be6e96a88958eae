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
  /** The block's generation (`RDD.cacheGeneration`), when above 0: the driver ignores updates of a generation it rolled back. */
  readonly generation?: number;
}

/** What a partition's computation can do with the worker's cached blocks. */
export interface CachedBlocks {
  /**
   * The cached values of an RDD partition on this worker, if any: an array, or columns (numbers and pairs of
   * numbers) whose elements are built as they are read (see columnar-block.ts).
   */
  get(rddId: number, partition: number, generation?: number): CachedPartition | undefined;
  /**
   * Stores a computed partition (its elements, or the columns a computation ended with) under the RDD's storage level,
   * as a block of the RDD's cache generation (0 when not given); a block of a generation older than one the store
   * has seen for the RDD is refused: it was computed from input that has been computed again since.
   */
  put(rddId: number, partition: number, values: CachedPartition, level: string, generation?: number): void;
}
