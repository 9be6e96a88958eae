/**
 * What an RDD needs from the context that created it. The RDD layer sees only this interface, so it never
 * imports the scheduler; a worker rebuilds RDDs against a context that refuses driver-only operations.
 */
import type { ShippedFunction, ShipOptions } from '../closure/index.js';
import type { ResultFunctionWire } from './result-functions.js';
import type { RDD } from './rdd.js';
import { ArgumentTypeError, IllegalStateError } from '../core/errors.js';

export interface RddContext {
  /** True on the driver; false for RDDs rebuilt inside a worker. */
  readonly isDriver: boolean;
  readonly defaultParallelism: number;
  newRddId(): number;
  /**
   * A new shuffle id for a shuffle the RDD `owner` reads. When the owner is garbage collected, nothing can read
   * the shuffle any more and its outputs are removed from the workers (Spark's ContextCleaner).
   */
  newShuffleId(owner: RDD<unknown>): number;
  /** Checks and describes a user function for shipping; throws a ClosureError naming any undeclared variable. */
  ship(fn: Function, what: string, options?: ShipOptions): ShippedFunction | undefined;
  /**
   * Runs one job over the given partitions and returns one result per partition, in partition order.
   * `onResult` gets each result (its index in `partitions`) once, in that order, before the promise resolves:
   * as soon as it and the results before it have arrived, so the action can merge while later tasks run.
   * `inArrivalOrder`: as soon as it arrives, whatever the results before it (for a merge whose outcome cannot
   * depend on the order).
   */
  runJob<R>(
    rdd: RDD<unknown>,
    fn: ResultFunctionWire,
    partitions?: readonly number[],
    description?: string,
    onResult?: (index: number, result: R) => void,
    inArrivalOrder?: boolean,
  ): Promise<R[]>;
  /** Persistence bookkeeping (the block manager master lives behind the context). */
  persistRdd(rdd: RDD<unknown>): void;
  unpersistRdd(rdd: RDD<unknown>): Promise<void>;
  readonly checkpointDir: string | undefined;
  /** The workers caching partition `partition` of RDD `rddId` (driver only): where coalesce groups its parents. */
  readonly cachedLocations?: (rddId: number, partition: number) => readonly number[];
}

const insideTask = (): never => {
  // Spark's SPARK-5063: RDDs cannot be used inside other RDDs' functions.
  throw new IllegalStateError(
    'RDD transformations and actions can only be invoked by the driver, not inside a task. ' + 'Collect or broadcast the data you need first.',
  );
};

/** The context of RDDs rebuilt inside a worker: lineage only, no jobs. */
export const WORKER_RDD_CONTEXT: RddContext = {
  isDriver: false,
  defaultParallelism: 1,
  newRddId: insideTask,
  newShuffleId: insideTask,
  ship: () => undefined,
  runJob: insideTask,
  persistRdd: insideTask,
  unpersistRdd: insideTask,
  checkpointDir: undefined,
};

/** Ships a user function given to `op` on `rdd`, refusing a non-function at the call. */
export function shipUserFunction(rdd: RDD<unknown>, op: string, fn: Function, what: string, options?: ShipOptions): ShippedFunction {
  if (typeof fn !== 'function') throw new ArgumentTypeError(`${op} expects a function, got ${typeof fn}`);
  // Driver-side only: transformations and actions are refused in workers before they get here.
  return rdd.context.ship(fn, what, options)!;
}
