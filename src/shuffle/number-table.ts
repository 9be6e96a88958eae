/**
 * Groups keyed by int32 numbers whose combiners are numbers (a reduceByKey of numbers over vertex ids, indexes,
 * counts): keys and combiners in typed arrays, no [key, combiner] pair per group and no heap number per merge.
 * PageRank's contributions (a million per iteration into 100k keys) spent most of their map-side combine
 * allocating and collecting those; here a merge writes a double into a Float64Array.
 *
 * Dense keys (ids, indexes: integers in a range not much wider than their count) are addressed directly instead
 * of hashed: while the keys seen span at most {@link DENSE_SPAN_PER_KEY} times their count (or at most
 * {@link DENSE_SPAN_FLOOR}), a key's combiner sits at `key - base` of one Float64Array, with a bitmap of the keys
 * present, so a merge costs one bit test and one load instead of a probe of a hash table three times the size
 * (which missed the cache on most records). The table starts hashed (keys may be anything int32), checks the keys'
 * span each time it grows, and moves to the direct layout when they are dense; a later key outside the range
 * widens it while the keys stay dense, else the groups move back to hashing (and may move again at a later growth).
 * Either way the groups, their first-seen order and every createCombiner/merge call are the same.
 *
 * The table holds only what it can: the first combiner that is not a number (or a key it does not take) is
 * refused, and the caller moves the groups to the general structures (see combine.ts).
 */

import { giveBack, takeFloat64, takeInt32 } from '../util/scratch-arrays.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';
import { growIntSlots } from './key-table.js';

const INITIAL_SLOTS = 64;
/** The direct layout is used while the keys span at most this many times their count... */
export const DENSE_SPAN_PER_KEY = 4;
/** ...or at most this many integers (1 MiB of combiners), whatever their count. */
export const DENSE_SPAN_FLOOR = 1 << 17;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const NO_F64 = new Float64Array(0);
const NO_I32 = new Int32Array(0);

let denseKeys = true;
/**
 * Turns the direct layout for dense keys on or off for tables created from now on (tests and benchmarks compare the
 * two; the engine leaves it on). Returns the previous setting.
 */
export function setDenseNumberKeys(on: boolean): boolean {
  const was = denseKeys;
  denseKeys = on;
  return was;
}

/** Whether `k` is a key of a {@link NumberTable}: an int32 number, not -0 (which a typed array would turn into 0). */
export function isNumberTableKey(k: unknown): k is number {
  return typeof k === 'number' && (k | 0) === k && (k !== 0 || 1 / k > 0);
}

/** How wide a range of keys the direct layout may cover for `count` keys. */
const denseLimit = (count: number): number => Math.max(DENSE_SPAN_PER_KEY * count, DENSE_SPAN_FLOOR);

/** Open addressing, linear probing, Fibonacci hashing, load at most 1/2 (as IntTable); or direct (see above). */
export class NumberTable {
  /** 0 for an empty slot, else 1 + the entry's index (hashed layout; empty in the direct one). */
  #slots = new Int32Array(INITIAL_SLOTS);
  /** Slot keys, next to the slots so that a probe touches no other memory. */
  #slotKeys = new Int32Array(INITIAL_SLOTS);
  #shift = 32 - Math.log2(INITIAL_SLOTS);
  /** Entries in first-seen order. */
  #keys = new Int32Array(INITIAL_SLOTS / 2);
  /** Combiners by entry (hashed layout; in the direct one only filled by {@link columns}). */
  #combiners = new Float64Array(INITIAL_SLOTS / 2);
  #size = 0;
  /** Smallest and largest key so far. */
  #min = INT32_MAX;
  #max = INT32_MIN;
  readonly #mayBeDense = denseKeys;
  /** Direct layout: the combiner of key `base + d` at `d`, its presence at bit `d` of `#present`. */
  #dense = false;
  #base = 0;
  #values: Float64Array = NO_F64;
  #present: Int32Array = NO_I32;
  /**
   * Set when {@link add} refused a record: the combiner it had already built (createCombiner's or merge's
   * result, which must not be computed twice: either may count or have effects).
   */
  refused: unknown;
  /** The key of the record {@link addPairs} refused. */
  refusedKey = 0;

  get size(): number {
    return this.#size;
  }

  /**
   * Bytes the table's arrays hold. The direct layout's are set by the keys' span, not their count: a few keys
   * spread over 128k integers hold about 1 MB, which an estimate per group misses.
   */
  get bytes(): number {
    return (
      this.#slots.buffer.byteLength +
      this.#slotKeys.buffer.byteLength +
      this.#keys.buffer.byteLength +
      this.#combiners.buffer.byteLength +
      this.#values.buffer.byteLength +
      this.#present.buffer.byteLength
    );
  }

  /** Whether the keys are addressed directly now (for tests). */
  get dense(): boolean {
    return this.#dense;
  }

  /**
   * Adds a record with an int32 key (see isNumberTableKey): `first(v)` for a new key, else `merge(c, v)`.
   * Returns false, with {@link refused} set and the table unchanged, when the result is not a number.
   */
  add(key: number, v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): boolean {
    // A merge into a key present in the direct layout, the most common record by far, is kept small enough here for
    // V8 to inline `add` (and the merge function) into the caller's loop; everything else is in #addOther.
    if (this.#dense) {
      const values = this.#values;
      const d = key - this.#base;
      if (d >= 0 && d < values.length && (this.#present[d >>> 5]! & (1 << (d & 31))) !== 0) {
        const c = merge(values[d], v);
        if (typeof c !== 'number') {
          this.refused = c;
          return false;
        }
        values[d] = c;
        return true;
      }
    }
    return this.#addOther(key, v, first, merge);
  }

  /**
   * {@link add} of elements `from .. to` of an array of records (a flatMap's result), each checked to be a pair
   * first (`notAPair` throws for one that is not). Returns where it stopped: `to` when it added them all; `i` when
   * record `i`'s key is not a table key (the record is left to the caller, untouched); `~i` when record `i`'s combiner
   * was refused ({@link refused} and {@link refusedKey} set, the table unchanged by it).
   *
   * Why a loop here rather than `add` per record in the caller: the caller's loop sits at the end of a long chain
   * that V8 inlines into one function (a join, the user's flatMap, the combine's sinks), whose inlining budget
   * (920 bytes of bytecode) ran out before `add` in PageRank's map task, so every record paid a call (and the merge
   * function another). Here the merge into a present key of the direct layout is written out, with no call but
   * the merge function itself (small enough to be inlined whatever the budget), and the layout's arrays are read
   * once per call rather than once per record.
   */
  addPairs(
    xs: readonly unknown[],
    from: number,
    to: number,
    first: (v: unknown) => unknown,
    merge: (c: unknown, v: unknown) => unknown,
    notAPair: (x: unknown) => never,
  ): number {
    let dense = this.#dense;
    let values = this.#values;
    let present = this.#present;
    let base = this.#base;
    for (let i = from; i < to; i++) {
      const kv = xs[i];
      // isPair, written out: inlined, isPair's `length` load reads the feedback of every caller's arrays (pairs of
      // every elements kind, lists, rows), which a worker's earlier stages make polymorphic or megamorphic; here it
      // sees this loop's records only.
      if (!(Array.isArray(kv) && kv.length === 2)) notAPair(kv);
      const k = (kv as [unknown, unknown])[0];
      // isNumberTableKey, written out (it is over the size V8 inlines whatever the budget).
      if (typeof k !== 'number' || (k | 0) !== k || (k === 0 && 1 / k < 0)) return i;
      const v = (kv as [unknown, unknown])[1];
      if (dense) {
        const d = k - base;
        if (d >= 0 && d < values.length && (present[d >>> 5]! & (1 << (d & 31))) !== 0) {
          const c = merge(values[d], v);
          if (typeof c !== 'number') {
            this.refused = c;
            this.refusedKey = k;
            return ~i;
          }
          values[d] = c;
          continue;
        }
      }
      if (!this.#addOther(k, v, first, merge)) {
        this.refusedKey = k;
        return ~i;
      }
      // A new key may have widened the direct layout, or moved the table to or from it.
      dense = this.#dense;
      values = this.#values;
      present = this.#present;
      base = this.#base;
    }
    return to;
  }

  /**
   * {@link add} of records `from .. to` of a key column and a value column (a fetched bucket). Returns `to` when it
   * added them all, or `~i` when record `i`'s combiner was refused ({@link refused} set, the table unchanged by it).
   * A method for the reason {@link addPairs} is one, and for another: the grouping's own loop was a closure made per
   * task, whose optimized code V8 dropped at the worker's full collections; this one keeps it. Its merge into a
   * present key repeats addPairs' on purpose: shared as a helper, it would be a call per record again wherever the
   * caller's inlining budget is spent (addPairs is inlined into the join's loop, where it is).
   */
  addColumns(
    keys: Int32Array,
    vs: Float64Array | Int32Array,
    from: number,
    to: number,
    first: (v: unknown) => unknown,
    merge: (c: unknown, v: unknown) => unknown,
  ): number {
    let dense = this.#dense;
    let values = this.#values;
    let present = this.#present;
    let base = this.#base;
    for (let i = from; i < to; i++) {
      const k = keys[i]!;
      const v = vs[i];
      if (dense) {
        const d = k - base;
        if (d >= 0 && d < values.length) {
          const word = d >>> 5;
          const bit = 1 << (d & 31);
          if ((present[word]! & bit) !== 0) {
            const c = merge(values[d], v);
            if (typeof c !== 'number') {
              this.refused = c;
              return ~i;
            }
            values[d] = c;
            continue;
          }
          // A new key inside the layout, as #addOther adds it, written out here: a reduce task's first bucket is all
          // new keys (PageRank's: ~38k of its ~50k), and a call per key was most of the reduce side's combine. Not
          // in addPairs, whose loop V8 inlines into the join's, where the larger body cost the map task (session 26).
          const c = first(v);
          if (typeof c !== 'number') {
            this.refused = c;
            return ~i;
          }
          present[word] = present[word]! | bit;
          values[d] = c;
          this.#append(k);
          continue;
        }
      }
      if (!this.#addOther(k, v, first, merge)) return ~i;
      dense = this.#dense;
      values = this.#values;
      present = this.#present;
      base = this.#base;
    }
    return to;
  }

  /** {@link add} of anything but a merge into a present key of the direct layout. */
  #addOther(key: number, v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): boolean {
    if (this.#dense) {
      const values = this.#values;
      const d = key - this.#base;
      if (d >= 0 && d < values.length) {
        // Absent (a present key was merged in `add`).
        const c = first(v);
        if (typeof c !== 'number') {
          this.refused = c;
          return false;
        }
        this.#present[d >>> 5] = this.#present[d >>> 5]! | (1 << (d & 31));
        values[d] = c;
        this.#append(key);
        return true;
      }
      return this.#addOutside(key, v, first);
    }
    const slots = this.#slots;
    const slotKeys = this.#slotKeys;
    const mask = slots.length - 1;
    let i = Math.imul(key, 0x9e3779b1) >>> this.#shift;
    for (; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) break;
      if (slotKeys[i] === key) {
        const c = merge(this.#combiners[s - 1], v);
        if (typeof c !== 'number') {
          this.refused = c;
          return false;
        }
        this.#combiners[s - 1] = c;
        return true;
      }
    }
    const c = first(v);
    if (typeof c !== 'number') {
      this.refused = c;
      return false;
    }
    const e = this.#size++;
    if (e === this.#keys.length) this.#growEntries(e * 2);
    this.#keys[e] = key;
    this.#combiners[e] = c;
    if (key < this.#min) this.#min = key;
    if (key > this.#max) this.#max = key;
    slots[i] = e + 1;
    slotKeys[i] = key;
    if (2 * (e + 1) > slots.length) this.#grow();
    return true;
  }

  /** The keys and combiners in first-seen order, as views of the table's columns (read them before adding more). */
  columns(): { keys: Int32Array; combiners: Float64Array } {
    if (this.#dense) this.#gather();
    return { keys: this.#keys.subarray(0, this.#size), combiners: this.#combiners.subarray(0, this.#size) };
  }

  /** Each group as a new `[key, combiner]` pair, in first-seen order. */
  each(sink: (kv: [unknown, unknown]) => void): void {
    if (this.#dense) this.#gather();
    const keys = this.#keys;
    const combiners = this.#combiners;
    // A reduce task's groups go on to the rest of its pipeline (a slow map): a cancelled task stops here too.
    for (let e = 0; e < this.#size; e++) {
      if ((e & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      sink([keys[e]!, combiners[e]!]);
    }
  }

  /** A new key in the direct layout (its combiner already stored): appended to the entries. */
  #append(key: number): void {
    const e = this.#size++;
    if (e === this.#keys.length) {
      const keys = takeInt32(e * 2);
      keys.set(this.#keys);
      giveBack(this.#keys);
      this.#keys = keys;
    }
    this.#keys[e] = key;
    if (key < this.#min) this.#min = key;
    if (key > this.#max) this.#max = key;
  }

  /** A new key outside the direct layout's range: the range widens while the keys stay dense, else back to hashing. */
  #addOutside(key: number, v: unknown, first: (v: unknown) => unknown): boolean {
    const c = first(v);
    if (typeof c !== 'number') {
      this.refused = c;
      return false;
    }
    const min = Math.min(this.#min, key);
    const max = Math.max(this.#max, key);
    const span = max - min + 1;
    if (span <= denseLimit(this.#size + 1)) {
      // Room beyond the new key too (a quarter of the span), so that keys arriving in order widen it rarely.
      const slack = span >>> 2;
      const lo = key < this.#base ? Math.max(INT32_MIN, min - slack) : this.#base;
      const hi = key < this.#base ? this.#base + this.#values.length - 1 : Math.min(INT32_MAX, max + slack);
      this.#place(lo, hi - lo + 1, this.#values, this.#base);
    } else {
      this.#toHashed();
      // Now a miss of the hashed layout: added as `add` adds a new key, with the combiner already built.
      this.#insertHashed(key, c);
      return true;
    }
    const d = key - this.#base;
    this.#present[d >>> 5] = this.#present[d >>> 5]! | (1 << (d & 31));
    this.#values[d] = c;
    this.#append(key);
    return true;
  }

  /** Adds a key known to be absent, with its combiner, to the hashed layout. */
  #insertHashed(key: number, c: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let i = Math.imul(key, 0x9e3779b1) >>> this.#shift;
    while (slots[i] !== 0) i = (i + 1) & mask;
    const e = this.#size++;
    if (e === this.#keys.length) this.#growEntries(e * 2);
    this.#keys[e] = key;
    this.#combiners[e] = c;
    if (key < this.#min) this.#min = key;
    if (key > this.#max) this.#max = key;
    slots[i] = e + 1;
    this.#slotKeys[i] = key;
    if (2 * (e + 1) > slots.length) this.#grow();
  }

  /**
   * The direct layout over `length` keys from `lo`, holding the groups: moved from the old direct arrays when
   * given (`oldBase`), else from the entries' combiners.
   */
  #place(lo: number, length: number, oldValues: Float64Array, oldBase: number): void {
    const values = takeFloat64(length);
    const present = takeInt32((length + 31) >>> 5);
    const keys = this.#keys;
    const fromDirect = oldValues.length > 0;
    for (let e = 0; e < this.#size; e++) {
      const k = keys[e]!;
      const d = k - lo;
      values[d] = fromDirect ? oldValues[k - oldBase]! : this.#combiners[e]!;
      present[d >>> 5] = present[d >>> 5]! | (1 << (d & 31));
    }
    giveBack(oldValues);
    giveBack(this.#present);
    this.#values = values;
    this.#present = present;
    this.#base = lo;
  }

  /** From the hashed layout to the direct one (the keys were found dense). */
  #toDense(): void {
    const span = this.#max - this.#min + 1;
    const slack = span >>> 3;
    const lo = Math.max(INT32_MIN, this.#min - slack);
    const hi = Math.min(INT32_MAX, this.#max + slack);
    this.#place(lo, hi - lo + 1, NO_F64, 0);
    this.#dense = true;
    giveBack(this.#slots);
    giveBack(this.#slotKeys);
    giveBack(this.#combiners);
    this.#slots = NO_I32;
    this.#slotKeys = NO_I32;
    this.#combiners = NO_F64;
  }

  /** From the direct layout back to hashing (a key far outside the range). */
  #toHashed(): void {
    this.#gather();
    let bits = Math.log2(INITIAL_SLOTS);
    while (1 << bits < 2 * (this.#size + 1)) bits++;
    const slots = takeInt32(1 << bits);
    const slotKeys = takeInt32(1 << bits);
    const shift = 32 - bits;
    const mask = slots.length - 1;
    const keys = this.#keys;
    for (let e = 0; e < this.#size; e++) {
      const k = keys[e]!;
      let i = Math.imul(k, 0x9e3779b1) >>> shift;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = e + 1;
      slotKeys[i] = k;
    }
    this.#slots = slots;
    this.#slotKeys = slotKeys;
    this.#shift = shift;
    this.#dense = false;
    giveBack(this.#values);
    giveBack(this.#present);
    this.#values = NO_F64;
    this.#present = NO_I32;
  }

  /** The direct layout's combiners into `#combiners`, by entry. */
  #gather(): void {
    const combiners = takeFloat64(Math.max(this.#keys.length, 1));
    gatherDirect(this.#keys, this.#values, this.#base, this.#size, combiners);
    giveBack(this.#combiners);
    this.#combiners = combiners;
  }

  #growEntries(length: number): void {
    const keys = takeInt32(length);
    keys.set(this.#keys);
    giveBack(this.#keys);
    this.#keys = keys;
    const combiners = takeFloat64(length);
    combiners.set(this.#combiners);
    giveBack(this.#combiners);
    this.#combiners = combiners;
  }

  #grow(): void {
    if (this.#mayBeDense && this.#max - this.#min + 1 <= denseLimit(this.#size)) {
      this.#toDense();
      return;
    }
    const grown = growIntSlots(this.#slots, this.#slotKeys, --this.#shift);
    giveBack(this.#slots);
    giveBack(this.#slotKeys);
    this.#slots = grown.slots;
    this.#slotKeys = grown.keys;
  }

  /**
   * Gives the table's large arrays back to this thread's pool (util/scratch-arrays.ts) for the next table: call it
   * when the groups have been read (views from {@link columns} copied); the table is empty afterwards.
   */
  release(): void {
    giveBack(this.#slots);
    giveBack(this.#slotKeys);
    giveBack(this.#keys);
    giveBack(this.#combiners);
    giveBack(this.#values);
    giveBack(this.#present);
    this.#slots = new Int32Array(INITIAL_SLOTS);
    this.#slotKeys = new Int32Array(INITIAL_SLOTS);
    this.#shift = 32 - Math.log2(INITIAL_SLOTS);
    this.#keys = new Int32Array(INITIAL_SLOTS / 2);
    this.#combiners = new Float64Array(INITIAL_SLOTS / 2);
    this.#size = 0;
    this.#min = INT32_MAX;
    this.#max = INT32_MIN;
    this.#dense = false;
    this.#base = 0;
    this.#values = NO_F64;
    this.#present = NO_I32;
  }
}

/**
 * The direct layout's combiners by entry. A function of its own: as a loop inside #gather, V8 optimized it on stack
 * and left that code at the statement after the loop (no type feedback when compiled) in most iterations of
 * PageRank (`--trace-deopt`).
 */
function gatherDirect(keys: Int32Array, values: Float64Array, base: number, size: number, into: Float64Array): void {
  for (let e = 0; e < size; e++) into[e] = values[keys[e]! - base]!;
}
