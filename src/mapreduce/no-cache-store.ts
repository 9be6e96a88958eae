/**
 * The mapreduce engine keeps nothing in memory between jobs: persisted RDDs are simply not cached, so every
 * job recomputes them from their input files (or reads the shuffle files of earlier jobs), as Hadoop does.
 */
import type { BlockUpdate } from '../storage/block-update.js';
import type { WorkerBlockStore } from '../storage/block-manager.js';

export class NoCacheStore implements WorkerBlockStore {
  get(): undefined {
    return undefined;
  }
  put(): void {}
  sizeOf(): number {
    return 0;
  }
  removeRdd(): BlockUpdate[] {
    return [];
  }
  drainUpdates(): BlockUpdate[] {
    return [];
  }
  close(): void {}
}
