/**
 * A hash table from keys to groups, for the by-key loops of the shuffle (combine, cogroup), holding the keys
 * that a `Map` handles slowly: structural keys (arrays, plain objects, Dates) and short strings. Numbers, long
 * strings and the other primitives stay in a `Map`, which is as fast as it gets for them.
 *
 * A `Map` can only take a structural key through a canonical string id (see keyId), and building and inserting
 * hundreds of thousands of fresh strings costs several times more than hashing the key with hashKey and
 * comparing candidates with keysEqual, which allocates nothing. Words freshly cut from text (word count) are
 * also cheaper here (the combine measured 1.2x faster); from about 9 characters on, V8's native string hash
 * beats hashKey's murmur3 written in JavaScript, so longer strings stay in the `Map`.
 */
import { HeapLimitError } from '../core/errors.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';
import { hashKey, hashPackedLatin1, keysEqual } from '../core/keys.js';
import { rowAt, type EncodedBucket, type Latin1Keys, type StringColumn, type Utf16Keys } from './bucket-codec.js';
import { partitionOfHash, powerOfTwoMask } from '../core/partitioner.js';
import { giveBack, takeFloat64, takeInt32 } from '../util/scratch-arrays.js';
import { ReducerSlots, type SparseBuckets } from './sparse-buckets.js';

const INITIAL_SLOTS = 64;

/** The slots (0 empty, else 1 + entry index) of `count` entries with these hashes, in a table of `size` slots. */
function slotsOf(hashes: Int32Array, count: number, size: number): Int32Array<ArrayBuffer> {
  const slots = new Int32Array(size);
  const mask = size - 1;
  for (let e = 0; e < count; e++) {
    let i = hashes[e]! & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = e + 1;
  }
  return slots;
}

/** Open addressing with linear probing; the load factor stays at or below 1/2. */
export class KeyTable<G> {
  /** 0 for an empty slot, else 1 + the entry's index. */
  #slots = new Int32Array(INITIAL_SLOTS);
  #hashes = new Int32Array(INITIAL_SLOTS / 2);
  readonly #keys: unknown[] = [];
  readonly #groups: G[] = [];
  // Where the last lookup that missed stopped, so that adding its key neither hashes nor probes again.
  #missHash = 0;
  #missSlot = -1;

  /**
   * The group of the key structurally equal to `key`, or undefined. After a miss, {@link addAfterMiss} adds the
   * same key's group.
   *
   * @throws TypeError for keys that keys.ts does not support (as hashKey does).
   */
  get(key: unknown): G | undefined {
    const h = hashKey(key);
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) {
        this.#missHash = h;
        this.#missSlot = i;
        return undefined;
      }
      if (this.#hashes[s - 1] === h) {
        const k = this.#keys[s - 1];
        if (k === key || keysEqual(k, key)) return this.#groups[s - 1];
      }
    }
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The groups in the order their keys were added (the table's own array: read it, do not change it). */
  groups(): G[] {
    return this.#groups;
  }

  /** Adds `group` for `key`, which the immediately preceding {@link get} did not find. */
  addAfterMiss(key: unknown, group: G): void {
    const e = this.#keys.length;
    this.#keys.push(key);
    this.#groups.push(group);
    if (e === this.#hashes.length) {
      const grown = new Int32Array(e * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[e] = this.#missHash;
    this.#slots[this.#missSlot] = e + 1;
    this.#missSlot = -1;
    if (2 * (e + 1) > this.#slots.length) this.#grow();
  }

  #grow(): void {
    this.#slots = slotsOf(this.#hashes, this.#keys.length, this.#slots.length * 2);
  }
}

/**
 * A hash table from int32 keys to groups (open addressing, linear probing, load at most 1/2): the keys live in an
 * Int32Array next to their slots, so a lookup touches no object until it finds its group. `-0` is stored as 0.
 */
export class IntTable<G> {
  /** 0 for an empty slot, else 1 + the entry's index. */
  #slots = new Int32Array(INITIAL_SLOTS);
  #keys = new Int32Array(INITIAL_SLOTS);
  /**
   * 32 - log2(slots): a key's first slot is the top bits of the key times 2^32/phi (Fibonacci hashing), so keys that
   * are multiples of a power of two spread as well as consecutive ones.
   */
  #shift = 32 - Math.log2(INITIAL_SLOTS);
  readonly #groups: G[] = [];
  #missSlot = -1;

  get size(): number {
    return this.#groups.length;
  }

  /** The group of `key` (an int32), or undefined; after a miss, {@link addAfterMiss} adds that key's group. */
  get(key: number): G | undefined {
    const slots = this.#slots;
    const keys = this.#keys;
    const mask = slots.length - 1;
    for (let i = Math.imul(key, 0x9e3779b1) >>> this.#shift; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) {
        this.#missSlot = i;
        return undefined;
      }
      if (keys[i] === key) return this.#groups[s - 1];
    }
  }

  /** The groups in the order their keys were added (the table's own array: read it, do not change it). */
  groups(): G[] {
    return this.#groups;
  }

  /** Adds `group` for `key`, which the immediately preceding {@link get} did not find. */
  addAfterMiss(group: G, key: number): void {
    const e = this.#groups.length;
    this.#groups.push(group);
    this.#slots[this.#missSlot] = e + 1;
    this.#keys[this.#missSlot] = key;
    this.#missSlot = -1;
    if (2 * (e + 1) > this.#slots.length) this.#grow();
  }

  #grow(): void {
    const grown = growIntSlots(this.#slots, this.#keys, --this.#shift);
    this.#slots = grown.slots;
    this.#keys = grown.keys;
  }
}

/**
 * The slots and slot keys of an int32 table (IntTable, NumberTable: Fibonacci hashing, linear probing) at twice
 * the size, each entry placed by the top `32 - shift` bits of its key times 2^32/phi.
 */
export function growIntSlots(
  oldSlots: Int32Array,
  oldKeys: Int32Array,
  shift: number,
): { slots: Int32Array<ArrayBuffer>; keys: Int32Array<ArrayBuffer> } {
  const slots = takeInt32(oldSlots.length * 2);
  const keys = takeInt32(oldSlots.length * 2);
  const mask = slots.length - 1;
  for (let j = 0; j < oldSlots.length; j++) {
    if (oldSlots[j] === 0) continue;
    let i = Math.imul(oldKeys[j]!, 0x9e3779b1) >>> shift;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = oldSlots[j]!;
    keys[i] = oldKeys[j]!;
  }
  return { slots, keys };
}

/** Widest array key a {@link RowTable} holds. */
export const MAX_ROW_KEY = 4;

/**
 * Whether `key` is a row a {@link RowTable} can hold: a plain array of 1 to MAX_ROW_KEY int32 numbers, none of
 * them -0 (which would come back as 0) and no holes.
 */
export function isIntRow(key: unknown): key is number[] {
  if (!Array.isArray(key) || key.length === 0 || key.length > MAX_ROW_KEY) return false;
  for (let i = 0; i < key.length; i++) {
    const x: unknown = key[i];
    if (typeof x !== 'number' || (x | 0) !== x || (x === 0 && 1 / x < 0) || !(i in key)) return false;
  }
  return true;
}

/**
 * Groups keyed by int32 rows of one width (the `[src, dst]` edges of a `distinct`), with no object per group: the
 * rows' numbers in one Int32Array, the combiners in one array. A million distinct edges cost some 20 MB here
 * instead of some 100 MB of key arrays, group pairs and table entries, all long-lived enough to be promoted and
 * traced by every full collection. Keys come back as new arrays of their numbers.
 *
 * While every combiner is `null` (a `distinct`, whose values are all null), no combiner is stored: the array of
 * them (8 bytes a group, and its copies as it grows) was the largest object such a table allocated on the heap,
 * and lived as long as the table. The first other combiner fills it in.
 */
export class RowTable {
  /** 0 for an empty slot, else 1 + the entry's index. */
  #slots = new Int32Array(INITIAL_SLOTS);
  #hashes = new Int32Array(INITIAL_SLOTS / 2);
  #rows: Int32Array;
  #size = 0;
  /** The combiners by entry; undefined while all of them are null. */
  #combiners: unknown[] | undefined;

  constructor(readonly width: number) {
    this.#rows = new Int32Array((INITIAL_SLOTS / 2) * width);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds a record whose key is a row of this table's width: `first(v)` for a new key, else merge into its combiner. */
  add(key: readonly number[], v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): void {
    const w = this.width;
    let h = 0x2f0a3c5d;
    for (let j = 0; j < w; j++) h = Math.imul(h ^ key[j]!, 0x9e3779b1) ^ (h >>> 15);
    h = fmix(h);
    const slots = this.#slots;
    const rows = this.#rows;
    const mask = slots.length - 1;
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) break;
      if (this.#hashes[s - 1] !== h) continue;
      let at = (s - 1) * w;
      let j = 0;
      while (j < w && rows[at++] === key[j]) j++;
      if (j === w) {
        const e = s - 1;
        const combiners = this.#combiners;
        if (combiners !== undefined) combiners[e] = merge(combiners[e], v);
        else {
          const merged = merge(null, v);
          if (merged !== null) this.#combinersFilled()[e] = merged;
        }
        return;
      }
    }
    const created = first(v);
    const e = this.#size;
    if (e === this.#hashes.length) {
      const hashes = new Int32Array(e * 2);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
      const grown = new Int32Array(e * 2 * w);
      grown.set(rows);
      this.#rows = grown;
    }
    if (this.#combiners !== undefined) this.#combiners.push(created);
    else if (created !== null) this.#combinersFilled().push(created);
    this.#size = e + 1;
    this.#hashes[e] = h;
    this.#rows.set(key, e * w);
    slots[i] = e + 1;
    if (2 * (e + 1) > slots.length) this.#grow();
  }

  /** The combiners' array, made (all null so far) at the first combiner that is not null. */
  #combinersFilled(): unknown[] {
    if (this.#combiners === undefined) {
      const all: unknown[] = [];
      for (let e = 0; e < this.#size; e++) all.push(null);
      this.#combiners = all;
    }
    return this.#combiners;
  }

  /** Each group as a new `[key, combiner]` pair, in first-seen order. */
  each(sink: (kv: [unknown, unknown]) => void): void {
    const w = this.width;
    const rows = this.#rows;
    const combiners = this.#combiners;
    // A reduce task's groups go on to the rest of its pipeline (a slow map): a cancelled task stops here too.
    for (let e = 0; e < this.#size; e++) {
      if ((e & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      sink([rowAt(rows, e * w, w), combiners === undefined ? null : combiners[e]]);
    }
  }

  #grow(): void {
    this.#slots = slotsOf(this.#hashes, this.#size, this.#slots.length * 2);
  }
}

/** murmur3's finalizer: every input bit reaches the low bits that index the slots. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Entries a {@link StringTable} can index: a slot holds (1 + an entry's index) << 4 in an int32. */
const MAX_ENTRIES = 2 ** 27;

/** Longest key a {@link StringTable} packs into ints (two of 4 chars of a byte each). */
const PACKED_CHARS = 8;

/**
 * A packed key's slot hash (chars 0-3 in `lo`, 4-7 in `hi`, `n` of them): for one `hi` and `n` a bijection of `lo`,
 * so keys of up to 4 chars and one length never share a hash; fmix spreads every bit to the slot bits.
 */
export function packedHash(lo: number, hi: number, n: number): number {
  return fmix(Math.imul(lo, 0x9e3779b1) ^ fmix(hi + n));
}

/** The string of `n` chars packed in `lo` (chars 0-3, a byte each) and `hi` (chars 4-7). */
function unpack(lo: number, hi: number, n: number): string {
  const c = String.fromCharCode;
  switch (n) {
    case 0:
      return '';
    case 1:
      return c(lo & 255);
    case 2:
      return c(lo & 255, (lo >>> 8) & 255);
    case 3:
      return c(lo & 255, (lo >>> 8) & 255, (lo >>> 16) & 255);
    case 4:
      return c(lo & 255, (lo >>> 8) & 255, (lo >>> 16) & 255, lo >>> 24);
    case 5:
      return c(lo & 255, (lo >>> 8) & 255, (lo >>> 16) & 255, lo >>> 24, hi & 255);
    case 6:
      return c(lo & 255, (lo >>> 8) & 255, (lo >>> 16) & 255, lo >>> 24, hi & 255, (hi >>> 8) & 255);
    case 7:
      return c(lo & 255, (lo >>> 8) & 255, (lo >>> 16) & 255, lo >>> 24, hi & 255, (hi >>> 8) & 255, (hi >>> 16) & 255);
    default:
      return c(lo & 255, (lo >>> 8) & 255, (lo >>> 16) & 255, lo >>> 24, hi & 255, (hi >>> 8) & 255, (hi >>> 16) & 255, hi >>> 24);
  }
}

/** Longest string kept in a {@link KeyTable}. */
const SHORT_STRING = 8;

/**
 * Whether a key belongs in a {@link KeyTable} rather than a `Map`: short strings, objects, and the kinds that
 * must be rejected (hashKey throws for them, as keyId would). Equal keys always give the same answer.
 */
export function inKeyTable(key: unknown): boolean {
  const t = typeof key;
  if (t === 'string') return (key as string).length <= SHORT_STRING;
  return (t === 'object' && key !== null) || t === 'function' || t === 'symbol';
}

/**
 * Groups keyed by strings, for as long as every key is one (word counts, counts by name, sums by id string): the
 * keys in one array, their hashes in an Int32Array next to the slots, and the combiners as doubles in each entry's
 * 16 bytes while every combiner is a number (counts and sums), in a plain array from the first one that is not. No `[key,
 * combiner]` pair or other object per group: a lookup reads two typed arrays and the key, and a merge writes a
 * number in place. Measured on one worker's half of the 50 MiB Zipf text (5.5M words, 194k distinct), this table
 * adds them in some 0.6 of the time of a KeyTable of pairs (`bench` figures in docs/benchmarks.md, Session 4).
 *
 * A key of at most 8 chars, each below 256 (most words), is also held as its chars packed into two int32s beside
 * its entry (its length in its slot), and placed by a hash of those ints: finding it compares the slot's length
 * and two ints of an array whose first-seen,
 * hence mostly hot, entries lie together, where comparing with the stored string loaded that string from
 * wherever the heap had put it (a cache miss per word on the Zipf text, and half the table's time), and it skips
 * hashKey's murmur3 over the chars. Other keys are placed by hashKey and compared as strings; a packed key and
 * another never match, since no other string can equal a packed one. The table's hashes are therefore not all
 * hashKey's, and columns() works those out for the packed keys. A packed key's string is not kept: it is made from
 * the ints when the groups are read (each, columns), once per group, so that the words a map task adds (fresh
 * strings from the user's split) all die young; keeping each new one made every scavenge of a map task copy and
 * promote it (docs/benchmarks.md, session 13).
 */
export class StringTable {
  /**
   * An int a slot: 0 for an empty slot, else (1 + the entry's index) << 4 | the entry's tag (a packed key's length +
   * 1, 0 for another key): a probe passes a key of another length or kind without loading its entry.
   *
   * With `#records`, 4 ints a slot: that int, then a packed key's `lo` and `hi` (another key's hash and 0), then,
   * while `#inSlot`, the entry's combiner. A lookup that finds its key compares and merges in the one cache line of
   * its slot and loads no entry: a word outside the cache costs one miss, where the slot and then the entry (its
   * address read from the slot) cost two, one after the other.
   */
  #slots: Int32Array<ArrayBuffer>;
  /**
   * Whether the slots are 4-int records: for a table that learns its keys as it goes (a map task's, not presized),
   * which mostly finds them (a Zipf word count's map task: 5.5M words, 194k keys). A presized table (a reduce task's
   * merge of map outputs) mostly inserts, where the records' 4x larger slot array costs more misses and fresh pages
   * than they save (session 17 measured a reducer-like merge 15-60 % slower with them); it keeps one int a slot.
   */
  readonly #records: boolean;
  /**
   * Whether every combiner so far is an int32 (a count) held in its slot record's fourth int (only with
   * `#records`). The entries' `#values` are written from the slots (`#settle`) when a combiner is not one, or a
   * reader or `#objects` reads them, and the combiners stay in the entries from then on.
   */
  #inSlot: boolean;
  /** Each entry's slot hash: {@link packedHash} for a packed key, else hashKey. */
  #hashes: Int32Array<ArrayBuffer>;
  /** Each entry's tag, as its slot carries it (for rebuilding the slots and reading the keys). */
  #tags: Uint8Array<ArrayBuffer>;
  /**
   * Per entry 16 bytes, 4 ints: a packed key's chars 0-3 and 4-7 (a byte each; 0, 0 for another key), then the
   * entry's number combiner as a double (`#values[2e + 1]`), so that a hit on a key outside the cache loads one
   * line, not one for the key and one for its count (a fifth fewer misses of a 512 KiB cache on the Zipf text).
   */
  #ints: Int32Array<ArrayBuffer>;
  /** The combiners while all are numbers, over `#ints`' buffer; undefined once one was not (then `#combiners`). */
  #values: Float64Array<ArrayBuffer> | undefined;
  /**
   * Each entry's key; for a packed key only '' until `#strings()` makes its string from the ints, which it does
   * for every entry below `#made` and up. Holding the words' own strings kept each new key alive in the young
   * generation: copied by one scavenge, promoted by the next (194k keys per map task on the Zipf text). The array
   * reaches only as far as the last key that is not packed: the entries past it are packed keys, whose '' is not
   * pushed until a reader or such a key needs it. A word count's keys are all packed and its readers (stringColumns,
   * stringBuckets) make no string, so it grows no array of 8 bytes a key (a fresh, larger one at each growth, in
   * pages the process first touches, each a page fault: ~4.5k of them for the 755k keys of a high-cardinality map
   * task).
   */
  readonly #keys: string[] = [];
  #size = 0;
  #made = 0;
  #combiners: unknown[] | undefined;

  /**
   * @param expected how many groups are known to come (a reduce task's largest fetched map output): room for them
   *   from the start, so that the table is not rebuilt on the way (each doubling re-slots every key).
   */
  constructor(expected = 0) {
    let entries = INITIAL_SLOTS / 2;
    while (entries < expected) entries *= 2;
    this.#records = expected === 0;
    this.#inSlot = this.#records;
    this.#slots = new Int32Array(this.#records ? entries * 2 * 4 : entries * 2);
    this.#hashes = new Int32Array(entries);
    this.#tags = new Uint8Array(entries);
    this.#ints = new Int32Array(entries * 4);
    this.#values = new Float64Array(this.#ints.buffer);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds a record: `first(v)` for a new key, else merge into its combiner. */
  add(key: string, v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): void {
    const n = key.length;
    if (n <= PACKED_CHARS) {
      let lo = 0;
      let hi = 0;
      let all = 0;
      for (let j = 0; j < n; j++) {
        const c = key.charCodeAt(j);
        all |= c;
        if (j < 4) lo |= c << (j << 3);
        else hi |= c << ((j - 4) << 3);
      }
      if (all < 256) {
        this.#addPacked(lo, hi, n, v, first, merge);
        return;
      }
    }
    this.#addHashed(key, v, first, merge);
  }

  /**
   * add() of the string of chars `from .. to` of `keys` (each below 256), found by those bytes: a string is made
   * only for a new key too long to pack (a packed one's is made when the groups are read, as add()'s).
   */
  addLatin1(
    keys: Latin1Keys,
    from: number,
    to: number,
    v: unknown,
    first: (v: unknown) => unknown,
    merge: (c: unknown, v: unknown) => unknown,
  ): void {
    const n = to - from;
    if (n > PACKED_CHARS) {
      this.#addHashed(keys.text(from, to), v, first, merge);
      return;
    }
    // As add() packs a string of these chars (every one below 256): the same slot hash and the same entry.
    const bytes = keys.data;
    let lo = 0;
    let hi = 0;
    for (let j = 0; j < n; j++) {
      const c = bytes[from + j]!;
      if (j < 4) lo |= c << (j << 3);
      else hi |= c << ((j - 4) << 3);
    }
    this.#addPacked(lo, hi, n, v, first, merge);
  }

  /**
   * add() of the string of code units `from .. to` of `keys`, found by them as add() finds that string: packed when
   * it is short and every char is below 256, else made a string (as a long latin1 key is in addLatin1).
   */
  addUtf16(keys: Utf16Keys, from: number, to: number, v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): void {
    const n = to - from;
    if (n <= PACKED_CHARS) {
      const units = keys.data;
      let lo = 0;
      let hi = 0;
      let all = 0;
      for (let j = 0; j < n; j++) {
        const c = units[from + j]!;
        all |= c;
        if (j < 4) lo |= c << (j << 3);
        else hi |= c << ((j - 4) << 3);
      }
      if (all < 256) {
        this.#addPacked(lo, hi, n, v, first, merge);
        return;
      }
    }
    this.#addHashed(keys.text(from, to), v, first, merge);
  }

  /**
   * add() of a key of `n` chars (each below 256) packed into `lo` and `hi`: placed by packedHash, compared by its
   * ints; a new one's string is left to `#strings()`.
   */
  #addPacked(lo: number, hi: number, n: number, v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): void {
    const h = packedHash(lo, hi, n);
    const tag = n + 1;
    const slots = this.#slots;
    const mask = slots.length - 1;
    if (this.#records) {
      let i = (h << 2) & mask;
      for (; ; i = (i + 4) & mask) {
        const s = slots[i]!;
        if (s === 0) break;
        if ((s & 15) === tag && slots[i + 1] === lo && slots[i + 2] === hi) {
          this.#mergeIn(i, (s >>> 4) - 1, v, merge);
          return;
        }
      }
      this.#insert('', h, i, tag, lo, hi, first(v));
      return;
    }
    const ints = this.#ints;
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) break;
      if ((s & 15) === tag) {
        const e = (s >>> 4) - 1;
        if (ints[e << 2] === lo && ints[(e << 2) + 1] === hi) {
          this.#mergeIn(i, e, v, merge);
          return;
        }
      }
    }
    this.#insert('', h, i, tag, lo, hi, first(v));
  }

  /** add() for a key that is not packed: placed by hashKey, compared as a string. */
  #addHashed(key: string, v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): void {
    const h = hashKey(key);
    const slots = this.#slots;
    const keys = this.#keys;
    const mask = slots.length - 1;
    // A record holds the hash itself; one int a slot leaves it to the entry's.
    const records = this.#records;
    const step = records ? 4 : 1;
    const hashes = records ? slots : this.#hashes;
    let i = records ? (h << 2) & mask : h & mask;
    for (; ; i = (i + step) & mask) {
      const s = slots[i]!;
      if (s === 0) break;
      if ((s & 15) === 0 && hashes[records ? i + 1 : (s >>> 4) - 1] === h && keys[(s >>> 4) - 1] === key) {
        this.#mergeIn(i, (s >>> 4) - 1, v, merge);
        return;
      }
    }
    this.#insert(key, h, i, 0, h, 0, first(v));
  }

  /** Merges `v` into the combiner of entry `e`, whose slot (a record while `#inSlot`) starts at `i`. */
  #mergeIn(i: number, e: number, v: unknown, merge: (c: unknown, v: unknown) => unknown): void {
    if (this.#inSlot) {
      const c = merge(this.#slots[i + 3], v);
      if (isCount(c)) this.#slots[i + 3] = c;
      else {
        this.#settle();
        this.#setCombiner(e, c);
      }
      return;
    }
    const values = this.#values;
    if (values !== undefined) this.#setCombiner(e, merge(values[(e << 1) + 1], v));
    else {
      const combiners = this.#combiners!;
      combiners[e] = merge(combiners[e], v);
    }
  }

  /** Stores combiner `c` of entry `e` in the entries (not `#inSlot`). */
  #setCombiner(e: number, c: unknown): void {
    if (this.#values !== undefined && typeof c === 'number') this.#values[(e << 1) + 1] = c;
    else this.#objects()[e] = c;
  }

  /** Moves the combiners from the slots into the entries' `#values`, for good. */
  #settle(): void {
    if (!this.#inSlot) return;
    this.#inSlot = false;
    const slots = this.#slots;
    const values = this.#values!;
    for (let i = 0; i < slots.length; i += 4) {
      const s = slots[i]!;
      if (s !== 0) values[((s >>> 4) - 1) * 2 + 1] = slots[i + 3]!;
    }
  }

  /**
   * A new entry for `key` ('' for a packed one; slot hash `h`, empty slot at `i`, `tag`, the slot's `lo` and `hi`)
   * and its combiner. The slots hold an index below 2^27: `#growEntries` refuses more entries (as V8 refused a
   * plain array of that many, when every key had its place in `#keys`).
   */
  #insert(key: string, h: number, i: number, tag: number, lo: number, hi: number, created: unknown): void {
    const e = this.#size++;
    if (e === this.#hashes.length) this.#growEntries();
    if (tag === 0) {
      const keys = this.#keys;
      while (keys.length < e) keys.push('');
      keys.push(key);
    } else {
      this.#ints[e << 2] = lo;
      this.#ints[(e << 2) + 1] = hi;
    }
    this.#hashes[e] = h;
    this.#tags[e] = tag;
    const slots = this.#slots;
    slots[i] = ((e + 1) << 4) | tag;
    if (!this.#records) {
      this.#setCombiner(e, created);
      // At most 3/4 full (the other tables: 1/2): a slot is 4 bytes with the key's length in it, so probing on mostly
      // stays in the line already loaded and passes other lengths without loading their entries, and the slots a
      // growing table jumps about in are up to half as many bytes and pages at the same keys, where this machine's
      // misses and page faults go (docs/benchmarks.md, session 18).
      if (4 * (e + 1) > 3 * slots.length) this.#grow();
      return;
    }
    slots[i + 1] = lo;
    slots[i + 2] = hi;
    if (this.#inSlot && isCount(created)) slots[i + 3] = created;
    else {
      this.#settle();
      this.#setCombiner(e, created);
    }
    // Records at most 3/4 full too: a record holds its key, so probing on mostly stays in the line already loaded.
    if (16 * (e + 1) > 3 * slots.length) this.#grow();
  }

  /** Each group as a new `[key, combiner]` pair, in first-seen order. */
  each(sink: (kv: [unknown, unknown]) => void): void {
    this.#settle();
    const keys = this.#strings();
    const values = this.#values;
    // A reduce task's groups go on to the rest of its pipeline (a slow map): a cancelled task stops here too.
    if (values !== undefined)
      for (let e = 0; e < keys.length; e++) {
        if ((e & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
        sink([keys[e], values[(e << 1) + 1]]);
      }
    else
      for (let e = 0; e < keys.length; e++) {
        if ((e & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
        sink([keys[e], this.#combiners![e]]);
      }
  }

  /**
   * The groups as columns while every combiner is a number: the keys (the table's own array), the combiners (a
   * new array) and each key's `hashKey` (worked out here for the packed keys, once per group), in first-seen
   * order; undefined once a combiner was not a number.
   */
  columns(): { keys: string[]; combiners: Float64Array; hashes: Int32Array } | undefined {
    this.#settle();
    const values = this.#values;
    if (values === undefined) return undefined;
    const keys = this.#strings();
    const n = keys.length;
    const hashes = new Int32Array(n);
    const combiners = new Float64Array(n);
    const tags = this.#tags;
    const ints = this.#ints;
    for (let e = 0; e < n; e++) {
      const tag = tags[e]!;
      hashes[e] = tag === 0 ? this.#hashes[e]! : hashPackedLatin1(ints[e << 2]!, ints[(e << 2) + 1]!, tag - 1);
      combiners[e] = values[(e << 1) + 1]!;
    }
    return { keys, combiners, hashes };
  }

  /**
   * The groups as `columns()` has them, with the keys as their chars (key `e` ends at `ends[e]`): one byte each
   * (`latin1`) while every key's chars are below 256, else a code unit each (`utf16`); undefined once a combiner was
   * not a number. A packed key's chars come from its ints: no string is made for it (a reduce task handing its groups
   * to the driver, which makes the strings it keeps; ~550k per high-cardinality word-count reducer were made, then
   * cloned, here).
   */
  stringColumns(): { keys: StringColumn; combiners: Float64Array } | undefined {
    this.#settle();
    const values = this.#values;
    if (values === undefined) return undefined;
    const keys = this.#keys;
    const tags = this.#tags;
    const ints = this.#ints;
    const n = this.#size;
    const ends = new Int32Array(n);
    const wide = charEnds(n, keys, tags, ends);
    const chars = n === 0 ? 0 : ends[n - 1]!;
    const data = wide ? new Uint16Array(chars) : new Uint8Array(chars);
    const combiners = new Float64Array(n);
    let at = 0;
    for (let e = 0; e < n; e++) {
      const tag = tags[e]!;
      if (tag !== 0) at = writePacked(ints[e << 2]!, ints[(e << 2) + 1]!, tag - 1, data, at);
      else at = writeChars(keys[e]!, data, at);
      combiners[e] = values[(e << 1) + 1]!;
    }
    return { keys: wide ? { kind: 'utf16', data: data as Uint16Array, ends } : { kind: 'latin1', data: data as Uint8Array, ends }, combiners };
  }

  /**
   * The groups bucketed as a HashPartitioner of `parts` partitions places their keys (by each key's `hashKey`), only
   * the non-empty buckets (a map task into thousands of reducers has groups for few of them), each an encoded one
   * (bucket-codec.ts) of the keys as chars and the combiners as doubles, in first-seen order; undefined unless every
   * combiner is a number. A bucket whose keys' chars are all below 256 holds them as `latin1` bytes, any other as
   * `utf16` code units: one word with a char above 255 (an "–" in a changelog) leaves the other buckets as bytes. For
   * a map task's output: a packed key's chars come from its ints and no string is made for any key, where bucketing
   * the strings made one per packed key here, and serving the bucket to a peer encoded them to chars again
   * (`stringColumn`). Each bucket's combiners and ends come from the thread's pool (util/scratch-arrays.ts), as
   * placeColumns' do.
   */
  stringBuckets(parts: number): SparseBuckets<EncodedBucket> | undefined {
    this.#settle();
    const values = this.#values;
    if (values === undefined) return undefined;
    const n = this.#size;
    // Per slot (a reducer with groups; see ReducerSlots), so a task's work follows its groups, not the partitions.
    const of = takeInt32(n);
    const slots = new ReducerSlots(parts);
    const counts = new Array<number>(slots.size).fill(0);
    const chars = new Array<number>(slots.size).fill(0);
    const wide = new Array<number>(slots.size).fill(0);
    bucketsOfEntries(n, this.#keys, this.#tags, this.#ints, this.#hashes, parts, slots, of, counts, chars, wide);
    const data = chars.map((c, s) => (wide[s] === 1 ? new Uint16Array(c) : new Uint8Array(c)));
    const ends = counts.map((c) => takeInt32(c));
    const combiners = counts.map((c) => takeFloat64(c));
    scatterChars(n, this.#keys, this.#tags, this.#ints, values, of, data, ends, combiners);
    giveBack(of);
    const order = slots.ascending().filter((s) => counts[s]! > 0);
    return {
      length: parts,
      ids: Int32Array.from(order, (s) => slots.reducer(s)),
      list: order.map((s) => ({
        length: counts[s]!,
        keys:
          wide[s] === 1
            ? { kind: 'utf16', data: data[s] as Uint16Array, ends: ends[s]! }
            : { kind: 'latin1', data: data[s] as Uint8Array, ends: ends[s]! },
        values: { kind: 'f64', data: combiners[s]! },
      })),
    };
  }

  /** The keys, every packed one's string made (once) from its ints. */
  #strings(): string[] {
    const keys = this.#keys;
    const ints = this.#ints;
    const tags = this.#tags;
    while (keys.length < this.#size) keys.push('');
    for (let e = this.#made; e < keys.length; e++) {
      const tag = tags[e]!;
      if (tag !== 0) keys[e] = unpack(ints[e << 2]!, ints[(e << 2) + 1]!, tag - 1);
    }
    this.#made = keys.length;
    return keys;
  }

  /** The combiners as a plain array from now on (a combiner that is not a number arrived). */
  #objects(): unknown[] {
    this.#settle();
    if (this.#combiners === undefined) {
      const values = this.#values!;
      this.#combiners = Array.from({ length: this.#size }, (_, e) => values[(e << 1) + 1]);
      this.#values = undefined;
    }
    return this.#combiners;
  }

  #growEntries(): void {
    const n = this.#hashes.length * 2;
    if (n > MAX_ENTRIES) {
      throw new HeapLimitError(
        `A partition's string key table holds at most ${MAX_ENTRIES - 1} distinct keys: spread the keys over more partitions (a larger numPartitions)`,
      );
    }
    const hashes = new Int32Array(n);
    hashes.set(this.#hashes);
    this.#hashes = hashes;
    const tags = new Uint8Array(n);
    tags.set(this.#tags);
    this.#tags = tags;
    const ints = new Int32Array(n * 4);
    ints.set(this.#ints);
    this.#ints = ints;
    if (this.#values !== undefined) this.#values = new Float64Array(ints.buffer);
  }

  #grow(): void {
    if (this.#records) {
      this.#slots = regrown(this.#slots);
      return;
    }
    const count = this.#size;
    const hashes = this.#hashes;
    const tags = this.#tags;
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < count; e++) {
      let i = hashes[e]! & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = ((e + 1) << 4) | tags[e]!;
    }
    this.#slots = slots;
  }
}

/** Whether `c` is a combiner a StringTable slot holds: an int32 number, not -0 (which the int would make 0). */
function isCount(c: unknown): c is number {
  return typeof c === 'number' && (c | 0) === c && (c !== 0 || 1 / c > 0);
}

/**
 * StringTable's slots at twice the size, each moved whole (its combiner with it) to where its hash places it: a
 * packed key's from its ints, another key's is its second int.
 */
function regrown(old: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const slots = new Int32Array(old.length * 2);
  const mask = slots.length - 1;
  for (let j = 0; j < old.length; j += 4) {
    const s = old[j]!;
    if (s === 0) continue;
    const lo = old[j + 1]!;
    const hi = old[j + 2]!;
    const tag = s & 15;
    const h = tag === 0 ? lo : packedHash(lo, hi, tag - 1);
    let i = (h << 2) & mask;
    while (slots[i] !== 0) i = (i + 4) & mask;
    slots[i] = s;
    slots[i + 1] = lo;
    slots[i + 2] = hi;
    slots[i + 3] = old[j + 3]!;
  }
  return slots;
}

// stringBuckets' two loops, functions of their own: a loop in a method called once per task is optimized on stack
// and may keep leaving that code at the first statement after it (see shuffle-writer.ts, placeColumns).

/**
 * Each entry's bucket (`of`: its reducer's slot in `slots`), and per slot its entries (`counts`), chars (`chars`) and
 * whether a key that is not packed has a char above 255 (`wide`, 1 then).
 */
function bucketsOfEntries(
  n: number,
  keys: readonly string[],
  tags: Uint8Array,
  ints: Int32Array,
  hashes: Int32Array,
  parts: number,
  slots: ReducerSlots,
  of: Int32Array,
  counts: number[],
  chars: number[],
  wide: number[],
): void {
  const mask = powerOfTwoMask(parts);
  for (let e = 0; e < n; e++) {
    const tag = tags[e]!;
    const packed = tag !== 0;
    const length = packed ? tag - 1 : keys[e]!.length;
    const h = packed ? hashPackedLatin1(ints[e << 2]!, ints[(e << 2) + 1]!, length) : hashes[e]!;
    const r = partitionOfHash(h, parts, mask);
    const slot = slots.slot(r);
    if (slot === counts.length) {
      counts.push(0);
      chars.push(0);
      wide.push(0);
    }
    of[e] = slot;
    counts[slot]!++;
    chars[slot]! += length;
    if (!packed && wide[slot] === 0 && !isLatin1(keys[e]!)) wide[slot] = 1;
  }
}

/** Whether every char of `s` is below 256. */
function isLatin1(s: string): boolean {
  for (let j = 0; j < s.length; j++) if (s.charCodeAt(j) > 255) return false;
  return true;
}

/** Each entry's end among the chars of all keys (`ends`); true when a key that is not packed has a char above 255. */
function charEnds(n: number, keys: readonly string[], tags: Uint8Array, ends: Int32Array): boolean {
  let chars = 0;
  let wide = false;
  for (let e = 0; e < n; e++) {
    const tag = tags[e]!;
    if (tag !== 0) chars += tag - 1;
    else {
      const key = keys[e]!;
      chars += key.length;
      if (!wide && !isLatin1(key)) wide = true;
    }
    ends[e] = chars;
  }
  return wide;
}

/** Writes `s`'s chars (code units) to `data` from `at` and returns the next place (each below 256 for a byte array). */
function writeChars(s: string, data: Uint8Array | Uint16Array, at: number): number {
  for (let j = 0; j < s.length; j++) data[at++] = s.charCodeAt(j);
  return at;
}

/**
 * Writes a packed key's `length` chars to `data` (a byte or a code unit each) from `at` and returns the next place:
 * chars 0-3 in `lo`, 4-7 in `hi`, low byte first, as unpack() reads them.
 */
function writePacked(lo: number, hi: number, length: number, data: Uint8Array | Uint16Array, at: number): number {
  for (let j = 0; j < length; j++) data[at++] = j < 4 ? (lo >>> (j << 3)) & 255 : (hi >>> ((j - 4) << 3)) & 255;
  return at;
}

/** Copies each entry's key chars, end and combiner to the next place of its bucket `of[e]`. */
function scatterChars(
  n: number,
  keys: readonly string[],
  tags: Uint8Array,
  ints: Int32Array,
  values: Float64Array,
  of: Int32Array,
  data: Array<Uint8Array | Uint16Array>,
  ends: Int32Array[],
  combiners: Float64Array[],
): void {
  const at = new Int32Array(data.length);
  const pos = new Int32Array(data.length);
  for (let e = 0; e < n; e++) {
    const r = of[e]!;
    const j = at[r]!++;
    const d = data[r]!;
    let p = pos[r]!;
    const tag = tags[e]!;
    if (tag !== 0) p = writePacked(ints[e << 2]!, ints[(e << 2) + 1]!, tag - 1, d, p);
    else p = writeChars(keys[e]!, d, p);
    pos[r] = p;
    ends[r]![j] = p;
    combiners[r]![j] = values[(e << 1) + 1]!;
  }
}
