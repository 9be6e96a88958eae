/**
 * A worker's block manager for cached RDD partitions (Spark's BlockManager, memory and disk stores).
 *
 * - The memory store is an LRU (lru-cache) bounded in estimated bytes: the worker's storage budget. As in
 *   Spark's MemoryStore, making room for a partition never evicts partitions of the same RDD: an iterative
 *   program that scans an RDD bigger than the budget keeps a stable part of it cached (instead of LRU evicting
 *   each partition just before it is needed again), so iteration time degrades gracefully with the budget.
 * - MEMORY_ONLY: a partition evicted from memory (or too big for it) is dropped and recomputed from lineage
 *   the next time it is needed.
 * - MEMORY_AND_DISK: an evicted partition is written to the worker's spill folder and read back from there
 *   (and put back in memory when it fits).
 * - DISK_ONLY: written to disk only.
 * Every change is recorded as a BlockUpdate; they go back to the driver with the next task outcome, so the
 * driver knows where each partition is cached (for locality and the storage report).
 */
import { LRUCache } from 'lru-cache';
import type { BlockUpdate, CachedBlocks } from './block-update.js';
import { ColumnBlock, cachedArray, packPartition, type CachedPartition } from './columnar-block.js';
import { rddBlockId } from './block-id.js';
import { DiskStore } from './disk-store.js';
import { estimateSize } from './size-estimator.js';
import type { StorageLevel } from './storage-level.js';

interface MemoryEntry {
  readonly rddId: number;
  readonly partition: number;
  /** Columns for numbers and pairs of numbers, else the elements' array. */
  readonly values: CachedPartition;
  readonly bytes: number;
  readonly level: StorageLevel['name'];
}

export interface BlockManagerOptions {
  /** Bytes of cached partitions this worker keeps in memory. */
  readonly storageBytes: number;
  /** Folder for this worker's spilled and disk-only blocks. */
  readonly spillDir: string;
}

/** What the executor needs of a block store (the mapreduce engine plugs in one that caches nothing). */
export interface WorkerBlockStore extends CachedBlocks {
  /** Estimated bytes of a cached partition in memory, or its size on disk (0 when not cached): read metrics. */
  sizeOf(rddId: number, partition: number): number;
  removeRdd(rddId: number): BlockUpdate[];
  drainUpdates(): BlockUpdate[];
  close(): void;
}

export class BlockManager implements WorkerBlockStore {
  readonly #memory: LRUCache<string, MemoryEntry>;
  readonly #spillDir: string;
  #disk: DiskStore | undefined;
  #updates: BlockUpdate[] = [];
  /** Disk-resident blocks and their level, for the report after a read. */
  readonly #onDisk = new Map<string, { rddId: number; partition: number }>();

  constructor(options: BlockManagerOptions) {
    this.#spillDir = options.spillDir;
    this.#memory = new LRUCache<string, MemoryEntry>({
      maxSize: Math.max(1, options.storageBytes),
      sizeCalculation: (e) => Math.max(1, e.bytes),
      dispose: (e, id, reason) => {
        if (reason === 'evict') this.#evicted(id, e);
      },
    });
  }

  get storageBytes(): number {
    return this.#memory.maxSize;
  }

  get(rddId: number, partition: number): CachedPartition | undefined {
    const id = rddBlockId(rddId, partition);
    const hit = this.#memory.get(id);
    if (hit !== undefined) return hit.values;
    if (this.#disk?.has(id)) return this.#disk.get(id);
    return undefined;
  }

  sizeOf(rddId: number, partition: number): number {
    const id = rddBlockId(rddId, partition);
    return this.#memory.peek(id)?.bytes ?? this.#disk?.size(id) ?? 0;
  }

  put(rddId: number, partition: number, values: CachedPartition, level: string): void {
    const name = level as StorageLevel['name'];
    const id = rddBlockId(rddId, partition);
    if (name === 'DISK_ONLY') {
      this.#toDisk(id, rddId, partition, values, 'added');
      return;
    }
    // Numbers and pairs of numbers as columns, whose size is known; other data estimated from a sample.
    const packed = values instanceof ColumnBlock ? values : packPartition(values);
    const bytes = packed?.bytes ?? estimateSize(values as readonly unknown[]);
    if (this.#makeRoom(rddId, bytes)) {
      this.#memory.set(id, { rddId, partition, values: packed ?? values, bytes, level: name });
      this.#updates.push({ rddId, partition, memoryBytes: bytes, diskBytes: 0, change: 'added' });
    } else if (name === 'MEMORY_AND_DISK') {
      // No room without evicting its own RDD: straight to disk.
      this.#toDisk(id, rddId, partition, values, 'added');
    }
    // MEMORY_ONLY without room: not cached; recomputed when needed.
  }

  /** Evicts least recently used partitions of other RDDs until `bytes` fit; false if they cannot. */
  #makeRoom(rddId: number, bytes: number): boolean {
    const max = this.#memory.maxSize;
    if (bytes > max) return false;
    let excess = this.#memory.calculatedSize + bytes - max;
    if (excess <= 0) return true;
    const victims: string[] = [];
    for (const id of this.#memory.rkeys()) {
      const e = this.#memory.peek(id);
      if (e === undefined || e.rddId === rddId) continue;
      victims.push(id);
      excess -= e.bytes;
      if (excess <= 0) break;
    }
    if (excess > 0) return false;
    for (const id of victims) {
      const e = this.#memory.get(id)!;
      this.#memory.delete(id);
      this.#evicted(id, e);
    }
    return true;
  }

  #evicted(id: string, e: MemoryEntry): void {
    if (e.level === 'MEMORY_AND_DISK') this.#toDisk(id, e.rddId, e.partition, e.values, 'spilled');
    else this.#updates.push({ rddId: e.rddId, partition: e.partition, memoryBytes: 0, diskBytes: 0, change: 'evicted' });
  }

  #toDisk(id: string, rddId: number, partition: number, values: CachedPartition, change: BlockUpdate['change']): void {
    this.#disk ??= new DiskStore(this.#spillDir);
    const diskBytes = this.#disk.put(id, cachedArray(values));
    this.#onDisk.set(id, { rddId, partition });
    this.#updates.push({ rddId, partition, memoryBytes: 0, diskBytes, change });
  }

  removeRdd(rddId: number): BlockUpdate[] {
    const prefix = `rdd_${rddId}_`;
    for (const id of [...this.#memory.keys()]) {
      if (!id.startsWith(prefix)) continue;
      const e = this.#memory.get(id)!;
      this.#memory.delete(id);
      this.#updates.push({ rddId, partition: e.partition, memoryBytes: 0, diskBytes: 0, change: 'dropped' });
    }
    for (const [id, where] of [...this.#onDisk]) {
      if (!id.startsWith(prefix)) continue;
      this.#disk?.remove(id);
      this.#onDisk.delete(id);
      this.#updates.push({ rddId, partition: where.partition, memoryBytes: 0, diskBytes: 0, change: 'dropped' });
    }
    return this.drainUpdates();
  }

  drainUpdates(): BlockUpdate[] {
    const u = this.#updates;
    this.#updates = [];
    return u;
  }

  /** Deletes the spill folder (worker shutdown). */
  close(): void {
    this.#memory.clear();
    this.#disk?.clear();
  }
}
