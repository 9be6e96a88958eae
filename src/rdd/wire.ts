/**
 * The RDD wire contract: the one list of RDD kinds a worker can rebuild, with the arguments each kind sends.
 * An RDD class describes itself with `wireBody()` (checked against this list); the worker's registry has one
 * factory per kind (checked against it too, so a kind without a factory does not compile).
 *
 * Adding an RDD kind: add its entry to `RddWireArgs`, return `{ kind, args }` from its `wireBody()`, and add its
 * factory to `registry.ts`. Arguments are plain data and shipped functions (never live functions or classes).
 */
import type { ShippedFunction } from '../closure/index.js';
import type { ElementOp } from './mapped-rdd.js';
import type { PartitionOpWire } from './map-partitions-rdd.js';
import type { RangeArgs } from './range-rdd.js';
import type { ShuffleSpec } from './shuffled-rdd.js';
import type { CsvReadOptions } from './csv-file-rdd.js';
import type { StorageLevel } from '../storage/storage-level.js';

/** Each RDD kind and the arguments a worker needs to rebuild it. */
export interface RddWireArgs {
  /** Slices travel per task as payloads, not with the stage. */
  ParallelCollectionRDD: null;
  RangeRDD: RangeArgs;
  EmptyRDD: null;
  MappedRDD: { readonly op: ElementOp; readonly fn: ShippedFunction | undefined };
  MapAsyncRDD: { readonly fn: ShippedFunction; readonly concurrency: number };
  MapPartitionsRDD: PartitionOpWire;
  UnionRDD: { readonly counts: readonly number[] };
  PartitionerAwareUnionRDD: null;
  CoalescedRDD: { readonly numPartitions: number; readonly groups?: readonly (readonly number[])[] };
  CartesianRDD: null;
  ZippedPartitionsRDD2: null;
  ZippedWithIndexRDD: { readonly offsets: readonly number[] | undefined };
  ShuffledRDD: { readonly shuffleId: number; readonly spec: ShuffleSpec; readonly numPartitions: number };
  CoGroupedRDD: {
    readonly numPartitions: number;
    readonly sources: ReadonlyArray<{ readonly type: 'narrow'; readonly rddId: number } | { readonly type: 'shuffle'; readonly shuffleId: number }>;
  };
  /** Splits travel per task as payloads. */
  TextFileRDD: { readonly path: string; readonly numPartitions: number };
  /** Splits travel per task as payloads. */
  CsvFileRDD: { readonly path: string; readonly numPartitions: number } & CsvReadOptions;
  ReliableCheckpointRDD: { readonly dir: string };
  /** `of`: the label of the locally checkpointed RDD, for the error when its block is lost. */
  LocalCheckpointRDD: { readonly of: string };
  WholeTextFileRDD: { readonly path: string; readonly numPartitions: number };
  /** File groups travel per task as payloads. */
  BinaryFileRDD: { readonly path: string; readonly numPartitions: number };
  /** Record-aligned splits travel per task as payloads. */
  BinaryRecordsRDD: { readonly path: string; readonly recordLength: number; readonly numPartitions: number };
}

export type RddKind = keyof RddWireArgs;

/** What an RDD class says of itself: its kind and that kind's arguments. */
export type RddWireBody = { [K in RddKind]: { readonly kind: K; readonly args: RddWireArgs[K] } }[RddKind];

/** One RDD as a worker receives it: identity, label, partition count, storage level, narrow parents, body. */
export type RddWire = RddWireBody & {
  readonly id: number;
  /** The name or origin (`map at job.ts:12`) the worker shows in its label. */
  readonly label: string;
  readonly numPartitions: number;
  readonly storageLevel: StorageLevel['name'];
  /** `RDD.cacheGeneration`, when above 0: the generation of cached blocks the task reads and writes. */
  readonly cacheGeneration?: number;
  /** Parent RDDs the worker must rebuild first (narrow parents only; shuffle parents are read as shuffle input). */
  readonly parents: readonly number[];
};

/** The wire of one kind, for that kind's factory. */
export type RddWireOf<K extends RddKind> = Extract<RddWire, { readonly kind: K }>;
