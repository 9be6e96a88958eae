/**
 * Combining by key, the inner loop of every aggregating shuffle (map-side combine, reduce-side merge, and a
 * combine inside already-partitioned data). Int32 keys go in an IntTable, short strings and structural keys in a
 * KeyTable, other keys in a Map; each group keeps its first-seen key object. While every key is a row of int32
 * numbers of one width (edges, grid cells), the groups live in a RowTable instead, with no object per group, and
 * such keys come out as new arrays of their numbers; while every key is a string (word counts), they live in a
 * StringTable, with number combiners in a Float64Array; while every key is an int32 and every combiner a number,
 * in a NumberTable. The first key (or combiner) of another kind moves the groups to the general structures, in
 * their order.
 */
import { NotAPairError, isPair, tagUserError } from '../core/errors.js';
import type { Aggregator } from './aggregator.js';
import { LATIN1_FROM, Latin1Keys, unboxValue, type EncodedBucket } from './bucket-codec.js';
import { IntTable, KeyTable, RowTable, StringTable, inKeyTable, isIntRow } from './key-table.js';
import { NumberTable, isNumberTableKey } from './number-table.js';

import type { Pair } from '../core/pair.js';

export type { Pair };
/**
 * Receives records `from .. to` of two columns instead of their pairs: number values, and int32 keys, keys of any
 * kind (a fetched bucket's plain-array key column: the words of a word count) or a peer's latin1 strings read in place.
 */
export type NumberColumnsSink = (
  keys: Int32Array | readonly unknown[] | Latin1Keys,
  values: Float64Array | Int32Array,
  from: number,
  to: number,
) => void;
type Source = (each: (kv: Pair) => void) => void;
/** Receives elements `from .. to` of an array of records; `notAPair(x)` throws for an element that is not a pair. */
export type PairsSink = (xs: readonly unknown[], from: number, to: number, notAPair: (x: unknown) => never) => void;

/**
 * Records grouped by key; each group is its output pair [first-seen key, combiner], updated in place. Its adders are
 * methods: call them on the grouping (`(kv) => g.add(kv)`), never detached.
 */
export interface Grouping {
  /** Adds one record: createCombiner for a new key, else merge into its combiner. */
  add(kv: Pair): void;
  /** `add([k, v])`, without needing the pair where the keys are strings (a word count's words) or of mixed kinds. */
  addKV(k: unknown, v: unknown): void;
  /** Adds records `from .. to` of columns of keys and numbers: what `add` of each as a pair would do. */
  addNumbers(keys: Int32Array | readonly unknown[] | Latin1Keys, values: Float64Array | Int32Array, from: number, to: number): void;
  /**
   * Adds elements `from .. to` of an array of records (a flatMap's result), each checked to be a pair first
   * (`notAPair` throws for one that is not): what `add` of each, after that check, would do.
   */
  addPairs(xs: readonly unknown[], from: number, to: number, notAPair: (x: unknown) => never): void;
  /** The groups in first-seen order (an array the grouping may still use: read it, do not change it). */
  groups(): Pair[];
  /** Each group in first-seen order, without listing them all at once where the grouping holds no group objects. */
  each(sink: (kv: Pair) => void): void;
  /**
   * The groups as columns (keys and combiners in first-seen order, views to read at once) while every key is an
   * int32 and every combiner a number; undefined otherwise.
   */
  numbers(): { keys: Int32Array; combiners: Float64Array } | undefined;
  /**
   * The groups as columns (string keys, number combiners and the keys' `hashKey` values in first-seen order, the
   * grouping's own: read them at once) while every key is a string and every combiner a number; undefined otherwise.
   */
  strings(): { keys: string[]; combiners: Float64Array; hashes: Int32Array } | undefined;
  /**
   * The groups as `parts` buckets of latin1 keys and number combiners, as a HashPartitioner places them (see
   * StringTable.latin1Buckets), while every key is a string of chars below 256 and every combiner a number;
   * undefined otherwise. The buckets are new (their arrays from the thread's pool), the caller's to keep.
   */
  latin1Buckets(parts: number): EncodedBucket[] | undefined;
  /**
   * As {@link strings}, with the keys as one byte a char (see `StringTable.latin1`: no string made for a short
   * key), new arrays of this call alone, while every key is a string of chars below 256, every combiner a number
   * and there are at least LATIN1_FROM groups; undefined otherwise.
   */
  latin1(): { data: Uint8Array; ends: Int32Array; combiners: Float64Array } | undefined;
  /** Bytes held by the grouping's typed-array table (0 while its groups are elsewhere): a floor for estimates. */
  tableBytes(): number;
  /**
   * Gives the grouping's large scratch arrays back to the thread's pool (util/scratch-arrays.ts): call it once the
   * groups have been read (columns copied, pairs pushed); the grouping is not used afterwards.
   */
  release(): void;
}

// The way a grouping adds records (Grouping#add), chosen by its first record and left for ANY at the first that does
// not fit.
const CHOOSE = 0;
const STRING = 1;
const ROW = 2;
const NUMBER = 3;
const ANY = 4;

/**
 * A Grouping. `expectedGroups` (a lower bound on the distinct keys to come, 0 if unknown) presizes the string table.
 *
 * @example
 * ```ts
 * const g = grouping((v) => v, (a, b) => (a as number) + (b as number));
 * g.add(['a', 1]);
 * g.add(['a', 2]);
 * g.groups(); // [['a', 3]]
 * ```
 */
export function grouping(first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown, expectedGroups = 0): Grouping {
  return new GroupingTable(first, merge, expectedGroups);
}

/**
 * An object of one class, its state in fields, so that a hot caller (the combine, the shuffle writer) calls the same
 * methods in every task: a grouping made of closures gave each task its own functions, and V8's optimized callers
 * deoptimized once in each worker when the next task brought them ("wrong call target", docs/benchmarks.md, session
 * 23). The hot loops themselves live in the tables (NumberTable, StringTable), called with `first` and `merge`.
 */
class GroupingTable implements Grouping {
  readonly #first: (v: unknown) => unknown;
  readonly #merge: (c: unknown, v: unknown) => unknown;
  readonly #expectedGroups: number;
  readonly #primitives = new Map<unknown, Pair>();
  #ints: IntTable<Pair> | undefined = undefined;
  #table: KeyTable<Pair> | undefined = undefined;
  // Each structure lists its groups in first-seen order, so a separate list of all groups (an extra push per
  // group, measured 10% on 400k keys) is only kept once keys of two kinds occur.
  #mixed: Pair[] | undefined = undefined;
  /** How many of the three structures hold groups (a new group in a second one starts `#mixed`). */
  #used = 0;
  /** Row keys while they are the only keys (#addRow). */
  #rows: RowTable | undefined = undefined;
  /**
   * Int32 keys with number combiners while they are the only keys and combiners, in typed arrays (#addNumber); then
   * their groups move to the IntTable, in their order.
   */
  #numbers: NumberTable | undefined = undefined;
  /** String keys while they are the only keys (#addString). */
  #strings: StringTable | undefined = undefined;
  // Each way of adding is a method of its own so that its call sites and loads see only its kind of record: one
  // function for all (V8 shares its type feedback between every grouping of the worker) ran PageRank's number
  // combine 3x slower once the same worker had grouped rows and lists.
  #way = CHOOSE;

  constructor(first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown, expectedGroups: number) {
    this.#first = first;
    this.#merge = merge;
    this.#expectedGroups = expectedGroups;
  }

  /** The groups so far, when a group is the first outside the one structure used until now. */
  #others(): Pair[] {
    return [...this.#primitives.values(), ...(this.#ints?.groups() ?? []), ...(this.#table?.groups() ?? [])];
  }

  #created(k: unknown, v: unknown, count: number): Pair {
    return this.#groupOf(k, this.#first(v), count);
  }

  /** The group of a new key whose combiner is already built. */
  #groupOf(k: unknown, c: unknown, count: number): Pair {
    const g: Pair = [k, c];
    if (this.#mixed !== undefined) this.#mixed.push(g);
    else if (count === 0 && this.#used++ > 0) this.#mixed = [...this.#others(), g];
    return g;
  }

  /** Moves the row groups into the KeyTable (as pairs of a new key array and the combiner), in their order. */
  #rowsToTable(): void {
    const r = this.#rows;
    this.#rows = undefined;
    if (r === undefined || r.size === 0) return;
    const t = (this.#table ??= new KeyTable<Pair>());
    r.each((g) => {
      t.get(g[0]);
      t.addAfterMiss(g[0], g);
    });
    this.#used = 1;
  }

  #numbersToInts(): void {
    const n = this.#numbers;
    this.#numbers = undefined;
    if (n === undefined) return;
    if (n.size > 0) {
      const t = (this.#ints ??= new IntTable<Pair>());
      n.each((g) => {
        t.get(g[0] as number);
        t.addAfterMiss(g, g[0] as number);
      });
      this.#used = 1;
    }
    n.release();
  }

  /** Moves the string groups into the KeyTable (short strings) and the Map (long ones), in their order. */
  #stringsToGeneral(): void {
    const w = this.#strings;
    this.#strings = undefined;
    if (w === undefined || w.size === 0) return;
    // Both structures may be used, so `#mixed` keeps the first-seen order.
    const all: Pair[] = [];
    w.each((g) => {
      all.push(g);
      const k = g[0];
      if (inKeyTable(k)) {
        const t = (this.#table ??= new KeyTable<Pair>());
        t.get(k);
        t.addAfterMiss(k, g);
      } else this.#primitives.set(k, g);
    });
    this.#mixed = all;
    this.#used = 2;
  }

  /** Any key, in the IntTable, KeyTable or Map: a record given as its key and value (see addKV). */
  #addAnyKV(k: unknown, v: unknown): void {
    // Int32 keys (vertex ids, indexes, counts; -0 is 0, as keysEqual has it) hash in a typed array: several times
    // faster than a Map of 100k numbers.
    if (typeof k === 'number' && (k | 0) === k) {
      const t = (this.#ints ??= new IntTable<Pair>());
      const g = t.get(k);
      if (g === undefined) t.addAfterMiss(this.#created(k, v, t.size), k);
      else g[1] = this.#merge(g[1], v);
    } else if (inKeyTable(k)) {
      const t = (this.#table ??= new KeyTable<Pair>());
      const g = t.get(k);
      if (g === undefined) t.addAfterMiss(k, this.#created(k, v, t.size));
      else g[1] = this.#merge(g[1], v);
    } else {
      const g = this.#primitives.get(k);
      if (g === undefined) this.#primitives.set(k, this.#created(k, v, this.#primitives.size));
      else g[1] = this.#merge(g[1], v);
    }
  }

  #addAny(kv: Pair): void {
    this.#addAnyKV(kv[0], kv[1]);
  }

  /** While every key is an int32 row of one width. */
  #addRow(kv: Pair): void {
    const k = kv[0];
    if (isIntRow(k) && (this.#rows === undefined || this.#rows.width === k.length)) {
      (this.#rows ??= new RowTable(k.length)).add(k, kv[1], this.#first, this.#merge);
      return;
    }
    this.#rowsToTable();
    this.#way = ANY;
    this.#addAny(kv);
  }

  /** While every key is a string. */
  #addString(kv: Pair): void {
    const k = kv[0];
    if (typeof k === 'string') {
      (this.#strings ??= new StringTable(this.#expectedGroups)).add(k, kv[1], this.#first, this.#merge);
      return;
    }
    this.#stringsToGeneral();
    this.#way = ANY;
    this.#addAny(kv);
  }

  /** While every key is an int32 and every combiner a number. */
  #addNumber(kv: Pair): void {
    const k = kv[0];
    if (isNumberTableKey(k)) {
      const n = (this.#numbers ??= new NumberTable());
      if (!n.add(k, kv[1], this.#first, this.#merge)) this.#refusedNumber(n, k);
      return;
    }
    this.#numbersToInts();
    this.#way = ANY;
    this.#addAny(kv);
  }

  /** After the number table refused key `k`'s record: its groups move to the IntTable, the record's with them. */
  #refusedNumber(n: NumberTable, k: number): void {
    // The record's combiner is built (createCombiner or merge ran once) but is not a number.
    const combiner = n.refused;
    this.#numbersToInts();
    this.#way = ANY;
    const t = (this.#ints ??= new IntTable<Pair>());
    const g = t.get(k);
    if (g === undefined) t.addAfterMiss(this.#groupOf(k, combiner, t.size), k);
    else g[1] = combiner;
  }

  /** A record, the way chosen so far (the first record chooses it). */
  #addByWay(kv: Pair): void {
    switch (this.#way) {
      case STRING:
        this.#addString(kv);
        return;
      case NUMBER:
        this.#addNumber(kv);
        return;
      case ROW:
        this.#addRow(kv);
        return;
      case ANY:
        this.#addAny(kv);
        return;
      default: {
        const k = kv[0];
        this.#way = typeof k === 'string' ? STRING : isIntRow(k) ? ROW : isNumberTableKey(k) ? NUMBER : ANY;
        this.#addByWay(kv);
      }
    }
  }

  add(kv: Pair): void {
    this.#addByWay(kv);
  }

  // A map step's record without the pair it came in (which V8 may then not allocate); the pair is built only for a
  // way that keeps records as they come (a RowTable's first key, the choice of way).
  addKV(k: unknown, v: unknown): void {
    if (this.#way === STRING && typeof k === 'string') (this.#strings ??= new StringTable(this.#expectedGroups)).add(k, v, this.#first, this.#merge);
    else if (this.#way === ANY) this.#addAnyKV(k, v);
    else this.#addByWay([k, v]);
  }

  addNumbers(keys: Int32Array | readonly unknown[] | Latin1Keys, values: Float64Array | Int32Array, from: number, to: number): void {
    if (keys instanceof Latin1Keys) {
      this.#addLatin1(keys, values, from, to);
      return;
    }
    if (!(keys instanceof Int32Array)) {
      this.#addKeyed(keys, values, from, to);
      return;
    }
    let i = from;
    // Int32 keys (never -0 in an Int32Array) choose the number table, as their pairs would.
    if (this.#way === CHOOSE && i < to) this.#way = NUMBER;
    if (this.#way === NUMBER) {
      const n = (this.#numbers ??= new NumberTable());
      const stop = n.addColumns(keys, values, i, to, this.#first, this.#merge);
      if (stop >= 0) i = stop;
      else {
        i = ~stop;
        this.#refusedNumber(n, keys[i]!);
        i++;
      }
    }
    // The rest as the pairs a decoded bucket holds.
    for (; i < to; i++) {
      const kv: Pair = [null, null];
      kv[0] = keys[i];
      kv[1] = values[i];
      this.#addByWay(kv);
    }
  }

  addPairs(xs: readonly unknown[], from: number, to: number, notAPair: (x: unknown) => never): void {
    let i = from;
    if (this.#way === CHOOSE && i < to) {
      // The first record chooses the way, as `add` would.
      const kv = xs[i++];
      if (!isPair(kv)) notAPair(kv);
      this.#addByWay(kv as Pair);
    }
    if (this.#way === NUMBER) {
      // One loop from the array into the number table (NumberTable#addPairs), up to a record it does not take.
      const n = (this.#numbers ??= new NumberTable());
      const stop = n.addPairs(xs, i, to, this.#first, this.#merge, notAPair);
      if (stop >= 0) i = stop;
      else {
        this.#refusedNumber(n, n.refusedKey);
        i = ~stop + 1;
      }
    }
    for (; i < to; i++) {
      const kv = xs[i];
      if (!isPair(kv)) notAPair(kv);
      this.#addByWay(kv as Pair);
    }
  }

  /** A key column of any kind: string keys straight into the string table while it is the way, the rest as pairs. */
  #addKeyed(keys: readonly unknown[], values: Float64Array | Int32Array, from: number, to: number): void {
    let i = from;
    if (this.#way === CHOOSE && i < to && typeof keys[i] === 'string') this.#way = STRING;
    if (this.#way === STRING) {
      const s = (this.#strings ??= new StringTable(this.#expectedGroups));
      for (; i < to; i++) {
        const k = keys[i];
        if (typeof k !== 'string') break;
        s.add(k, values[i], this.#first, this.#merge);
      }
    }
    // The rest (from the first key that is not a string, or all of them in another way) as a decoded bucket's pairs.
    for (; i < to; i++) {
      const kv: Pair = [null, null];
      kv[0] = keys[i];
      kv[1] = values[i];
      this.#addByWay(kv);
    }
  }

  /**
   * A peer's latin1 strings: into the string table while it is the way, each looked up by its bytes and made a
   * string only when it is a new key; the rest as a decoded bucket's pairs (as #addKeyed).
   */
  #addLatin1(keys: Latin1Keys, values: Float64Array | Int32Array, from: number, to: number): void {
    let i = from;
    if (this.#way === CHOOSE && i < to) this.#way = STRING;
    if (this.#way === STRING) {
      const s = (this.#strings ??= new StringTable(this.#expectedGroups));
      const ends = keys.ends;
      for (let at = keys.start(i); i < to; i++) {
        const end = ends[i]!;
        s.addLatin1(keys, at, end, values[i], this.#first, this.#merge);
        at = end;
      }
    }
    for (; i < to; i++) {
      const kv: Pair = [null, null];
      kv[0] = keys.key(i);
      kv[1] = values[i];
      this.#addByWay(kv);
    }
  }

  groups(): Pair[] {
    const flat = this.#rows ?? this.#numbers ?? this.#strings;
    if (flat !== undefined) {
      const all: Pair[] = [];
      flat.each((g) => all.push(g));
      return all;
    }
    return (
      this.#mixed ??
      (this.#ints !== undefined ? this.#ints.groups() : this.#table !== undefined ? this.#table.groups() : Array.from(this.#primitives.values()))
    );
  }

  // Set only while every group is in it (it is dropped when they move).
  numbers(): { keys: Int32Array; combiners: Float64Array } | undefined {
    return this.#numbers?.columns();
  }

  strings(): { keys: string[]; combiners: Float64Array; hashes: Int32Array } | undefined {
    return this.#strings?.columns();
  }

  latin1Buckets(parts: number): EncodedBucket[] | undefined {
    return this.#strings?.latin1Buckets(parts);
  }

  latin1(): { data: Uint8Array; ends: Int32Array; combiners: Float64Array } | undefined {
    return this.#strings !== undefined && this.#strings.size >= LATIN1_FROM ? this.#strings.latin1() : undefined;
  }

  tableBytes(): number {
    return this.#numbers?.bytes ?? 0;
  }

  release(): void {
    this.#numbers?.release();
    this.#numbers = undefined;
  }

  each(sink: (kv: Pair) => void): void {
    const flat = this.#rows ?? this.#numbers ?? this.#strings;
    if (flat !== undefined) {
      flat.each(sink);
      return;
    }
    const all = this.groups();
    for (let i = 0; i < all.length; i++) sink(all[i]!);
  }
}

function combine(source: Source, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown, rddId: number, label: string): Pair[] {
  const g = grouping(first, merge);
  try {
    source((kv) => g.add(kv));
  } catch (e) {
    throw tagUserError(e, rddId, label);
  }
  const groups = g.groups();
  g.release();
  return groups;
}

/**
 * Combines raw values: createCombiner for a key's first value, mergeValue for the rest. Raw records come from user
 * functions, so each must be a pair; `from` names where they come from, for the error.
 */
export function combineValuesByKey(source: Source, agg: Aggregator, rddId: number, label: string, from: string): Pair[] {
  const pairsOnly: Source = (each) =>
    source((kv) => {
      if (!isPair(kv)) throw new NotAPairError(label, from, kv);
      each(kv);
    });
  return combine(pairsOnly, agg.createCombiner, agg.mergeValue, rddId, label);
}

/**
 * Merges combiners that map tasks already built. mergeCombiners may modify and return its first argument
 * (Spark's contract for aggregateByKey and combineByKey), and a key's first combiner may be the stored map
 * output itself (a bucket read from this worker's own store), which later jobs read again: so the first
 * combiner of each key is copied when it is an object. Later combiners are only read, never copied.
 */
export function combineCombinersByKey(source: Source, agg: Aggregator, rddId: number, label: string): Pair[] {
  return combine(source, ownCopy, agg.mergeCombiners, rddId, label);
}

/**
 * The reduce side's own copy of a key's first combiner, so that `mergeCombiners` may change it in place. The clone's
 * arrays of numbers come back boxed; they are unboxed again so that `mergeCombiners`, which the map side also calls
 * (reduceByKey) with unboxed arrays, sees one kind (see unboxNumberArrays).
 */
export const ownCopy = (c: unknown): unknown => (c !== null && typeof c === 'object' ? unboxValue(structuredClone(c)) : c);
