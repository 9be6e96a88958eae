/**
 * Driver-side registry of cached partitions (the location half of Spark's BlockManagerMaster): which worker
 * holds which partition of which persisted RDD, in memory or on disk, fed by the block updates that come back
 * with every task. The scheduler uses it for locality and to skip stages whose data is fully cached; the
 * context builds the storage report from it.
 */
import type { BlockUpdate } from '../storage/block-update.js';

export interface BlockLocation {
  readonly memoryBytes: number;
  readonly diskBytes: number;
}

export interface RddCacheSummary {
  readonly partitions: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly byWorker: ReadonlyMap<number, { partitions: number; memoryBytes: number; diskBytes: number }>;
}

export class CacheTracker {
  /** rddId -> partition -> worker -> sizes */
  readonly #blocks = new Map<number, Map<number, Map<number, BlockLocation>>>();
  /** Per RDD whose cache was rolled back: its current generation; updates of older ones are stale. */
  readonly #generations = new Map<number, number>();

  apply(workerIndex: number, updates: readonly BlockUpdate[]): void {
    for (const u of updates) {
      if (this.#generations.size !== 0 && this.isStale(u)) continue;
      let parts = this.#blocks.get(u.rddId);
      if (u.memoryBytes > 0 || u.diskBytes > 0) {
        if (parts === undefined) this.#blocks.set(u.rddId, (parts = new Map()));
        let where = parts.get(u.partition);
        if (where === undefined) parts.set(u.partition, (where = new Map()));
        where.set(workerIndex, { memoryBytes: u.memoryBytes, diskBytes: u.diskBytes });
      } else {
        const where = parts?.get(u.partition);
        where?.delete(workerIndex);
        if (where?.size === 0) parts!.delete(u.partition);
        // An RDD whose every block was evicted keeps no entry (RDDs come and go for the life of the driver).
        if (parts?.size === 0) this.#blocks.delete(u.rddId);
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

  /** Forgets the RDD (unpersisted, or dropped by the program); returns the locations forgotten, as worker -> partitions. */
  removeRdd(rddId: number): Map<number, number[]> {
    const dropped = this.#locationsByWorker(rddId);
    this.#blocks.delete(rddId);
    this.#generations.delete(rddId);
    return dropped;
  }

  /**
   * The RDD's cached partitions are rolled back to `generation` (see `RDD.cacheGeneration`): every location known is
   * forgotten, and updates of older generations (a task of an earlier stage attempt caching late) are ignored from
   * now on. Returns the locations forgotten, as worker -> partitions.
   */
  rollBack(rddId: number, generation: number): Map<number, number[]> {
    this.#generations.set(rddId, generation);
    const dropped = this.#locationsByWorker(rddId);
    this.#blocks.delete(rddId);
    return dropped;
  }

  #locationsByWorker(rddId: number): Map<number, number[]> {
    const byWorker = new Map<number, number[]>();
    for (const [p, where] of this.#blocks.get(rddId) ?? []) {
      for (const w of where.keys()) {
        const ps = byWorker.get(w);
        if (ps === undefined) byWorker.set(w, [p]);
        else ps.push(p);
      }
    }
    return byWorker;
  }

  /** Whether an update is of a generation older than the RDD's current one (its block is dropped or refused). */
  isStale(u: BlockUpdate): boolean {
    return (u.generation ?? 0) < (this.#generations.get(u.rddId) ?? 0);
  }

  /** Whether any RDD's cache was rolled back (so some updates may be stale). */
  get rolledBack(): boolean {
    return this.#generations.size !== 0;
  }

  removeWorker(workerIndex: number): void {
    for (const [rddId, parts] of this.#blocks) {
      for (const [p, where] of parts) {
        where.delete(workerIndex);
        if (where.size === 0) parts.delete(p);
      }
      if (parts.size === 0) this.#blocks.delete(rddId);
    }
  }

  /** RDDs with at least one cached block (diagnostics). */
  get rddsTracked(): number {
    return this.#blocks.size;
  }

  summary(rddId: number): RddCacheSummary {
    const parts = this.#blocks.get(rddId);
    const byWorker = new Map<number, { partitions: number; memoryBytes: number; diskBytes: number }>();
    let memoryBytes = 0;
    let diskBytes = 0;
    for (const where of parts?.values() ?? []) {
      for (const [w, b] of where) {
        memoryBytes += b.memoryBytes;
        diskBytes += b.diskBytes;
        const t = byWorker.get(w) ?? { partitions: 0, memoryBytes: 0, diskBytes: 0 };
        byWorker.set(w, { partitions: t.partitions + 1, memoryBytes: t.memoryBytes + b.memoryBytes, diskBytes: t.diskBytes + b.diskBytes });
      }
    }
    return { partitions: parts?.size ?? 0, memoryBytes, diskBytes, byWorker };
  }
}
