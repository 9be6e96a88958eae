/**
 * The engines, one registration point: each entry is an engine's driver half (how persist() behaves, how a job's
 * results arrive) and its worker half (where shuffle outputs and cached partitions live, how a result task's
 * value travels back). The context picks an entry by name once; the core has no engine checks. A new engine is
 * one more entry here, and its name becomes valid everywhere (`EngineName` is derived from this table).
 *
 * - `memory` (Spark): results in task messages, cached partitions in the block manager, shuffle buckets in
 *   memory with sorted-run spills.
 * - `mapreduce` (Hadoop): every map output sorted and written to disk, nothing cached, every job's result
 *   written to files and read back by the driver.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ShuffleManager } from '../shuffle/shuffle-manager.js';
import { SpillingShuffleManager } from '../shuffle/spilling-shuffle-manager.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../shuffle/memory-budget.js';
import { armHeapGuard, setHeapRelief } from '../core/heap-guard.js';
import { BlockManager, type WorkerBlockStore } from '../storage/block-manager.js';
import { DiskShuffleManager } from '../mapreduce/disk-shuffle-manager.js';
import { NoCacheStore } from '../mapreduce/no-cache-store.js';
import { openJobOutput, readJobResults, removeJobOutput, writeJobResult } from '../mapreduce/job-output.js';

/** What an engine's worker half needs to know: the worker's identity, folder and memory budgets. */
export interface EngineWorkerInit {
  readonly workerIndex: number;
  /** This worker's folder for spilled blocks and shuffle files. */
  readonly spillDir: string;
  /** Estimated bytes of cached partitions this worker may hold. */
  readonly storageBytes: number;
  /**
   * Estimated bytes of shuffle data the worker keeps in memory (its shuffle pool, shared by stored map outputs,
   * combine tables and fetched reduce input) before spilling sorted runs.
   */
  readonly shuffleSpillBytes: number;
  /** Where result tasks write job results, when the engine sends results through files. */
  readonly jobOutputRoot: string;
  /** `jobOutputRoot` is on the worker's own disk (a cluster executor): results travel with task outcomes. */
  readonly jobOutputIsLocal?: boolean;
  /** The workers are threads of one process: map outputs may live in shared memory (see WorkerInit). */
  readonly sharedShuffleOutputs?: boolean;
}

/** The worker half of an engine, created once when a worker starts. The executor sees only these interfaces. */
export interface WorkerServices {
  readonly shuffles: ShuffleManager;
  readonly blocks: WorkerBlockStore;
  /**
   * Turns a result task's value into what goes back to the driver. `stageAttempt` is the result stage's attempt:
   * results of attempts before a rollback (see `DAGScheduler`) must never stand in for later ones.
   */
  deliverResult(jobId: number, partition: number, stageAttempt: number, attempt: number, value: unknown): unknown;
}

/** The driver half of an engine, created once by the context. */
export interface DriverEngine {
  /** Where workers write job results (engines that send results through files). */
  readonly jobOutputRoot: string;
  /** Whether persisted RDDs stay cached between jobs (recomputation hints only make sense then). */
  readonly caches: boolean;
  /** Called when an RDD is persisted. */
  onPersist(label: string): void;
  /** Turns what result tasks sent into the job's results. */
  collectResults(jobId: number, sent: readonly unknown[]): unknown[];
  /**
   * Whether what a result task sent is its result as it is, so an action may merge it as it arrives, while
   * later tasks still run (engines that send results through files read them back after the job).
   */
  readonly resultsAsSent: boolean;
  /** A job got its id: its tasks are about to be sent. */
  jobSubmitted?(jobId: number): void;
  /** A job failed or was cancelled; its tasks may still be running. */
  jobFailed?(jobId: number): void;
}

export interface EngineEntry {
  /** One line for `--help` and error messages. */
  readonly description: string;
  driver(scratchDir: string, notice: (message: string) => void): DriverEngine;
  worker(init: EngineWorkerInit): WorkerServices;
}

export const ENGINES = {
  memory: {
    description: 'Spark-style: data stays in worker memory between stages and jobs',
    driver: (scratchDir) => ({
      jobOutputRoot: path.join(scratchDir, 'jobs'),
      caches: true,
      onPersist: () => undefined,
      collectResults: (_id, sent) => [...sent],
      resultsAsSent: true,
    }),
    worker: (init) => {
      const budget = shufflePool(init);
      return {
        shuffles: new SpillingShuffleManager({
          workerIndex: init.workerIndex,
          dir: budget.dir,
          spillBytes: init.shuffleSpillBytes,
          writeAllToDisk: false,
          budget,
          moveReadOutputs: true,
          shareOutputs: init.sharedShuffleOutputs === true,
        }),
        blocks: new BlockManager({ storageBytes: init.storageBytes, spillDir: path.join(init.spillDir, 'blocks') }),
        deliverResult: (_job, _p, _s, _a, value) => value,
      };
    },
  },
  mapreduce: {
    description: 'Hadoop-style: every shuffle and every job result through files, nothing cached',
    driver: (scratchDir, notice) => {
      const jobOutputRoot = path.join(scratchDir, 'jobs');
      mkdirSync(jobOutputRoot, { recursive: true });
      let noticed = false;
      return {
        jobOutputRoot,
        caches: false,
        onPersist: (label) => {
          if (noticed) return;
          noticed = true;
          notice(`engine 'mapreduce' keeps nothing in memory between jobs: persist() of ${label} (and any other) has no effect`);
        },
        collectResults: (jobId, sent) => readJobResults(jobOutputRoot, jobId, sent),
        resultsAsSent: false,
        // The driver owns each job's folder: made before its tasks, removed at its end, whatever the end, so that
        // neither a failed job's committed results nor a late copy's (which finds no folder) stay until stop().
        jobSubmitted: (jobId) => openJobOutput(jobOutputRoot, jobId),
        jobFailed: (jobId) => removeJobOutput(jobOutputRoot, jobId),
      };
    },
    worker: (init) => {
      // The engine stores nothing in memory, but its sort buffers and combines count against the same pool.
      const budget = shufflePool(init);
      return {
        shuffles: new DiskShuffleManager(init.workerIndex, budget.dir, budget),
        blocks: new NoCacheStore(),
        deliverResult: (jobId, partition, stageAttempt, attempt, value) =>
          writeJobResult(init.jobOutputRoot, jobId, partition, stageAttempt, attempt, value, init.jobOutputIsLocal === true),
      };
    },
  },
} as const satisfies Record<string, EngineEntry>;

/**
 * One pool per worker for everything shuffles hold in memory (stored map outputs, the map task being written,
 * combine tables, fetched reduce input), like Spark's execution memory; see memory.shuffleFraction. Set as the
 * worker's pool, which combines and fetched input find without being handed it.
 */
function shufflePool(init: EngineWorkerInit): MemoryBudget {
  const budget = new MemoryBudget(init.shuffleSpillBytes, path.join(init.spillDir, 'shuffle'));
  setWorkerMemoryBudget(budget);
  // Near the heap limit, the guard spills the whole pool before it decides a task cannot fit.
  setHeapRelief(() => budget.spillAll());
  armHeapGuard();
  return budget;
}

/** The names of the registered engines: `'memory' | 'mapreduce'`. */
export type EngineName = keyof typeof ENGINES;

export const ENGINE_NAMES = Object.keys(ENGINES) as EngineName[];

export function isEngineName(name: unknown): name is EngineName {
  return typeof name === 'string' && Object.hasOwn(ENGINES, name);
}
