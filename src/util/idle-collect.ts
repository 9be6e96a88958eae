/**
 * A full garbage collection of this thread's heap when the thread has just become idle and its heap has grown
 * well beyond what the last collection left (issue 8: PageRank's peak RSS, docs/benchmarks.md, session 9).
 *
 * Why: a worker with little live data (5–10 MB) gets a mark-compact from V8 seldom, so what a task promoted (a
 * join's lists, a combine's tables) stays in the old generation, committed, for several more tasks. In PageRank
 * the first iteration leaves 35–50 MB of such garbage per worker, held through iterations 2–5 until V8 collects
 * it, and with both workers in that state the process reaches its peak. Collected as soon as the task that made
 * it has ended, it costs one mark-compact that V8 would have run later anyway (the live data is what it marks),
 * in a moment when the worker has no task: only a task arriving during the collection waits for it.
 *
 * Only where collecting pays: some full collection since the last one made here (V8's, or that one) must have
 * found at least half of the heap garbage. A worker whose heap grew by caching live data (k-means' points: 28 of 33 MB live at V8's last
 * mark-compact, then 70 of 82 MB) would else mark it all for little (0.1–0.5 s a worker at load 25, session 9).
 * V8's collections are seen through `v8.GCProfiler`, read only when the heap has grown enough to be a candidate
 * (and every {@link PROFILE_READS_EVERY} checks, which bounds what the profiler keeps).
 *
 * The collection function is V8's `gc` (the `--expose-gc` extension), taken from a fresh `vm` context with the
 * flag set just for that and cleared again, so that no other context sees a `gc` global. Where that cannot be
 * done (the flag frozen) this does nothing.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** Heap growth (bytes used beyond what the last collection left) that makes an idle thread collect, if the heap also doubled. */
export const IDLE_COLLECT_GROWTH = 24 * 1024 * 1024;

/** Least time between two checks scheduled at the end of tasks. */
export const CHECK_EVERY_MS = 20;

/** Checks between two reads of the GC profiler when none was a candidate. */
export const PROFILE_READS_EVERY = 256;

/** Whether this thread's full collections have found mostly garbage, and noting one this module made. */
export interface MajorCollections {
  /** Whether one since the last `made` (or since the start) found at least half of the heap garbage. */
  paid(): boolean;
  made(m: MajorCollection): void;
}

/** A full collection: heap bytes used before and after it. */
export interface MajorCollection {
  readonly before: number;
  readonly after: number;
}

let collect: (() => void) | undefined | null = null;

/** V8's full collection of this thread's heap, or undefined where it is not available. */
function fullCollection(): (() => void) | undefined {
  if (collect !== null) return collect;
  collect = undefined;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
    if (typeof gc === 'function') collect = () => void gc();
  } catch {
    // No collection on demand: the heap is left to V8's own schedule.
  } finally {
    try {
      v8.setFlagsFromString('--no-expose-gc');
    } catch {
      // Nothing was changed.
    }
  }
  return collect;
}

/**
 * This thread's full collections as V8's GC profiler records them (none where the profiler is not available).
 */
export function majorCollections(): MajorCollections {
  let profiler: v8.GCProfiler | undefined;
  try {
    profiler = new v8.GCProfiler();
    profiler.start();
  } catch {
    profiler = undefined;
  }
  let paid = false;
  const pays = (m: MajorCollection): boolean => m.before >= 2 * m.after;
  const read = (): void => {
    if (profiler === undefined) return;
    const events = profiler.stop()?.statistics ?? [];
    profiler.start();
    for (const e of events) {
      const m = { before: e.beforeGC.heapStatistics.usedHeapSize, after: e.afterGC.heapStatistics.usedHeapSize };
      if (e.gcType === 'MarkSweepCompact' && pays(m)) paid = true;
    }
  };
  return {
    paid() {
      read();
      return paid;
    },
    made(m) {
      // `gc()` may finish V8's marking under way and then mark again: its events say less than the whole did.
      read();
      paid = pays(m);
    },
  };
}

/**
 * Counts running tasks; when the last one ends, checks the heap at the next turn of the event loop (after the
 * task's result has been posted) and collects if it grew by at least `growth` bytes, and at least doubled, since
 * the last collection this made (or since it was created), and a full collection since then found at least half of
 * the heap garbage.
 */
export class IdleCollector {
  readonly #growth: number;
  readonly #used: () => number;
  readonly #collect: () => (() => void) | undefined;
  readonly #majors: MajorCollections;
  #checks = 0;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #running = 0;
  #pending: ReturnType<typeof setImmediate> | undefined;
  /** Heap bytes used after the last collection (the lowest seen since, as V8's own collections lower it too). */
  #floor: number;
  /** Collections made; read by tests and benchmarks. */
  collections = 0;

  constructor(
    options: {
      growth?: number;
      /** Heap bytes in use (tests give their own). */
      used?: () => number;
      /** The collection function (tests give their own). */
      collect?: () => (() => void) | undefined;
      /** Whether collecting pays (tests give their own). */
      paid?: () => boolean;
    } = {},
  ) {
    this.#growth = options.growth ?? IDLE_COLLECT_GROWTH;
    this.#used = options.used ?? (() => v8.getHeapStatistics().used_heap_size);
    this.#collect = options.collect ?? fullCollection;
    const paid = options.paid;
    this.#majors = paid === undefined ? majorCollections() : { paid, made: () => undefined };
    this.#floor = this.#used();
  }

  taskStarted(): void {
    this.#running++;
    if (this.#pending !== undefined) {
      clearImmediate(this.#pending);
      this.#pending = undefined;
    }
  }

  taskEnded(): void {
    this.#running = Math.max(0, this.#running - 1);
    if (this.#running > 0 || this.#pending !== undefined) return;
    // At most one check per CHECK_EVERY_MS: a stream of short tasks (20k empty tasks a second) must not pay a turn
    // of the loop and a heap query each, and a task that grew the heap by 24 MB took longer than that.
    const now = performance.now();
    if (now - this.#checkedAt < CHECK_EVERY_MS) return;
    this.#checkedAt = now;
    this.#pending = setImmediate(() => {
      this.#pending = undefined;
      this.check();
    });
    // A pending check must not keep a thread alive that has nothing else to do.
    this.#pending.unref();
  }

  /** Collects now if no task runs and the heap grew enough; true when it did. */
  check(): boolean {
    if (this.#running > 0) return false;
    const used = this.#used();
    if (used < this.#floor) this.#floor = used;
    // Also at least twice what was left: a heap of much live data (a cached partition of objects) would else be
    // marked whole at every 24 MB it grows, at a cost growing with it; doubling bounds their sum as V8's own limit
    // does.
    const candidate = used - this.#floor >= this.#growth && used >= 2 * this.#floor;
    if (!candidate) {
      if (++this.#checks % PROFILE_READS_EVERY === 0) this.#majors.paid();
      return false;
    }
    if (!this.#majors.paid()) return false;
    const gc = this.#collect();
    if (gc === undefined) return false;
    gc();
    this.collections++;
    this.#floor = this.#used();
    this.#majors.made({ before: used, after: this.#floor });
    return true;
  }
}
