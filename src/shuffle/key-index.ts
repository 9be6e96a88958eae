/**
 * Keys of any kind numbered densely in first-seen order, with the structures of the combine (combine.ts): int32
 * keys in an IntTable, short strings and structural keys in a KeyTable, other keys in a Map. Equality is the
 * engine's (structural, -0 equal to 0, NaN equal to NaN). Used where a by-key loop keeps its values in columns by
 * index instead of one group object per key (the co-partitioned join).
 */
import { IntTable, KeyTable, inKeyTable } from './key-table.js';

export class KeyIndex {
  #ints: IntTable<number> | undefined;
  #table: KeyTable<number> | undefined;
  readonly #map = new Map<unknown, number>();
  /** The first-seen key object of each index. */
  readonly keys: unknown[] = [];
  /** Which structure the last find looked in: 0 ints, 1 table, 2 map (an add after a miss goes there). */
  #missIn = -1;

  get size(): number {
    return this.keys.length;
  }

  /** The index of the key equal to `k`, or -1; after -1, {@link add} numbers the same key. */
  find(k: unknown): number {
    if (typeof k === 'number' && (k | 0) === k) {
      const i = (this.#ints ??= new IntTable<number>()).get(k);
      this.#missIn = 0;
      return i ?? -1;
    }
    if (inKeyTable(k)) {
      const i = (this.#table ??= new KeyTable<number>()).get(k);
      this.#missIn = 1;
      return i ?? -1;
    }
    this.#missIn = 2;
    return this.#map.get(k) ?? -1;
  }

  /** Numbers `k`, which the immediately preceding {@link find} did not find; returns its index. */
  add(k: unknown): number {
    const i = this.keys.length;
    this.keys.push(k);
    if (this.#missIn === 0) this.#ints!.addAfterMiss(i, k as number);
    else if (this.#missIn === 1) this.#table!.addAfterMiss(k, i);
    else this.#map.set(k, i);
    this.#missIn = -1;
    return i;
  }
}
