/**
 * The driver <-> worker protocol: every message is plain data (structured-clonable), so the same messages can
 * later travel to executors in other processes or machines. Workers never throw across this boundary: a task
 * always comes back as a TaskOutcome, and a failure is a value naming its kind.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ErrorInfo } from '../core/errors.js';
import type { PartitionerWire } from '../core/partitioner.js';
import type { AggregatorWire } from '../shuffle/aggregator.js';
import type { RddWire } from '../rdd/rdd.js';
import type { ResultFunctionWire } from '../rdd/result-functions.js';

export type AccumulatorKind = 'sum' | 'list';

/** How many stage attempts' RDD descriptions a worker keeps (the driver mirrors the same FIFO). */
export const STAGES_CACHED = 128;

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
  /** Worker holding each map output, indexed by map id. */
  readonly locations: readonly number[];
}

export interface TaskMessage {
  readonly taskId: number;
  readonly jobId: number;
  readonly stageId: number;
  readonly stageAttempt: number;
  readonly partition: number;
  readonly attempt: number;
  /** Names the stage attempt whose RDDs this task computes. */
  readonly stageKey: string;
  /**
   * The stage's RDDs, parents before children: sent with the first task of a stage attempt a worker runs, then
   * kept there (both sides remember the last STAGES_CACHED stage attempts per worker, oldest forgotten first).
   */
  readonly rdds?: readonly RddWire[];
  readonly finalRddId: number;
  /** Leaf data this task needs: parallelized slices, input splits. */
  readonly payloads: ReadonlyArray<readonly [rddId: number, partition: number, data: readonly unknown[]]>;
  readonly shuffleReads: readonly ShuffleReadWire[];
  readonly shuffleWrite?: ShuffleWriteWire;
  readonly resultFn?: ResultFunctionWire;
  /** Broadcast values this worker has not received yet. */
  readonly broadcasts: ReadonlyArray<readonly [id: number, value: unknown]>;
  readonly accumulators: ReadonlyArray<readonly [id: number, kind: AccumulatorKind]>;
  /** Test hook of the fault-injection API: delay before computing. */
  readonly delayMs?: number;
}

/** Record counts per reduce partition written by one map task. */
export interface MapStatus {
  readonly sizes: readonly number[];
}

/** A change to a cached partition on a worker: where it is now (both sizes 0: no longer cached there). */
export interface BlockUpdate {
  readonly rddId: number;
  readonly partition: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly change: 'added' | 'evicted' | 'spilled' | 'dropped';
}

export type TaskFailure =
  | { readonly kind: 'exception'; readonly error: ErrorInfo }
  | { readonly kind: 'fetchFailed'; readonly shuffleId: number; readonly mapId: number; readonly workerIndex: number; readonly message: string }
  /** `causedByApp` is false when the driver killed the worker (fault injection, stop): not the task's fault. */
  | { readonly kind: 'workerLost'; readonly workerIndex: number; readonly message: string; readonly causedByApp: boolean }
  /** Cancelled by the driver (the other copy of a speculative task won). */
  | { readonly kind: 'killed'; readonly message: string }
  /** The task's result is larger than maxResultSize: not retried, the job fails. */
  | { readonly kind: 'resultTooLarge'; readonly bytes: number; readonly limit: number };

export interface TaskMetrics {
  readonly durationMs: number;
  readonly shuffleReadRecords: number;
  readonly shuffleWriteRecords: number;
  /** Estimated size of the result sent to the driver. */
  readonly resultBytes: number;
}

export type TaskOutcome =
  | {
      readonly status: 'success';
      readonly value?: unknown;
      readonly mapStatus?: MapStatus;
      readonly accumulators: ReadonlyArray<readonly [number, unknown]>;
      /** RDDs whose partitions this task computed (rather than read from the cache). */
      readonly computedRdds: readonly number[];
      readonly blockUpdates: readonly BlockUpdate[];
      readonly metrics: TaskMetrics;
    }
  | {
      readonly status: 'failed';
      readonly failure: TaskFailure;
      readonly blockUpdates: readonly BlockUpdate[];
      readonly metrics?: TaskMetrics;
    };

/** One shuffle bucket: the records of one map output for one reduce partition. */
export type Bucket = ReadonlyArray<[unknown, unknown]>;

/** What a worker serves to its peers: shuffle buckets it holds. */
export interface ShuffleService {
  /** Buckets `reduceId` of the given map outputs, in the order asked; throws naming a missing one. */
  fetchBuckets(shuffleId: number, mapIds: readonly number[], reduceId: number): Bucket[];
}

/** What the driver calls on a worker. */
export interface WorkerApi extends ShuffleService {
  runTask(task: TaskMessage): Promise<TaskOutcome>;
  /** Connects this worker to peer `index`: `callPort` reaches the peer's shuffle service, `servePort` serves it ours. */
  connectPeer(index: number, callPort: MessagePort | null, servePort: MessagePort | null): void;
  removeShuffle(shuffleId: number): void;
  removeRdd(rddId: number): BlockUpdate[];
  removeBroadcast(id: number): void;
  /** Best effort: a task still waiting (queued or delayed) ends as `killed`; a computing one cannot be stopped. */
  cancelTask(taskId: number): void;
  /** A peer died: fail fetches waiting on it. */
  peerLost(index: number): void;
  ping(): number;
}

export interface WorkerInit {
  readonly workerIndex: number;
  readonly storageBytes: number;
  /** This worker's folder for spilled and disk-only blocks. */
  readonly spillDir: string;
  /** Largest result a task may send back (Spark's spark.driver.maxResultSize). */
  readonly maxResultBytes: number;
  readonly engine: 'memory' | 'mapreduce';
  /**
   * Estimated bytes of shuffle data the worker keeps in memory (its shuffle pool, shared by stored map outputs
   * and running combines in the memory engine) before spilling sorted runs.
   */
  readonly shuffleSpillBytes: number;
  /** Where the mapreduce engine writes job results. */
  readonly jobOutputRoot: string;
}
