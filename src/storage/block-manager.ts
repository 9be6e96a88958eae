/**
 * A worker's block manager for cached RDD partitions (Spark's BlockManager, memory and disk stores).
 *
 * - The memory store is an LRU (lru-cache) bounded in estimated bytes: the worker's storage budget. As in
 *   Spark's MemoryStore, making room for a partition never evicts partitions of the same RDD: an iterative
 *   program that scans an RDD bigger than the budget keeps a stable part of it cached (instead of LRU evicting
 *   each partition just before it is needed again), so iteration time degrades gracefully with the budget.
 * - MEMORY_ONLY: a partition evicted from memory (or too big for it) is dropped and recomputed from lineage
 *   the next time it is needed.
 * - MEMORY_AND_DISK: an evicted partition is written to the worker's spill folder and read back from there; as
 *   in Spark's `maybeCacheDiskValuesInMemory`, a read from disk puts it back in memory when it fits under the same
 *   rule (never evicting its own RDD), and it keeps its file, so evicting it again writes nothing.
 * - DISK_ONLY: written to disk only.
 * Every change is recorded as a BlockUpdate; they go back to the driver with the next task outcome, so the
 * driver knows where each partition is cached (for locality and the storage report).
 */
import { LRUCache } from 'lru-cache';
import type { BlockUpdate, CachedBlocks } from './block-update.js';
import { type BlockWire, ColumnBlock, fromBlockWire, packPartition, toBlockWire, type CachedPartition } from './columnar-block.js';
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
  /** The RDD's cache generation the block was computed in (part of its id too). */
  readonly generation: number;
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
  sizeOf(rddId: number, partition: number, generation?: number): number;
  /**
   * Drops the RDD's cached blocks and returns a `dropped` update for each (the driver forgot them first: nothing is
   * queued for it; updates already queued stay for the outcomes of the tasks that made them). With `beforeGeneration` (the driver rolled the RDD's cache back),
   * only blocks of older generations go, unreported (the driver has forgotten them), and puts of those generations
   * are refused from then on.
   */
  removeRdd(rddId: number, beforeGeneration?: number): BlockUpdate[];
  drainUpdates(): BlockUpdate[];
  close(): void;
}

export class BlockManager implements WorkerBlockStore {
  readonly #memory: LRUCache<string, MemoryEntry>;
  readonly #spillDir: string;
  #disk: DiskStore | undefined;
  #updates: BlockUpdate[] = [];
  /** Disk-resident blocks: their level (may they go back to memory) and size, for the reports. */
  readonly #onDisk = new Map<string, { rddId: number; partition: number; generation: number; level: StorageLevel['name']; diskBytes: number }>();
  /** Per RDD whose cache was rolled back: the newest generation seen; blocks of older ones are refused. */
  readonly #generations = new Map<number, number>();

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

  get(rddId: number, partition: number, generation = 0): CachedPartition | undefined {
    const id = rddBlockId(rddId, partition, generation);
    const hit = this.#memory.get(id);
    if (hit !== undefined) return hit.values;
    const where = this.#onDisk.get(id);
    if (where === undefined) return undefined;
    const wire = this.#disk!.get(id) as BlockWire | undefined;
    if (wire === undefined) return undefined;
    // Written packed when it packs (#toDisk): columns come back as columns, anything else as its array.
    const values = fromBlockWire(wire);
    if (where.level !== 'MEMORY_AND_DISK') return values;
    // Back in memory when it fits: an iterative program that once spilled reads memory again, not the file each time.
    const bytes = values instanceof ColumnBlock ? values.bytes : estimateSize(values);
    if (!this.#makeRoom(rddId, bytes)) return values;
    this.#memory.set(id, { rddId, partition, values, bytes, level: where.level, generation });
    this.#updates.push(update(rddId, partition, bytes, where.diskBytes, 'added', generation));
    return values;
  }

  sizeOf(rddId: number, partition: number, generation = 0): number {
    const id = rddBlockId(rddId, partition, generation);
    return this.#memory.peek(id)?.bytes ?? this.#disk?.size(id) ?? 0;
  }

  put(rddId: number, partition: number, values: CachedPartition, level: string, generation = 0): void {
    if ((generation !== 0 || this.#generations.size !== 0) && !this.#admits(rddId, generation)) return;
    const name = level as StorageLevel['name'];
    const id = rddBlockId(rddId, partition, generation);
    // Numbers and pairs of numbers as columns, whose size is known; other data estimated from a sample.
    const packed = values instanceof ColumnBlock ? values : packPartition(values);
    if (name === 'DISK_ONLY') {
      this.#toDisk(id, rddId, partition, packed ?? values, name, 'added', generation);
      return;
    }
    const bytes = packed?.bytes ?? estimateSize(values as readonly unknown[]);
    if (this.#makeRoom(rddId, bytes)) {
      // A file of the block from before (another attempt's) would outlive these values unseen: they replace it.
      if (this.#onDisk.delete(id)) this.#disk!.remove(id);
      this.#memory.set(id, { rddId, partition, values: packed ?? values, bytes, level: name, generation });
      this.#updates.push(update(rddId, partition, bytes, 0, 'added', generation));
    } else if (name === 'MEMORY_AND_DISK') {
      // No room without evicting its own RDD: straight to disk.
      this.#toDisk(id, rddId, partition, packed ?? values, name, 'added', generation);
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
    const onDisk = this.#onDisk.get(id);
    // Read back from its file earlier: the file is still there and holds the same values.
    if (onDisk !== undefined) this.#updates.push(update(e.rddId, e.partition, 0, onDisk.diskBytes, 'spilled', e.generation));
    else if (e.level === 'MEMORY_AND_DISK') this.#toDisk(id, e.rddId, e.partition, e.values, e.level, 'spilled', e.generation);
    else this.#updates.push(update(e.rddId, e.partition, 0, 0, 'evicted', e.generation));
  }

  #toDisk(
    id: string,
    rddId: number,
    partition: number,
    values: CachedPartition,
    level: StorageLevel['name'],
    change: BlockUpdate['change'],
    generation: number,
  ): void {
    this.#disk ??= new DiskStore(this.#spillDir);
    // Columns as their typed arrays: written and read back as bytes, no element built on either side.
    const diskBytes = this.#disk.put(id, toBlockWire(values));
    this.#onDisk.set(id, { rddId, partition, generation, level, diskBytes });
    this.#updates.push(update(rddId, partition, 0, diskBytes, change, generation));
  }

  /**
   * Whether a block of `generation` may be stored: not when the store has seen a newer generation of the RDD (a
   * task of a stage attempt from before the rollback, still running). A newer one than any seen drops the older
   * blocks at once, whether or not the driver's removal has arrived yet.
   */
  #admits(rddId: number, generation: number): boolean {
    const newest = this.#generations.get(rddId) ?? 0;
    if (generation < newest) return false;
    if (generation > newest) this.#dropGenerationsBefore(rddId, generation);
    return true;
  }

  /** Drops the RDD's blocks of generations before `generation`, without reporting them (the driver forgot them first). */
  #dropGenerationsBefore(rddId: number, generation: number): void {
    if ((this.#generations.get(rddId) ?? 0) < generation) this.#generations.set(rddId, generation);
    for (const [id, e] of [...this.#memory.entries()]) if (e.rddId === rddId && e.generation < generation) this.#memory.delete(id);
    for (const [id, where] of [...this.#onDisk]) {
      if (where.rddId !== rddId || where.generation >= generation) continue;
      this.#disk?.remove(id);
      this.#onDisk.delete(id);
    }
  }

  removeRdd(rddId: number, beforeGeneration?: number): BlockUpdate[] {
    if (beforeGeneration !== undefined) {
      this.#dropGenerationsBefore(rddId, beforeGeneration);
      return [];
    }
    this.#generations.delete(rddId);
    // Its own drops only: the updates pending belong to the tasks running on this worker (a removal arrives while one
    // awaits, say a mapAsync after it cached a partition) and go to the driver with their outcomes. Drained here,
    // they were lost, and the driver never learnt of blocks the worker holds.
    const dropped: BlockUpdate[] = [];
    const prefix = `rdd_${rddId}_`;
    const inMemory = new Set<string>();
    for (const id of [...this.#memory.keys()]) {
      if (!id.startsWith(prefix)) continue;
      inMemory.add(id);
      const e = this.#memory.get(id)!;
      this.#memory.delete(id);
      dropped.push(update(rddId, e.partition, 0, 0, 'dropped', e.generation));
    }
    for (const [id, where] of [...this.#onDisk]) {
      if (!id.startsWith(prefix)) continue;
      this.#disk?.remove(id);
      this.#onDisk.delete(id);
      // One drop per block, also for one held in memory and on disk.
      if (!inMemory.has(id)) dropped.push(update(rddId, where.partition, 0, 0, 'dropped', where.generation));
    }
    return dropped;
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

/** A block update; the generation only when above 0 (most RDDs are never rolled back: nothing more to send). */
function update(
  rddId: number,
  partition: number,
  memoryBytes: number,
  diskBytes: number,
  change: BlockUpdate['change'],
  generation: number,
): BlockUpdate {
  return generation === 0 ? { rddId, partition, memoryBytes, diskBytes, change } : { rddId, partition, memoryBytes, diskBytes, change, generation };
}
