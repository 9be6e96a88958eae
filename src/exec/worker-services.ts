/**
 * The per-worker services of each engine, chosen once when the worker starts: where shuffle outputs live,
 * where cached partitions live, and how results reach the driver. The executor only sees the interfaces.
 */
import path from 'node:path';
import type { WorkerInit } from './protocol.js';
import type { ShuffleManager } from '../shuffle/shuffle-manager.js';
import { SpillingShuffleManager } from '../shuffle/spilling-shuffle-manager.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../shuffle/memory-budget.js';
import { BlockManager, type WorkerBlockStore } from '../storage/block-manager.js';
import { DiskShuffleManager } from '../mapreduce/disk-shuffle-manager.js';
import { NoCacheStore } from '../mapreduce/no-cache-store.js';
import { writeJobResult } from '../mapreduce/job-output.js';

export interface WorkerServices {
  readonly shuffles: ShuffleManager;
  readonly blocks: WorkerBlockStore;
  /** Turns a result task's value into what goes back to the driver. */
  deliverResult(jobId: number, partition: number, attempt: number, value: unknown): unknown;
}

export function createWorkerServices(init: WorkerInit): WorkerServices {
  const shuffleDir = path.join(init.spillDir, 'shuffle');
  // One pool per worker for everything shuffles hold in memory (stored map outputs, combine tables); see
  // memory.shuffleFraction. The mapreduce engine stores nothing in memory, but its sort buffers and combines use it.
  const budget = new MemoryBudget(init.shuffleSpillBytes, shuffleDir);
  setWorkerMemoryBudget(budget);
  switch (init.engine) {
    case 'memory':
      return {
        shuffles: new SpillingShuffleManager({ workerIndex: init.workerIndex, dir: shuffleDir, spillBytes: init.shuffleSpillBytes, writeAllToDisk: false, budget }),
        blocks: new BlockManager({ storageBytes: init.storageBytes, spillDir: path.join(init.spillDir, 'blocks') }),
        deliverResult: (_job, _p, _a, value) => value,
      };
    case 'mapreduce':
      return {
        shuffles: new DiskShuffleManager(init.workerIndex, shuffleDir, budget),
        blocks: new NoCacheStore(),
        deliverResult: (jobId, partition, attempt, value) => writeJobResult(init.jobOutputRoot, jobId, partition, attempt, value),
      };
    default: {
      const never: never = init.engine;
      throw new Error(`unknown engine ${String(never)}`);
    }
  }
}
