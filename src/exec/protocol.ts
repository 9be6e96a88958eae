/**
 * The driver <-> executor protocol: every message is plain data (structured-clonable), so the same messages can
 * travel to executors in other threads, processes or machines; nothing here names a transport. Executors never
 * throw across this boundary: a task always comes back as a TaskOutcome, and a failure is a value naming its
 * kind. Each transport (today `local/`: worker threads over comlink) defines how these messages move.
 */
import type { EngineName } from './engines.js';
import { toErrorInfo, type ErrorInfo } from '../core/errors.js';
import type { AccumulatorKind } from '../closure/index.js';
import { findUnclonable } from '../closure/clonable.js';
import type { BlockUpdate } from '../storage/block-update.js';
import type { MapStatus, ShuffleReadWire, ShuffleWriteWire } from '../shuffle/wire.js';
import type { RddWire } from '../rdd/rdd.js';
import type { ResultFunctionWire } from '../rdd/result-functions.js';

/** How many stage attempts' RDD descriptions a worker keeps (the driver mirrors the same FIFO). */
export const STAGES_CACHED = 128;

export interface TaskMessage {
  readonly taskId: number;
  readonly jobId: number;
  readonly stageId: number;
  readonly stageAttempt: number;
  readonly partition: number;
  readonly attempt: number;
  /** The epoch of the worker incarnation this task was built for (a replacement refuses it). */
  readonly epoch: number;
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
  /**
   * Cached partitions the task reads that are held by other workers only (Spark's remote cached-block read): fetched
   * before the computation. The input below each (`fallbackReads`; leaf data is in `payloads` anyway) is read only
   * when its fetch fails (the holder died, or evicted the block), and the partition is computed again from it.
   */
  readonly remoteBlocks?: readonly RemoteBlockWire[];
  /** Test hook of the fault-injection API: delay before computing. */
  readonly delayMs?: number;
  /**
   * Set by a backend that sent the task to a worker with nothing of its own running or queued there: no task is
   * ahead of it, so the driver never moves it, and the worker need not look for a cancellation before it starts.
   */
  alone?: true;
}

/** A cached partition to fetch from another worker (see `TaskMessage.remoteBlocks`). */
export interface RemoteBlockWire {
  readonly rddId: number;
  readonly partition: number;
  /** The RDD's cache generation (see `RDD.cacheGeneration`). */
  readonly generation: number;
  /** Workers holding the block, as the driver's cache tracker knows them; asked in order. */
  readonly workers: readonly number[];
  /** Shuffle reads below the partition, needed only to compute it again. */
  readonly fallbackReads: readonly ShuffleReadWire[];
}

export type TaskFailure =
  | { readonly kind: 'exception'; readonly error: ErrorInfo }
  /** `epoch`: the incarnation of `workerIndex` that could not serve the output (-1: unknown). */
  | {
      readonly kind: 'fetchFailed';
      readonly shuffleId: number;
      readonly mapId: number;
      readonly workerIndex: number;
      readonly epoch: number;
      readonly message: string;
    }
  /**
   * `causedByApp`: the worker ended on its own (a thread that exited, ran out of memory or crashed; a task past
   * taskTimeoutMs): the fault of the task it was computing. False when the driver ended it (fault injection, stop),
   * when Redis lost the executor's registration, or when `executorLost`: the executor process holding the worker was
   * lost (its process ended, it stopped beating or answering), which may or may not be the task's doing (Spark's
   * ExecutorLostFailure with exitCausedByApp false; the scheduler bounds how often a task may be computing on one).
   */
  | {
      readonly kind: 'workerLost';
      readonly workerIndex: number;
      readonly message: string;
      readonly causedByApp: boolean;
      readonly executorLost?: boolean;
      /**
       * The loss concerns this task alone (it computed past taskTimeoutMs, its result could not be fetched), not every
       * task its worker held: it counts whether or not the driver saw the worker computing it.
       */
      readonly thisTask?: boolean;
    }
  /** Cancelled by the driver (the other copy of a speculative task won). */
  | { readonly kind: 'killed'; readonly message: string }
  /** The task's result is larger than maxResultSize: not retried, the job fails. */
  | { readonly kind: 'resultTooLarge'; readonly bytes: number; readonly limit: number }
  /**
   * The task could not be sent: the structured clone or serializer refused its data (a function or a symbol in a
   * parallelized collection or a captured value). Not retried, the job fails, as Spark's "Failed to serialize task,
   * not attempting to retry it": the same data would be refused again.
   */
  | { readonly kind: 'notSerializable'; readonly message: string }
  /**
   * The task ran, but its result cannot reach the driver: the structured clone or serializer refused it (a function,
   * a symbol, a WeakMap in it) or it holds a class instance that would arrive without its methods. Not retried, the
   * job fails, as Spark's "had a not serializable result": the same function on the same input returns it again.
   */
  | { readonly kind: 'resultNotSerializable'; readonly error: ErrorInfo };

/**
 * Measured by the worker for one task attempt. Byte counts are estimates from sampled records (JS has no exact
 * object sizes). A worker interleaves its queued tasks where they wait (compiling, fetching), so `durationMs`
 * (wall clock from the task taking the thread to its outcome) can include another task's computing; `runMs`
 * is the task's own synchronous computation and is what the skew check compares.
 */
export interface TaskMetrics {
  readonly durationMs: number;
  /** Computing the partition (user functions, shuffle write, result function): the thread was this task's. */
  readonly runMs: number;
  /** Rebuilding the stage's RDDs and compiling the shipped functions (0 when the worker reused them). */
  readonly compileMs: number;
  /** Garbage collection pauses in the worker while the task ran (they may include other threads' work). */
  readonly gcMs: number;
  /** Waiting for shuffle buckets from this worker's store and its peers. */
  readonly fetchWaitMs: number;
  /**
   * Records the task read from its input (Spark's input metrics): its leaf RDDs (parallelized slices, lines of
   * text files, whole files) and the cached partitions it read instead of computing them (from its own worker's
   * store or, a remote cached-block read, another's).
   */
  readonly inputRecords: number;
  /** Bytes of input files the task read (0 for parallelized data), plus the size of the cached partitions it read. */
  readonly inputBytes: number;
  readonly shuffleReadRecords: number;
  readonly shuffleReadBytes: number;
  readonly shuffleWriteRecords: number;
  readonly shuffleWriteBytes: number;
  /** Records written to an output by this task (saveAsTextFile and the other save actions: Spark's output metrics). */
  readonly outputRecords: number;
  /** Bytes of those records as written to the output file (after compression). */
  readonly outputBytes: number;
  /**
   * Sorted runs the worker's shuffle memory pool spilled to disk while this task ran (map outputs, combine
   * tables, fetched input; a spill the task's growth forced on another holder counts here too).
   */
  readonly spillCount: number;
  /** Estimated in-memory size of what those spills moved to disk (Spark's memoryBytesSpilled). */
  readonly memoryBytesSpilled: number;
  /** Bytes those spills wrote to disk (Spark's diskBytesSpilled). */
  readonly diskBytesSpilled: number;
  /** Records sent back to the driver (elements of the result when it is an array). */
  readonly resultRecords: number;
  /** Estimated size of the result sent to the driver. */
  readonly resultBytes: number;
  /** Up to three keys the task read from its shuffle input (JSON, cut short): names a skewed key. */
  readonly keySample?: readonly string[];
}

/** Task metrics with every figure 0 except those given: outcomes made outside a worker (tests, scheduler benchmarks). */
export function zeroTaskMetrics(given: Partial<TaskMetrics> = {}): TaskMetrics {
  return {
    durationMs: 0,
    runMs: 0,
    compileMs: 0,
    gcMs: 0,
    fetchWaitMs: 0,
    inputRecords: 0,
    inputBytes: 0,
    shuffleReadRecords: 0,
    shuffleReadBytes: 0,
    shuffleWriteRecords: 0,
    shuffleWriteBytes: 0,
    outputRecords: 0,
    outputBytes: 0,
    spillCount: 0,
    memoryBytesSpilled: 0,
    diskBytesSpilled: 0,
    resultRecords: 0,
    resultBytes: 0,
    ...given,
  };
}

/** Every outcome names the epoch of the worker incarnation that produced it (or that was lost). */
export type TaskOutcome =
  | {
      readonly status: 'success';
      readonly epoch: number;
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
      readonly epoch: number;
      readonly failure: TaskFailure;
      readonly blockUpdates: readonly BlockUpdate[];
      readonly metrics?: TaskMetrics;
    };

/** The outcome of a task that could not be sent (`where`: how it was to go): see TaskFailure 'notSerializable'. */
export function unsendable(taskId: number, epoch: number, e: unknown, where: string): TaskOutcome {
  return {
    status: 'failed',
    epoch,
    failure: { kind: 'notSerializable', message: `task ${taskId} could not be ${where}: ${(e as Error)?.message ?? e}` },
    blockUpdates: [],
  };
}

/**
 * The failure of a task whose result the clone or serializer refused with `e`, naming where the cause sits (in the
 * result `value`, or in a custom accumulator's copy going back with it); undefined when `e` is not such a refusal
 * (out of memory, a full disk: worth another attempt). Looked for only once sending failed, so a result that
 * travels costs nothing more.
 */
export function unsendableResult(
  task: Pick<TaskMessage, 'taskId' | 'partition' | 'resultFn'>,
  value: unknown,
  e: unknown,
  accumulators: ReadonlyArray<readonly [number, unknown]> = [],
): Extract<TaskFailure, { kind: 'resultNotSerializable' }> | undefined {
  const refusal = toErrorInfo(e);
  // postMessage's DataCloneError, v8.serialize's plain "X could not be cloned."
  if (refusal.name !== 'DataCloneError' && !/could not be cloned/.test(refusal.message)) return undefined;
  let problem = findUnclonable(value, 'result');
  for (let i = 0; problem === undefined && i < accumulators.length; i++) {
    problem = findUnclonable(accumulators[i]![1], `the task's copy of accumulator ${accumulators[i]![0]}`);
  }
  // findUnclonable speaks of captured values; a result has no env entries to declare.
  const what = problem?.reason.replace(/ nested inside another value; declare it as its own env entry$/, '');
  const at = problem === undefined ? '' : `; ${problem.path} is ${what}`;
  return {
    kind: 'resultNotSerializable',
    error: {
      name: 'DataCloneError',
      message:
        `task ${task.taskId} could not be returned to the driver: ${refusal.message.replace(/\.$/, '')}${at} (the result of ` +
        `${task.resultFn?.kind ?? 'the task'} for partition ${task.partition}). Results of actions and accumulators must be plain data (numbers, strings, arrays, plain objects, ` +
        'Map, Set, typed arrays, Date): turn functions, symbols and class instances into plain values before they cross',
    },
  };
}

export interface WorkerInit {
  readonly workerIndex: number;
  /** Which incarnation of this index the worker is. */
  readonly epoch: number;
  /** This incarnation's executor id (Spark's): unique in the application, never reused by a replacement. */
  readonly executorId: string;
  /** How long a fetch from a peer may take before it fails as a fetch failure (Spark's spark.network.timeout). */
  readonly fetchTimeoutMs: number;
  readonly storageBytes: number;
  /** This worker's folder for spilled and disk-only blocks. */
  readonly spillDir: string;
  /** Largest result a task may send back (Spark's spark.driver.maxResultSize). */
  readonly maxResultBytes: number;
  readonly engine: EngineName;
  /**
   * Estimated bytes of shuffle data the worker keeps in memory (its shuffle pool, shared by stored map outputs
   * and running combines in the memory engine) before spilling sorted runs.
   */
  readonly shuffleSpillBytes: number;
  /** Where the mapreduce engine writes job results. */
  readonly jobOutputRoot: string;
  /**
   * `jobOutputRoot` is on this worker's own disk, which the driver cannot read (a cluster executor): the
   * mapreduce engine sends each committed result file's bytes back with the task's outcome.
   */
  readonly jobOutputIsLocal?: boolean;
  /**
   * The workers are threads of this process (the local backend; never a cluster executor): the memory engine keeps
   * map outputs in shared memory, and reducers read them without a fetch (shuffle/shared-output.ts).
   */
  readonly sharedShuffleOutputs?: boolean;
  /**
   * The starting process's own flags (`process.execArgv`; a local pool's workers get only some of them): part of the
   * name of the bundle's code cache, which V8 rejects under other flags (exec/local/worker-start.cts).
   */
  readonly processFlags?: string;
  /** Shared with the thread's host, which writes the ids of tasks to stop there (core/task-interrupt.ts). */
  readonly interrupts?: SharedArrayBuffer;
  /**
   * One Int32 the thread writes its OS thread id into at start (Linux; left 0 elsewhere): its host reads the
   * thread's CPU time and state by it, so that a cancelled task's kill grace does not pass while the thread only
   * waits for a CPU (exec/local/worker-pool.ts, killTask).
   */
  readonly osThread?: SharedArrayBuffer;
}
