/**
 * The shuffle's own vocabulary on the wire: what a map task is told to write, what a reduce task is told to
 * read, what a map task reports, and what a bucket is. The driver's scheduler and the workers' executors both
 * speak it; it belongs here, with the code that writes and reads shuffles.
 */
import type { PartitionerWire } from '../core/partitioner.js';
import type { AggregatorWire } from './aggregator.js';
import type { SharedOutputHandle } from './shared-output.js';
import type { SparseBuckets } from './sparse-buckets.js';

export interface ShuffleWriteWire {
  readonly shuffleId: number;
  readonly partitioner: PartitionerWire;
  readonly aggregator?: AggregatorWire;
  readonly mapSideCombine: boolean;
  /** The RDD on the reduce side, named in errors from its functions. */
  readonly rddId: number;
  readonly rddLabel: string;
}

export interface ShuffleReadWire {
  readonly shuffleId: number;
  readonly reduceId: number;
  /**
   * The map outputs to read, when only some are (MapOutputTracker.reads: those whose bucket `reduceId` holds
   * records); `locations[i]` is then the worker holding output `mapIds[i]`. Without it, every output is read and
   * `locations` is indexed by map id.
   */
  readonly mapIds?: readonly number[];
  /** Worker holding each map output read (see `mapIds`). */
  readonly locations: readonly number[];
  /**
   * The map outputs to read from shared memory instead of fetching them (local mode: see shared-output.ts), by map id,
   * with the slot of bucket `reduceId` in each (`sharedSlots[i]` for `sharedMaps[i]`). The worker holds their handles
   * (sent once, in `handles` of an earlier task or this one); an output it has no handle of is fetched from its
   * location, as is any other.
   */
  readonly sharedMaps?: readonly number[];
  readonly sharedSlots?: readonly number[];
  /** Handles of shared outputs of this shuffle the task's worker was not sent before, by map id: it keeps them. */
  readonly handles?: ReadonlyArray<readonly [mapId: number, handle: SharedOutputHandle]>;
}

/** Record counts per reduce partition written by one map task. */
export interface MapStatus {
  /**
   * Dense, or only the reducers written to (SparseBuckets): a status per map task of R counts was M x R numbers cloned
   * to the driver per shuffle (SparkTC's 16,384 x 16,384: 2 GB), for a few records per map task.
   */
  readonly sizes: readonly number[] | SparseBuckets<number>;
  /** The output in shared memory, when its writer shares it (local mode only; see shared-output.ts). */
  readonly shared?: SharedOutputHandle;
}

/** One shuffle bucket: the records of one map output for one reduce partition. */
export type Bucket = ReadonlyArray<[unknown, unknown]>;
