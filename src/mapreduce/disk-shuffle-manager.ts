/**
 * The mapreduce engine's shuffle: Hadoop-style. Every map task sorts its output and writes it to disk as
 * per-reducer runs (spilling whenever its sort buffer fills, like Hadoop's 100 MB buffer spilled at 80 %), and
 * reducers merge-read the runs. Nothing of a shuffle stays in memory once its map task ends.
 */
import { SpillingShuffleManager } from '../shuffle/spilling-shuffle-manager.js';
import type { MemoryBudget } from '../shuffle/memory-budget.js';

/** Hadoop's default io.sort.mb (100 MB) times its spill threshold (0.8). */
export const HADOOP_SORT_BUFFER_BYTES = 80 * 2 ** 20;

export class DiskShuffleManager extends SpillingShuffleManager {
  /** With a `budget`, a map task's sort buffer also counts against the worker's shuffle pool (a small heap). */
  constructor(workerIndex: number, dir: string, budget?: MemoryBudget) {
    super({ workerIndex, dir, spillBytes: HADOOP_SORT_BUFFER_BYTES, writeAllToDisk: true, ...(budget ? { budget } : {}) });
  }
}
