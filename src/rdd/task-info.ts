/**
 * pyspark's `TaskContext.get()`: which task a user function is running in. The executor publishes the running
 * task right before it computes (computation is synchronous, so no other task can interleave), and clears it
 * after.
 */

/** The running task, as Spark's TaskContext describes it. */
export interface TaskInfo {
  /** The partition this task computes. */
  readonly partitionId: number;
  readonly stageId: number;
  /** 0 for the first attempt of this partition in this stage attempt, 1 for the first retry, ... */
  readonly attemptNumber: number;
  /** Unique among the context's task attempts. */
  readonly taskAttemptId: number;
  /**
   * Whether the task was asked to stop (its job cancelled, or another attempt finished the partition): Spark's
   * `TaskContext.isInterrupted`. The engine stops a task at the next record it reads; a user function that works
   * long without reading records (a loop over a partition held in memory, a long computation per element) can look
   * here and return early, instead of having its worker terminated after the kill grace.
   *
   * @example
   * ```ts
   * rdd.mapPartitions(capture({ taskContext }, (it) => {
   *   const all = [...it];
   *   for (let round = 0; round < 1000 && !taskContext().isInterrupted(); round++) refine(all);
   *   return all;
   * }));
   * ```
   */
  isInterrupted(): boolean;
}

const CURRENT = Symbol.for('kindling.currentTask');

/** @internal called by the executor around a task's computation */
export function setCurrentTask(info: TaskInfo | undefined): void {
  (globalThis as Record<symbol, unknown>)[CURRENT] = info;
}

/** @internal the task published by the executor, if any (what `taskContext()` returns, without throwing) */
export function currentTaskInfo(): TaskInfo | undefined {
  return (globalThis as Record<symbol, unknown>)[CURRENT] as TaskInfo | undefined;
}

/**
 * The task the calling user function runs in (Spark's `TaskContext`). Declare it with `capture` like any
 * helper; on the driver, outside a task, it throws.
 *
 * @example
 * ```ts
 * import { capture, taskContext } from 'kindling';
 * rdd.map(capture({ taskContext }, (x) => [taskContext().partitionId, x]));
 * ```
 */
export function taskContext(): TaskInfo {
  // Self-contained (no module bindings): it ships to the workers as its own source text.
  const info = (globalThis as Record<symbol, unknown>)[Symbol.for('kindling.currentTask')];
  // internal: a plain Error because this function ships as source text and can bind no module; the message says what to do
  if (info === undefined) throw new Error('taskContext() is only available inside a task (a function run by an RDD operation)');
  return info as TaskInfo;
}
