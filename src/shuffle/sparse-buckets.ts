/**
 * A map output's buckets by reduce partition, holding only the non-empty ones. A map task of a shuffle into R reducers
 * writes to few of them when its data is small, and a stored output lives as long as its shuffle is reachable: an
 * iterative program whose partitions double every round (Spark's SparkTC) kept R slots per output, M x R per shuffle
 * and for every earlier round's shuffle, ~1.6 GiB of a worker's heap at 8,192 partitions for < 10k records. Held
 * sparse, an output costs O(its non-empty buckets). A plain object (reducer ids in a typed array, the buckets in a
 * list beside them), so it crosses `postMessage` as it is (a map status carries a shared output's).
 */

/** Buckets by reduce partition, only the non-empty ones: `ids` (ascending) and `list` are parallel. */
export interface SparseBuckets<T> {
  /** The number of reduce partitions. */
  readonly length: number;
  readonly ids: Int32Array;
  readonly list: T[];
}

/**
 * The non-empty entries of `all` (one per reduce partition), sparse.
 *
 * @example
 * const s = sparseBuckets([[], [1], []], (b) => b.length === 0); // { length: 3, ids: [1], list: [[1]] }
 */
export function sparseBuckets<T>(all: readonly T[], isEmpty: (t: T) => boolean): SparseBuckets<T> {
  let n = 0;
  for (let r = 0; r < all.length; r++) if (!isEmpty(all[r]!)) n++;
  const ids = new Int32Array(n);
  const list = new Array<T>(n);
  for (let r = 0, i = 0; r < all.length; r++) {
    if (isEmpty(all[r]!)) continue;
    ids[i] = r;
    list[i++] = all[r]!;
  }
  return { length: all.length, ids, list };
}

/** Where bucket `r` is in `s.list`, or -1 when it is empty (or out of range). */
export function slotOf(s: { readonly ids: Int32Array }, r: number): number {
  const ids = s.ids;
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const id = ids[mid]!;
    if (id === r) return mid;
    if (id < r) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Bucket `r`: `empty` when it holds nothing, undefined when `r` is not a reduce partition of the output. */
export function bucketAt<T>(s: SparseBuckets<T>, r: number, empty?: T): T | undefined {
  if (r < 0 || r >= s.length) return undefined;
  const i = slotOf(s, r);
  return i < 0 ? empty : s.list[i];
}

/**
 * A map status's record counts as one number per reducer, whichever form it came in (MapStatus.sizes).
 *
 * @example
 * denseSizes({ length: 3, ids: Int32Array.of(1), list: [5] }); // [0, 5, 0]
 */
export function denseSizes(sizes: readonly number[] | SparseBuckets<number>): number[] {
  if (!('list' in sizes)) return [...sizes];
  const out = new Array<number>(sizes.length).fill(0);
  for (let i = 0; i < sizes.ids.length; i++) out[sizes.ids[i]!] = sizes.list[i]!;
  return out;
}

/**
 * Up to this many reducers every reducer is its own slot (dense: no lookup per record, R slots of state made per map
 * task, as cheap as the records of a word count's or a PageRank's map task into a few reducers need); past it, a
 * reducer gets a slot at its first record through a Map holding only the reducers written to, so that a map task of a
 * shuffle into tens of thousands of reducers costs O(its records and the reducers it writes to), not O(R).
 */
const DENSE_LIMIT = 1024;

/**
 * A map task's slots of per-reducer state: with few reducers (dense) slot r is reducer r; with many, the reducers
 * written to get slots 0, 1, ... in the order of their first record, so per-reducer state is made only for them.
 *
 * @example
 * const slots = new ReducerSlots(100_000);
 * slots.slot(70_000); slots.slot(3); // 0 and 1: new slots (`size` before each call)
 * slots.slot(3); // 1
 * slots.get(5); // -1: no record for reducer 5
 * slots.ascending(); // [1, 0]: the slots by reducer
 */
export class ReducerSlots {
  /** Every reducer is its own slot, there from the start (`size` is R). */
  readonly dense: boolean;
  /** Slot by reducer, when not dense. */
  #map: Map<number, number> | undefined;
  /** Reducer by slot, when not dense. */
  #reducers: number[] = [];

  constructor(readonly numReducers: number) {
    this.dense = numReducers <= DENSE_LIMIT;
    if (!this.dense) this.#map = new Map();
  }

  /** Slots: R when dense, else the reducers given one so far. */
  get size(): number {
    return this.dense ? this.numReducers : this.#reducers.length;
  }

  /** Per-reducer entries held: R when dense, else the reducers written to. */
  get retained(): number {
    return this.dense ? this.numReducers : (this.#map?.size ?? 0);
  }

  #isReducer(r: number): boolean {
    return Number.isInteger(r) && r >= 0 && r < this.numReducers;
  }

  /** The slot of reducer `r`, or -1 when it has none (or is no reducer). */
  get(r: number): number {
    if (this.dense) return this.#isReducer(r) ? r : -1;
    return this.#map?.get(r) ?? -1;
  }

  /**
   * The slot of reducer `r`; when not dense, given the next one (`size` before the call) at its first call. Throws
   * when `r` is not a reduce partition.
   */
  slot(r: number): number {
    if (!this.dense) {
      const s = this.#map?.get(r);
      if (s !== undefined) return s;
    }
    if (!this.#isReducer(r)) throw notAReducer(r, this.numReducers);
    if (this.dense) return r;
    const s = this.#reducers.length;
    this.#reducers.push(r);
    this.#map!.set(r, s);
    return s;
  }

  /** The reducer of slot `s`. */
  reducer(s: number): number {
    return this.dense ? s : this.#reducers[s]!;
  }

  /** The slots in ascending order of their reducers. */
  ascending(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.size; s++) out.push(s);
    if (this.dense) return out;
    const reducers = this.#reducers;
    return out.sort((a, b) => reducers[a]! - reducers[b]!);
  }

  /** Lets the lookup and the slots go (a closed writer's closures outlive it). */
  clear(): void {
    this.#map = undefined;
    this.#reducers = [];
  }
}

/** What a partitioner's answer that is not one of the shuffle's reduce partitions is met with. */
export function notAReducer(r: unknown, numReducers: number): RangeError {
  return new RangeError(`reduce partition ${String(r)} is not one of the shuffle's ${numReducers} (a partitioner returned it)`);
}

/**
 * A map status's record counts from a writer's slots (`order`: ascending, those with records): only the reducers
 * written to when they are under a quarter of R (MapStatus.sizes), one count per reducer otherwise.
 */
export function statusSizes(
  slots: ReducerSlots,
  order: readonly number[],
  counts: readonly number[],
  numReducers: number,
): SparseBuckets<number> | number[] {
  if (order.length * 4 < numReducers) {
    const ids = new Int32Array(order.length);
    const list = new Array<number>(order.length);
    for (let j = 0; j < order.length; j++) {
      ids[j] = slots.reducer(order[j]!);
      list[j] = counts[order[j]!]!;
    }
    return { length: numReducers, ids, list };
  }
  const dense = new Array<number>(numReducers).fill(0);
  for (const s of order) dense[slots.reducer(s)] = counts[s]!;
  return dense;
}
