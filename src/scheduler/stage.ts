/**
 * Stages: a set of tasks that run the same pipelined functions over the partitions of one RDD, bounded by
 * shuffle dependencies. A ShuffleMapStage writes a shuffle's map outputs and is shared by every job that reads
 * that shuffle (so later jobs reuse its outputs); a ResultStage computes an action's function for one job.
 */
import type { ShuffleDependency } from '../rdd/dependency.js';
import type { RDD, ResultFunctionWire } from '../rdd/index.js';

/** Takes result `index` (of the job's partition list) on the driver; must not throw. */
export type ResultHandler = (index: number, result: unknown) => void;

export interface ActiveJob {
  readonly jobId: number;
  readonly description: string;
  readonly stage: ResultStage;
  readonly results: unknown[];
  readonly done: boolean[];
  remaining: number;
  /**
   * The tasks the job runs as it starts (Spark's JobData.numTasks): its result tasks and the map tasks of every
   * shuffle below it whose output is missing then. Stages whose output is there already (skipped) do not count.
   */
  readonly numTasks: number;
  /** Map tasks of this job's stages that succeeded since it started (each partition once per attempt of its stage). */
  mapTasksCompleted: number;
  /** Estimated bytes of results received so far (checked against maxResultSize). */
  resultBytes: number;
  /** A finished result task's accumulator updates were merged: running its partition again would count them twice. */
  accumulatorsCounted: boolean;
  /**
   * Called with each partition's result as soon as it and every earlier partition have arrived (Spark's
   * JobListener.taskSucceeded, in partition order), so the action merges while later tasks still run.
   */
  readonly onResult: ResultHandler | undefined;
  /**
   * `onResult` takes each result as soon as it arrives, whatever the partitions before it (an action whose merge
   * cannot observe the order: collectAsMap of a hash-partitioned RDD, where no key is in two partitions).
   */
  readonly inArrivalOrder: boolean;
  /** Results handed to `onResult` so far: partitions `0 .. delivered - 1` of the job's list (in partition order). */
  delivered: number;
  readonly resolve: (results: unknown[]) => void;
  readonly reject: (error: Error) => void;
}

abstract class StageBase {
  /** Attempts so far; the next attempt gets this number. */
  nextAttempt = 0;
  /** Consecutive attempts that ended in a fetch failure. */
  failedAttempts = 0;
  /**
   * The first attempt whose task ends count: attempts before it ran over input that has since been computed
   * again with other records (an indeterminate parent's rollback), so their late outputs and results are dropped.
   */
  firstValidAttempt = 0;
  readonly jobIds = new Set<number>();

  constructor(
    readonly id: number,
    readonly rdd: RDD<unknown>,
    readonly parents: readonly Stage[],
    readonly firstJobId: number,
  ) {}

  get numPartitions(): number {
    return this.rdd.getNumPartitions();
  }

  /** How the progress bar and logs name the stage. */
  abstract get name(): string;
}

export class ShuffleMapStage extends StageBase {
  readonly kind = 'shuffleMap';
  /** Partitions of the current attempt still without output. */
  pending = new Set<number>();
  constructor(
    id: number,
    readonly dep: ShuffleDependency,
    parents: readonly Stage[],
    firstJobId: number,
  ) {
    super(id, dep.rdd, parents, firstJobId);
  }
  get name(): string {
    return `shuffle ${this.dep.shuffleId} of ${this.rdd.label}`;
  }
}

export class ResultStage extends StageBase {
  readonly kind = 'result';
  job: ActiveJob | undefined;
  constructor(
    id: number,
    rdd: RDD<unknown>,
    readonly partitions: readonly number[],
    readonly resultFn: ResultFunctionWire,
    parents: readonly Stage[],
    firstJobId: number,
    /** The job's description (`max at RDD 3 (...)`), as Spark names a result stage after its action's call site. */
    readonly name: string,
  ) {
    super(id, rdd, parents, firstJobId);
  }
}

export type Stage = ShuffleMapStage | ResultStage;
