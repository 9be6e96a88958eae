/**
 * A worker's cached RDD partitions: an LRU bounded in (estimated) bytes. A partition evicted here is simply
 * recomputed from lineage the next time it is needed (MEMORY_ONLY semantics).
 */
import { LRUCache } from 'lru-cache';
import type { BlockUpdate } from '../exec/protocol.js';
import type { CachedBlocks } from '../rdd/task-context.js';
import { estimateSize } from './size-estimator.js';

const blockKey = (rddId: number, partition: number): string => `rdd_${rddId}_${partition}`;

export class BlockStore implements CachedBlocks {
  readonly #cache: LRUCache<string, { rddId: number; partition: number; values: readonly unknown[]; bytes: number }>;
  /** Updates since the last drain, reported to the driver with each task's outcome. */
  #updates: BlockUpdate[] = [];

  constructor(maxBytes: number) {
    this.#cache = new LRUCache({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (v) => Math.max(1, v.bytes),
      dispose: (v, _k, reason) => {
        if (reason === 'evict' || reason === 'delete') this.#updates.push({ rddId: v.rddId, partition: v.partition, bytes: 0, stored: false });
      },
    });
  }

  get(rddId: number, partition: number): readonly unknown[] | undefined {
    return this.#cache.get(blockKey(rddId, partition))?.values;
  }

  put(rddId: number, partition: number, values: readonly unknown[], _level: string): void {
    const bytes = estimateSize(values);
    if (bytes > this.#cache.maxSize) return; // never fits: leave it to recomputation
    this.#cache.set(blockKey(rddId, partition), { rddId, partition, values, bytes });
    this.#updates.push({ rddId, partition, bytes, stored: true });
  }

  removeRdd(rddId: number): BlockUpdate[] {
    const prefix = `rdd_${rddId}_`;
    for (const k of [...this.#cache.keys()]) if (k.startsWith(prefix)) this.#cache.delete(k);
    return this.drainUpdates();
  }

  drainUpdates(): BlockUpdate[] {
    const u = this.#updates;
    this.#updates = [];
    return u;
  }
}
