/**
 * Groups keyed by int32 numbers whose combiners are numbers (a reduceByKey of numbers over vertex ids, indexes,
 * counts): keys and combiners in typed arrays, no [key, combiner] pair per group and no heap number per merge.
 * PageRank's contributions (a million per iteration into 100k keys) spent most of their map-side combine
 * allocating and collecting those; here a merge writes a double into a Float64Array.
 *
 * The table holds only what it can: the first combiner that is not a number (or a key it does not take) is
 * refused, and the caller moves the groups to the general structures (see combine.ts).
 */

import { growIntSlots } from './key-table.js';

const INITIAL_SLOTS = 64;

/** Whether `k` is a key of a {@link NumberTable}: an int32 number, not -0 (which a typed array would turn into 0). */
export function isNumberTableKey(k: unknown): k is number {
  return typeof k === 'number' && (k | 0) === k && (k !== 0 || 1 / k > 0);
}

/** Open addressing, linear probing, Fibonacci hashing, load at most 1/2 (as IntTable). */
export class NumberTable {
  /** 0 for an empty slot, else 1 + the entry's index. */
  #slots = new Int32Array(INITIAL_SLOTS);
  /** Slot keys, next to the slots so that a probe touches no other memory. */
  #slotKeys = new Int32Array(INITIAL_SLOTS);
  #shift = 32 - Math.log2(INITIAL_SLOTS);
  /** Entries in first-seen order. */
  #keys = new Int32Array(INITIAL_SLOTS / 2);
  #combiners = new Float64Array(INITIAL_SLOTS / 2);
  #size = 0;
  /**
   * Set when {@link add} refused a record: the combiner it had already built (createCombiner's or merge's
   * result, which must not be computed twice: either may count or have effects).
   */
  refused: unknown;

  get size(): number {
    return this.#size;
  }

  /**
   * Adds a record with an int32 key (see isNumberTableKey): `first(v)` for a new key, else `merge(c, v)`.
   * Returns false, with {@link refused} set and the table unchanged, when the result is not a number.
   */
  add(key: number, v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): boolean {
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
    if (e === this.#keys.length) {
      const keys = new Int32Array(e * 2);
      keys.set(this.#keys);
      this.#keys = keys;
      const combiners = new Float64Array(e * 2);
      combiners.set(this.#combiners);
      this.#combiners = combiners;
    }
    this.#keys[e] = key;
    this.#combiners[e] = c;
    slots[i] = e + 1;
    slotKeys[i] = key;
    if (2 * (e + 1) > slots.length) this.#grow();
    return true;
  }

  /** The keys and combiners in first-seen order, as views of the table's columns (read them before adding more). */
  columns(): { keys: Int32Array; combiners: Float64Array } {
    return { keys: this.#keys.subarray(0, this.#size), combiners: this.#combiners.subarray(0, this.#size) };
  }

  /** Each group as a new `[key, combiner]` pair, in first-seen order. */
  each(sink: (kv: [unknown, unknown]) => void): void {
    const keys = this.#keys;
    const combiners = this.#combiners;
    for (let e = 0; e < this.#size; e++) sink([keys[e]!, combiners[e]!]);
  }

  #grow(): void {
    const grown = growIntSlots(this.#slots, this.#slotKeys, --this.#shift);
    this.#slots = grown.slots;
    this.#slotKeys = grown.keys;
  }
}
