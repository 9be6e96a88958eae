/**
 * The task backend: where tasks run. The scheduler sees only this interface, so a later backend can run
 * executors in other processes or machines; nothing behind it may assume memory shared with the driver.
 *
 * Contract: `runTask` never rejects and always settles: a task on a worker that dies comes back as a
 * `workerLost` failure. After a worker is lost the backend replaces it and reports when the new one is ready.
 * Executors fill a fixed number of slots (the scheduler's dense worker indexes). Each incarnation of a slot has
 * an epoch (its count at that slot) and an executor id (a string unique in the application, as Spark's); a task
 * carries the epoch it was built for, and a backend refuses (as `workerLost`) a task whose epoch is not current.
 */
import type { TaskMessage, TaskOutcome } from './protocol.js';

export interface BackendListener {
  /** Executor `executorId` at slot `index` died: its in-flight tasks have failed, its outputs and blocks are gone. */
  workerLost(index: number, executorId: string, reason: string): void;
  /** Executor `executorId` (a first one or a replacement) accepts tasks at slot `index`. */
  workerReady(index: number, executorId: string, replacement: boolean): void;
  /** Index `index` could not be started after repeated attempts: it stays down. */
  workerFailed(index: number, reason: string): void;
}

/** What a backend holds right now: for tests and diagnostics (every pool back to size, no stale channel). */
export interface BackendSnapshot {
  readonly configured: number;
  /** Indexes given up after repeated failed starts. */
  readonly givenUp: readonly number[];
  readonly workers: ReadonlyArray<{
    readonly index: number;
    readonly epoch: number;
    readonly executorId: string;
    readonly state: 'starting' | 'ready' | 'dead';
    /** Tasks sent and not yet settled. */
    readonly inflight: number;
    /** The peers this worker can fetch from, with the epoch of each (asked of the worker itself). */
    readonly peers: ReadonlyArray<readonly [index: number, epoch: number]>;
  }>;
}

/** Fault injection a backend may offer: `sc.faults` reaches it when present. */
export interface BackendFaults {
  /** Terminates an executor abruptly, now (a starting one too); it is replaced like any lost executor. */
  killWorker(index: number): Promise<void>;
}

export interface TaskBackend {
  readonly numWorkers: number;
  /** Resolves when every worker has started or been given up, at least one started; rejects if none can. */
  ready(): Promise<void>;
  setListener(listener: BackendListener): void;
  isAvailable(index: number): boolean;
  /** The epoch of the current incarnation of `index` (tasks for it must carry it). */
  epoch(index: number): number;
  /** The executor id of the current incarnation of `index` (Spark's executor id: a string, never reused). */
  executorId(index: number): string;
  runTask(workerIndex: number, task: TaskMessage): Promise<TaskOutcome>;
  /** Best effort cancellation of a task (see WorkerApi.cancelTask). */
  cancelTask(workerIndex: number, taskId: number): void;
  /** Cancels a task of a cancelled job; one still computing after `graceMs` has its worker replaced. */
  killTask(workerIndex: number, taskId: number, graceMs: number): void;
  removeShuffle(shuffleId: number): void;
  /**
   * Drops an RDD's cached blocks on every worker; with `beforeGeneration`, only blocks of older generations, and
   * workers refuse those generations from then on (the DAG scheduler rolled the RDD's cache back). Resolves once the
   * removal is on its way, not when workers applied it: it reaches each worker before any task launched after it.
   */
  removeRdd(rddId: number, beforeGeneration?: number): Promise<void>;
  removeBroadcast(id: number): void;
  /** Drops the RDD descriptions (and the values their functions captured) of stages no job needs any more. */
  releaseStages(stageIds: readonly number[]): void;
  /** Fault injection, for backends that offer it (tests and demos of recovery). */
  readonly faults?: BackendFaults;
  snapshot(): Promise<BackendSnapshot>;
  stop(): Promise<void>;
}
