/**
 * One worker's shuffle memory pool (Spark's execution memory pool, shared by every task of an executor): the
 * map outputs its shuffle store keeps in memory, the buffers of map tasks being written, and the combine
 * tables of running aggregations all draw from one byte budget. A per-task threshold alone cannot bound a
 * worker: a worker holding the outputs of many map tasks keeps all of them, each under the threshold.
 *
 * Sizes are estimates (sampled with the cache's size estimator), so the budget is a fraction of the heap
 * (`memory.shuffleFraction`), leaving room for what is not counted: fetched reduce input, user data, overhead.
 */

/** Something holding shuffle data in memory that can write it to disk on request. */
export interface MemoryConsumer {
  /** Estimated bytes held now; maintained by the consumer through {@link MemoryBudget.update}. */
  bytes: number;
  /** Writes what it holds in memory to disk; afterwards its `bytes` must have been reported as (near) 0. */
  spill(): void;
}

export class MemoryBudget {
  #used = 0;
  readonly #consumers = new Set<MemoryConsumer>();
  /** Spills performed by the consumers of this pool (visible to tests and metrics). */
  spills = 0;
  /** Estimated in-memory bytes those spills moved to disk, and the bytes they wrote (each task's spill metrics). */
  memoryBytesSpilled = 0;
  diskBytesSpilled = 0;

  constructor(
    readonly limit: number,
    /** Where consumers write their runs. */
    readonly dir: string,
  ) {}

  get used(): number {
    return this.#used;
  }

  register(c: MemoryConsumer): void {
    this.#consumers.add(c);
    this.#used += c.bytes;
  }

  /** Counts one spill of a consumer: what it held in memory (estimated) and what the run took on disk. */
  spilled(memoryBytes: number, diskBytes: number): void {
    this.spills++;
    this.memoryBytesSpilled += memoryBytes;
    this.diskBytesSpilled += diskBytes;
  }

  /** Forgets a consumer and the bytes it held (its data was dropped or handed on). */
  release(c: MemoryConsumer): void {
    if (!this.#consumers.delete(c)) return;
    this.#used -= c.bytes;
    c.bytes = 0;
  }

  /**
   * Records that `c` now holds `bytes`. When the pool is over its limit, other consumers are spilled, largest
   * first (a stored map output no reducer is reading is the usual victim), until it fits. Returns false when
   * spilling the others was not enough: the caller must then spill itself.
   */
  update(c: MemoryConsumer, bytes: number): boolean {
    const grew = bytes > c.bytes;
    this.#used += bytes - c.bytes;
    c.bytes = bytes;
    // A consumer reporting a spill (possibly from inside another's update) never triggers spills itself.
    if (!grew || this.#used <= this.limit) return true;
    const others = [...this.#consumers].filter((o) => o !== c && o.bytes > 0).sort((a, b) => b.bytes - a.bytes);
    for (const o of others) {
      if (this.#used <= this.limit) break;
      o.spill();
    }
    return this.#used <= this.limit;
  }

  /** Spills every consumer that can (those being read refuse): the heap guard's last resort before failing a task. */
  spillAll(): void {
    for (const o of [...this.#consumers].sort((a, b) => b.bytes - a.bytes)) if (o.bytes > 0) o.spill();
  }
}

// One pool per worker thread: worker threads have their own module instances, so a module-level pool is
// per worker. On the driver (and in unit tests that do not set one) there is none, and nothing spills.
let workerBudget: MemoryBudget | undefined;

export function setWorkerMemoryBudget(b: MemoryBudget | undefined): void {
  workerBudget = b;
}

export function workerMemoryBudget(): MemoryBudget | undefined {
  return workerBudget;
}
