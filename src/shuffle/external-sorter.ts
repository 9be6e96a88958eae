/**
 * Sorting one reduce partition under the worker's shuffle memory budget (Spark's ExternalSorter on the reduce
 * side of sortByKey). Records are buffered with their sort key; when the worker's pool cannot hold the buffer (or
 * the heap guard asks the pool to spill), the buffer is sorted and written as a framed run file, and a new one
 * starts. At the end the runs and the buffer still in memory are merge-read, one frame per run at a time, straight
 * to the sink, so a partition larger than the worker's heap is sorted with memory bounded by the runs' read-ahead.
 *
 * Stable, as the in-memory sort: runs are cut in arrival order and the merge breaks ties by run, so records with
 * keys the order calls equal keep the order they arrived in.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { compareKeys } from '../core/keys.js';
import { checkHeap } from '../core/heap-guard.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';
import { estimateSize } from '../storage/size-estimator.js';
import type { Pair } from './combine.js';
import { FramedRunReader, writeFramedRun } from './external-combiner.js';
import { IndexHeap } from './index-heap.js';
import { workerMemoryBudget, type MemoryBudget, type MemoryConsumer } from './memory-budget.js';

/** How a partition is ordered: the engine's key order, ascending or not, of the key or of `sortKey(key)`. */
export interface SortOrder {
  readonly ascending: boolean;
  /** pyspark's `keyfunc`: computed once per record, when it arrives. */
  readonly sortKey?: (k: unknown) => unknown;
  /** A user's order of the keys (sortByKey's `compare`) instead of the engine's. */
  readonly compare?: (a: unknown, b: unknown) => number;
}

/** Re-estimate the buffer every this many records (as the combine table is). */
const CHECK_EVERY = 1024;
/** Records whose size is estimated at each check, for the buffer's average record size. */
const SAMPLE = 64;
/**
 * A run is never cut smaller than this share of the pool when the pool alone asks (other consumers, such as the
 * task's own fetched input being read, may hold it whole): thousands of tiny runs would each keep a frame in
 * memory while merging. The heap guard's relief spills whatever there is.
 */
const MIN_RUN_SHARE = 1 / 8;

let runCounter = 0;

/** One source of the merge: a run file or the buffer left in memory. */
interface Head {
  readonly head: Pair | undefined;
  advance(): void;
  close(): void;
}

class BufferReader implements Head {
  #i = 0;
  constructor(private readonly entries: Pair[]) {}
  get head(): Pair | undefined {
    return this.entries[this.#i];
  }
  advance(): void {
    this.#i++;
  }
  close(): void {}
}

export class ExternalSorter implements MemoryConsumer {
  bytes = 0;
  /** Entries whose first element is the sort key: the record itself, or [sortKey(key), record] with a key function. */
  #buffer: Pair[] = [];
  #records = 0;
  #avgBytes = 0;
  readonly #runs: string[] = [];
  /** Once the output starts, the buffer is being read and must not be spilled under it. */
  #outputting = false;
  /** The order of two sort keys, direction included. */
  readonly #keys: (a: unknown, b: unknown) => number;
  readonly #compare: (a: Pair, b: Pair) => number;

  constructor(
    private readonly label: string,
    private readonly order: SortOrder,
    /** The worker's pool; without one (the driver, a local unit test) nothing spills. */
    private readonly budget: MemoryBudget | undefined = workerMemoryBudget(),
  ) {
    const sign = order.ascending ? 1 : -1;
    const keys = order.compare ?? compareKeys;
    this.#keys = (a, b) => sign * keys(a, b);
    this.#compare = (a, b) => this.#keys(a[0], b[0]);
    budget?.register(this);
  }

  /** Run files written so far (their number is what tests and metrics look at). */
  get runs(): number {
    return this.#runs.length;
  }

  readonly add = (kv: Pair): void => {
    const sortKey = this.order.sortKey;
    const n = this.#buffer.push(sortKey === undefined ? kv : [sortKey(kv[0]), kv]);
    if (++this.#records % CHECK_EVERY !== 0) return;
    const sample = this.#buffer.slice(Math.max(0, n - SAMPLE));
    const size = estimateSize(sample as unknown[]) / sample.length;
    this.#avgBytes = this.#avgBytes === 0 ? size : (this.#avgBytes + size) / 2;
    const budget = this.budget;
    if (budget !== undefined && !budget.update(this, n * this.#avgBytes) && this.bytes >= budget.limit * MIN_RUN_SHARE) this.spill();
    checkHeap(this.#what, 'use more partitions');
  };

  readonly #what = (): string => `the sort buffer of ${this.label} (${this.#buffer.length} records in memory, ${this.#runs.length} runs spilled)`;

  /** Sorts the buffer and writes it as a run (called by the pool or the heap guard too). */
  spill(): void {
    const budget = this.budget;
    if (this.#outputting || this.#buffer.length === 0 || budget === undefined) return;
    // Array sort is stable: equal keys keep arrival order within the run.
    this.#buffer.sort(this.#compare);
    const file = path.join(budget.dir, `sort_${process.pid}_${runCounter++}.run`);
    const diskBytes = writeFramedRun(file, this.#buffer);
    this.#runs.push(file);
    this.#buffer = [];
    const memoryBytes = this.bytes;
    budget.spilled(memoryBytes, diskBytes);
    budget.update(this, 0);
  }

  /** Pushes every record to `sink` in order (once). */
  output(sink: (kv: Pair) => void): void {
    this.#outputting = true;
    const buffer = this.#buffer;
    buffer.sort(this.#compare);
    const unwrap = this.order.sortKey === undefined ? (e: Pair) => e : (e: Pair) => e[1] as Pair;
    if (this.#runs.length === 0) {
      for (let i = 0; i < buffer.length; i++) {
        // The records go on to the rest of the task's pipeline (a slow map): a cancelled task stops here too.
        if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
        sink(unwrap(buffer[i]!));
      }
      return;
    }
    const what = (): string => `reading back the sorted runs of ${this.label}`;
    // The buffer arrived last, so it is the last source: ties between sources go to the earlier one.
    const sources: Head[] = [];
    try {
      for (const f of this.#runs) sources.push(new FramedRunReader(f, what));
      sources.push(new BufferReader(buffer));
      const heap = new IndexHeap((i, j) => {
        const c = this.#compare(sources[i]!.head!, sources[j]!.head!);
        return c < 0 || (c === 0 && i < j);
      });
      for (let i = 0; i < sources.length; i++) if (sources[i]!.head !== undefined) heap.push(i);
      for (let i = heap.peek(), n = 1; i !== undefined; i = heap.peek(), n++) {
        if ((n & INTERRUPT_MASK) === 0) checkInterrupted();
        const s = sources[i]!;
        const e = s.head!;
        s.advance();
        heap.advanced(s.head === undefined);
        sink(unwrap(e));
      }
    } finally {
      for (const s of sources) s.close();
    }
  }

  dispose(): void {
    this.budget?.release(this);
    for (const f of this.#runs) rmSync(f, { force: true });
    this.#runs.length = 0;
    this.#buffer = [];
  }

  toString(): string {
    return `sort buffer of ${this.label}`;
  }
}

/**
 * Sorts what `source` pushes by `order` and pushes it to `sink`, spilling sorted runs to the worker's pool
 * directory when the pool runs out; the runs are removed when this returns or throws.
 */
export function sortExternally(
  source: (each: (kv: Pair) => void) => void,
  order: SortOrder,
  label: string,
  sink: (kv: Pair) => void,
  budget: MemoryBudget | undefined = workerMemoryBudget(),
): { runs: number } {
  const sorter = new ExternalSorter(label, order, budget);
  try {
    source(sorter.add);
    const runs = sorter.runs;
    sorter.output(sink);
    return { runs };
  } finally {
    sorter.dispose();
  }
}
