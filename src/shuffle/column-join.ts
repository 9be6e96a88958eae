/**
 * The inner join of two partitions cached as pair columns (storage/columnar-block.ts), by row: PageRank's
 * `links.join(ranks)` reads a cached CSR partition of links and a cached column pair of ranks every iteration.
 * Read as elements, both sides built a pair per row (and every list of links at once, kept for the whole task,
 * so they were promoted and traced by full collections) only for the join to take them apart again. Here the
 * left keys are indexed straight from their Int32Array, the right rows are matched by number, and a value is
 * built only when a joined record is pushed, so a list lives as long as the user's function needs it.
 *
 * The output is exactly CoGroupedRDD.pushInnerJoin's: keys in the left side's first-seen order, the left side's
 * values outer and the right side's inner, the left's first-seen key in each record (for int32 keys, the same
 * number), each value built once per key and shared by that key's records, as there.
 */
import { ColumnBlock, type PairColumns } from '../storage/columnar-block.js';
import { giveBack, takeInt32 } from '../util/scratch-arrays.js';

/**
 * Rows of an Int32Array of keys by key: the first row of each key and, per row, the next row with the same key.
 * Open addressing with linear probing and Fibonacci hashing, sized once for all rows (load at most 1/2); or, when the
 * keys are dense (span at most 4x their count, or at most 1,024: vertex ids, indexes), addressed directly, the first
 * row of key `k` at `k - min` of one Int32Array: no probe, and built in one pass (PageRank rebuilt the hashed index
 * of its cached links every iteration).
 */
export class IntColumnIndex {
  /** 0 for an empty slot, else 1 + the first row of the slot's key (hashed), or of key `base + slot` (direct). */
  readonly #slots: Int32Array;
  readonly #slotKeys: Int32Array;
  readonly #shift: number;
  /** Direct layout: the smallest key (else 0). */
  readonly #base: number;
  readonly #direct: boolean;
  /** The next row with the same key as row i, or -1. */
  readonly next: Int32Array;

  /**
   * `options.dense: false` keeps the hashed layout whatever the keys (tests compare the two). `options.kept`: the
   * index lives as long as its keys (see keptIndexOf), so its arrays are its own, not the thread's pool's.
   */
  constructor(keys: Int32Array, options: { dense?: boolean; kept?: boolean } = {}) {
    // No loop here: each is a function of its own (see joinRows on V8's on-stack optimization).
    const n = keys.length;
    const take = options.kept ? (length: number): Int32Array => new Int32Array(length) : takeInt32;
    this.next = take(n).fill(-1);
    const mayBeDense = n > 0 && options.dense !== false;
    const range = mayBeDense ? keyRange(keys) : undefined;
    if (range !== undefined && range.max - range.min + 1 <= Math.max(4 * n, 1024)) {
      this.#direct = true;
      this.#base = range.min;
      this.#slots = take(range.max - range.min + 1);
      this.#slotKeys = this.#slots;
      this.#shift = 0;
      indexDirect(keys, range.min, this.#slots, this.next);
      return;
    }
    this.#direct = false;
    this.#base = 0;
    let bits = 4;
    while (1 << bits < 2 * n) bits++;
    this.#slots = take(1 << bits);
    this.#slotKeys = take(1 << bits);
    this.#shift = 32 - bits;
    indexHashed(keys, this.#shift, this.#slots, this.#slotKeys, this.next);
  }

  /** Gives the index's arrays back to the thread's pool (util/scratch-arrays.ts); the index is not used afterwards. */
  release(): void {
    giveBack(this.#slots);
    giveBack(this.#slotKeys);
    giveBack(this.next);
  }

  /** Bytes of the index's arrays. */
  get bytes(): number {
    return this.#slots.byteLength + (this.#slotKeys === this.#slots ? 0 : this.#slotKeys.byteLength) + this.next.byteLength;
  }

  /** Whether the keys are addressed directly (for tests). */
  get dense(): boolean {
    return this.#direct;
  }

  /** The first row of key `k` (an int32), or -1. */
  find(k: number): number {
    const slots = this.#slots;
    if (this.#direct) {
      const d = k - this.#base;
      return d >= 0 && d < slots.length ? slots[d]! - 1 : -1;
    }
    const slotKeys = this.#slotKeys;
    const mask = slots.length - 1;
    for (let i = Math.imul(k, 0x9e3779b1) >>> this.#shift; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      if (slotKeys[i] === k) return s - 1;
    }
  }
}

/** The smallest and largest of (at least one) keys. */
function keyRange(keys: Int32Array): { min: number; max: number } {
  let min = keys[0]!;
  let max = min;
  for (let r = 1; r < keys.length; r++) {
    const k = keys[r]!;
    if (k < min) min = k;
    else if (k > max) max = k;
  }
  return { min, max };
}

/** The direct layout: the first row of key `min + d` at `slots[d]` (plus 1); later rows of a key chained in `next`. */
function indexDirect(keys: Int32Array, min: number, slots: Int32Array, next: Int32Array): void {
  // The last row of each key so far, by its first row, to append duplicates in row order.
  let last: Int32Array | undefined;
  for (let r = 0; r < keys.length; r++) {
    const d = keys[r]! - min;
    const s = slots[d]!;
    if (s === 0) {
      slots[d] = r + 1;
      continue;
    }
    last ??= takeInt32(keys.length).fill(-1);
    const first = s - 1;
    const tail = last[first]! < 0 ? first : last[first]!;
    next[tail] = r;
    last[first] = r;
  }
  if (last !== undefined) giveBack(last);
}

/** The hashed layout (as `find` probes it); later rows of a key chained in `next`. */
function indexHashed(keys: Int32Array, shift: number, slots: Int32Array, slotKeys: Int32Array, next: Int32Array): void {
  let last: Int32Array | undefined;
  const mask = slots.length - 1;
  for (let r = 0; r < keys.length; r++) {
    const k = keys[r]!;
    let i = Math.imul(k, 0x9e3779b1) >>> shift;
    for (; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) {
        slots[i] = r + 1;
        slotKeys[i] = k;
        break;
      }
      if (slotKeys[i] === k) {
        last ??= takeInt32(keys.length).fill(-1);
        const first = s - 1;
        const tail = last[first]! < 0 ? first : last[first]!;
        next[tail] = r;
        last[first] = r;
        break;
      }
    }
  }
  if (last !== undefined) giveBack(last);
}

/**
 * Pushes `[k, [v, w]]` for every pair of a left row and a right row with equal keys, in pushInnerJoin's order
 * (see above). The left keys must be an Int32Array (int32 numbers, no -0): the engine's key equality on them is
 * number equality, so a right key matches when it is the same int32 (-0 matching 0), and NaN, fractions and
 * numbers beyond int32 match nothing. With `valuesOnly` (the join's `values()`), pushes each `[v, w]` to it instead,
 * with no pair of the key and the values built.
 *
 * @example
 * ```ts
 * joinColumns(linksBlock, ranksBlock, (kv) => out.push(kv)); // [vertex, [neighbours, rank]], links' order
 * ```
 */
export function joinColumns(
  left: PairColumns & { readonly keys: Int32Array },
  right: PairColumns,
  sink: (kv: [number, [unknown, unknown]]) => void,
  valuesOnly?: (vw: [unknown, unknown]) => void,
): void {
  const lk = left.keys;
  const n = lk.length;
  const kept = left instanceof ColumnBlock ? keptIndexOf(left, lk) : undefined;
  const index = kept ?? new IntColumnIndex(lk);
  // Right rows by the first left row of their key: the first in a column, any further ones in a list.
  const rightCount = takeInt32(n);
  const rightFirst = takeInt32(n);
  try {
    joinRows(left, right, index, rightCount, rightFirst, sink, valuesOnly);
  } finally {
    if (kept === undefined) index.release();
    giveBack(rightCount);
    giveBack(rightFirst);
  }
}

/** The index of each cached block's key column, built by its first join (see keptIndexOf). */
const keptIndexes = new WeakMap<ColumnBlock, IntColumnIndex>();
/** Bytes of this thread's kept indexes whose blocks have not been collected yet. */
let keptBytes = 0;
let keptBytesLimit = 16 * 2 ** 20;
const forgetKept = new FinalizationRegistry<number>((bytes) => {
  keptBytes -= bytes;
});

/**
 * The index of a cached block's keys, kept with the block. A cached partition's columns never change, and an
 * iterative program joins the same cached block every iteration (PageRank's links): building the index again each
 * time was a pass over the keys for their range and another to place them, ~0.7 ms of each worker's map task.
 * The block is the key, so an index goes when its block does (unpersisted, evicted). The storage's accounting does
 * not see these arrays (up to ~20 bytes a row), so a thread keeps at most {@link setKeptIndexBytes}' bytes of them
 * (16 MiB): past that a join builds its index for itself, as before. Undefined then.
 */
function keptIndexOf(block: ColumnBlock, keys: Int32Array): IntColumnIndex | undefined {
  const found = keptIndexes.get(block);
  if (found !== undefined || keptBytes >= keptBytesLimit) return found;
  const index = new IntColumnIndex(keys, { kept: true });
  keptIndexes.set(block, index);
  keptBytes += index.bytes;
  forgetKept.register(block, index.bytes);
  return index;
}

/**
 * Sets how many bytes of cached blocks' key indexes this thread keeps (tests; default 16 MiB) and returns the
 * bytes kept now. Indexes kept already stay.
 *
 * @example
 * ```ts
 * setKeptIndexBytes(0); // every join builds its index for itself
 * ```
 */
export function setKeptIndexBytes(limit: number): number {
  keptBytesLimit = limit;
  return keptBytes;
}

// joinRows' two loops are functions of their own: a loop in a function called once per task is optimized on stack
// (OSR) while it runs, and V8 (Node 20) kept re-entering that code and leaving it at the first statement after the
// loop, which had no type feedback when it was compiled (in most of PageRank's map tasks on one worker, the join,
// the user's function and the combine then interpreted until compiled again; `--trace-deopt`).
function joinRows(
  left: PairColumns & { readonly keys: Int32Array },
  right: PairColumns,
  index: IntColumnIndex,
  rightCount: Int32Array,
  rightFirst: Int32Array,
  sink: (kv: [number, [unknown, unknown]]) => void,
  valuesOnly: ((vw: [unknown, unknown]) => void) | undefined,
): void {
  const rightMore = countRightRows(right.keys, index, rightCount, rightFirst);
  pushJoinedRows(left, right, index.next, rightCount, rightFirst, rightMore, sink, valuesOnly);
}

/** Right rows by the first left row of their key: the count, the first row, any further ones in `rightMore`. */
function countRightRows(
  rk: PairColumns['keys'],
  index: IntColumnIndex,
  rightCount: Int32Array,
  rightFirst: Int32Array,
): Map<number, number[]> | undefined {
  let rightMore: Map<number, number[]> | undefined;
  for (let j = 0; j < rk.length; j++) {
    const k = rk[j]!;
    if ((k | 0) !== k) continue;
    const r = index.find(k);
    if (r < 0) continue;
    const seen = rightCount[r]!;
    rightCount[r] = seen + 1;
    if (seen === 0) rightFirst[r] = j;
    else {
      const extra = (rightMore ??= new Map<number, number[]>());
      const more = extra.get(r);
      if (more === undefined) extra.set(r, [j]);
      else more.push(j);
    }
  }
  return rightMore;
}

function pushJoinedRows(
  left: PairColumns & { readonly keys: Int32Array },
  right: PairColumns,
  next: Int32Array,
  rightCount: Int32Array,
  rightFirst: Int32Array,
  rightMore: Map<number, number[]> | undefined,
  sink: (kv: [number, [unknown, unknown]]) => void,
  valuesOnly: ((vw: [unknown, unknown]) => void) | undefined,
): void {
  const lk = left.keys;
  const n = lk.length;
  for (let r = 0; r < n; r++) {
    // Only the first row of a key has right rows counted.
    const count = rightCount[r]!;
    if (count === 0) continue;
    const k = lk[r]!;
    if (count === 1 && next[r]! < 0) {
      if (valuesOnly !== undefined) valuesOnly([left.valueAt(r), right.valueAt(rightFirst[r]!)]);
      else sink([k, [left.valueAt(r), right.valueAt(rightFirst[r]!)]]);
      continue;
    }
    const vs: unknown[] = [];
    for (let x = r; x >= 0; x = next[x]!) vs.push(left.valueAt(x));
    const ws: unknown[] = [right.valueAt(rightFirst[r]!)];
    if (count > 1) for (const j of rightMore!.get(r)!) ws.push(right.valueAt(j));
    for (const v of vs) {
      for (const w of ws) {
        if (valuesOnly !== undefined) valuesOnly([v, w]);
        else sink([k, [v, w]]);
      }
    }
  }
}
