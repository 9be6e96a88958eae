/**
 * Driver-side registry of cached partitions (the location half of Spark's BlockManagerMaster): which worker
 * holds which partition of which persisted RDD, fed by the block updates that come back with every task.
 * The scheduler uses it for locality, to skip stages whose data is fully cached, and for the storage report.
 */
import type { BlockUpdate } from '../exec/protocol.js';

export class CacheTracker {
  /** rddId -> partition -> worker -> bytes */
  readonly #blocks = new Map<number, Map<number, Map<number, number>>>();

  apply(workerIndex: number, updates: readonly BlockUpdate[]): void {
    for (const u of updates) {
      let parts = this.#blocks.get(u.rddId);
      if (u.stored) {
        if (parts === undefined) this.#blocks.set(u.rddId, (parts = new Map()));
        let where = parts.get(u.partition);
        if (where === undefined) parts.set(u.partition, (where = new Map()));
        where.set(workerIndex, u.bytes);
      } else {
        parts?.get(u.partition)?.delete(workerIndex);
        if (parts?.get(u.partition)?.size === 0) parts.delete(u.partition);
      }
    }
  }

  locations(rddId: number, partition: number): number[] {
    return [...(this.#blocks.get(rddId)?.get(partition)?.keys() ?? [])];
  }

  isCachedOn(rddId: number, partition: number, workerIndex: number): boolean {
    return this.#blocks.get(rddId)?.get(partition)?.has(workerIndex) ?? false;
  }

  isFullyCached(rddId: number, numPartitions: number): boolean {
    const parts = this.#blocks.get(rddId);
    return numPartitions > 0 && parts !== undefined && parts.size === numPartitions;
  }

  removeRdd(rddId: number): void {
    this.#blocks.delete(rddId);
  }

  removeWorker(workerIndex: number): void {
    for (const parts of this.#blocks.values()) {
      for (const [p, where] of parts) {
        where.delete(workerIndex);
        if (where.size === 0) parts.delete(p);
      }
    }
  }

  /** Per RDD: partitions cached and bytes, for the storage report. */
  summary(rddId: number): { partitions: number; bytes: number; byWorker: Map<number, number> } {
    const parts = this.#blocks.get(rddId);
    const byWorker = new Map<number, number>();
    let bytes = 0;
    for (const where of parts?.values() ?? []) {
      for (const [w, b] of where) {
        bytes += b;
        byWorker.set(w, (byWorker.get(w) ?? 0) + b);
      }
    }
    return { partitions: parts?.size ?? 0, bytes, byWorker };
  }
}
