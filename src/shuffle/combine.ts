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
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';
import type { Aggregator } from './aggregator.js';
import { LATIN1_FROM, Latin1Keys, StringKeys, unboxValue, type EncodedBucket, type StringColumn, type Utf16Keys } from './bucket-codec.js';
import { IntTable, KeyTable, RowTable, StringTable, inKeyTable, isIntRow } from './key-table.js';
import { NumberTable, isNumberTableKey } from './number-table.js';

import type { Pair } from '../core/pair.js';
import type { SparseBuckets } from './sparse-buckets.js';

export type { Pair };
/**
 * Receives records `from .. to` of two columns instead of their pairs: number values, and int32 keys, keys of any
 * kind (a fetched bucket's plain-array key column: the words of a word count) or a peer's strings read in place from
 * their chars (latin1 or utf16).
 */
export type NumberColumnsSink = (
  keys: Int32Array | readonly unknown[] | StringKeys,
  values: Float64Array | Int32Array,
  from: number,
  to: number,
) => void;
type Source = (each: (kv: Pair) => void) => void;
/** Receives elements `from .. to` of an array of records; `notAPair(x)` throws for an element that is not a pair. */
export type PairsSink = (xs: readonly unknown[], from: number, to: number, notAPair: (x: unknown) => never) => void;

/** Records grouped by key; each group is its output pair [first-seen key, combiner], updated in place. */
export interface Grouping {
  /** Adds one record: createCombiner for a new key, else merge into its combiner. */
  readonly add: (kv: Pair) => void;
  /** `add([k, v])`, without needing the pair where the keys are strings (a word count's words) or of mixed kinds. */
  readonly addKV: (k: unknown, v: unknown) => void;
  /**
   * A function that does what {@link addKV} does for as long as the grouping is used, or for one that calls it per
   * record one call fewer: once keys of any kind go to the general structures (numeric keys with tuple values:
   * k-means' centers; keys of mixed kinds), which they never leave, the function that adds them there.
   */
  directKV(): (k: unknown, v: unknown) => void;
  /** Adds records `from .. to` of columns of keys and numbers: what `add` of each as a pair would do. */
  readonly addNumbers: NumberColumnsSink;
  /**
   * Adds elements `from .. to` of an array of records (a flatMap's result), each checked to be a pair first
   * (`notAPair` throws for one that is not): what `add` of each, after that check, would do.
   */
  readonly addPairs: PairsSink;
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
   * The groups as `parts` buckets (the non-empty ones) of string keys as chars (latin1 or utf16, per bucket) and number
   * combiners, as a HashPartitioner places them (see StringTable.stringBuckets), while every key is a string and
   * every combiner a number; undefined otherwise. The buckets are new (their arrays from the thread's pool), the
   * caller's to keep.
   */
  stringBuckets(parts: number): SparseBuckets<EncodedBucket> | undefined;
  /**
   * As {@link strings}, with the keys as their chars (see `StringTable.stringColumns`: no string made for a short
   * key), new arrays of this call alone, while every key is a string, every combiner a number and there are at
   * least LATIN1_FROM groups; undefined otherwise.
   */
  stringColumns(): { keys: StringColumn; combiners: Float64Array } | undefined;
  /** Bytes held by the grouping's typed-array table (0 while its groups are elsewhere): a floor for estimates. */
  tableBytes(): number;
  /**
   * Gives the grouping's large scratch arrays back to the thread's pool (util/scratch-arrays.ts): call it once the
   * groups have been read (columns copied, pairs pushed); the grouping is not used afterwards.
   */
  release(): void;
}

/**
 * A Grouping. Closures rather than a class: the same loop as a class measured 20% slower on 400k keys.
 * `expectedGroups` (a lower bound on the distinct keys to come, 0 if unknown) presizes the string table.
 */
export function grouping(first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown, expectedGroups = 0): Grouping {
  const primitives = new Map<unknown, Pair>();
  let ints: IntTable<Pair> | undefined;
  let table: KeyTable<Pair> | undefined;
  // Each structure lists its groups in first-seen order, so a separate list of all groups (an extra push per
  // group, measured 10% on 400k keys) is only kept once keys of two kinds occur.
  let mixed: Pair[] | undefined;
  /** The groups so far, when `created` is the first group outside the one structure used until now. */
  const others = (): Pair[] => [...primitives.values(), ...(ints?.groups() ?? []), ...(table?.groups() ?? [])];
  let used = 0; // how many of the three structures hold groups (a new group in a second one starts `mixed`)
  const created = (k: unknown, v: unknown, count: number): Pair => groupOf(k, first(v), count);
  /** The group of a new key whose combiner is already built. */
  const groupOf = (k: unknown, c: unknown, count: number): Pair => {
    const g: Pair = [k, c];
    if (mixed !== undefined) mixed.push(g);
    else if (count === 0 && used++ > 0) mixed = [...others(), g];
    return g;
  };
  // Row keys while they are the only keys (addRow).
  let rows: RowTable | undefined;
  /** Moves the row groups into the KeyTable (as pairs of a new key array and the combiner), in their order. */
  const rowsToTable = (): void => {
    const r = rows;
    rows = undefined;
    if (r === undefined || r.size === 0) return;
    const t = (table ??= new KeyTable<Pair>());
    r.each((g) => {
      t.get(g[0]);
      t.addAfterMiss(g[0], g);
    });
    used = 1;
  };
  // Int32 keys with number combiners while they are the only keys and combiners, in typed arrays (addNumber);
  // then their groups move to the IntTable, in their order.
  let numbers: NumberTable | undefined;
  const numbersToInts = (): void => {
    const n = numbers;
    numbers = undefined;
    if (n === undefined) return;
    if (n.size > 0) {
      const t = (ints ??= new IntTable<Pair>());
      n.each((g) => {
        t.get(g[0] as number);
        t.addAfterMiss(g, g[0] as number);
      });
      used = 1;
    }
    n.release();
  };
  // String keys while they are the only keys (addString).
  let strings: StringTable | undefined;
  /** Moves the string groups into the KeyTable (short strings) and the Map (long ones), in their order. */
  const stringsToGeneral = (): void => {
    const w = strings;
    strings = undefined;
    if (w === undefined || w.size === 0) return;
    // Both structures may be used, so `mixed` keeps the first-seen order.
    const all: Pair[] = [];
    w.each((g) => {
      all.push(g);
      const k = g[0];
      if (inKeyTable(k)) {
        const t = (table ??= new KeyTable<Pair>());
        t.get(k);
        t.addAfterMiss(k, g);
      } else primitives.set(k, g);
    });
    mixed = all;
    used = 2;
  };
  /** Any key, in the IntTable, KeyTable or Map: a record given as its key and value (see addKV). */
  const addAnyKV = (k: unknown, v: unknown): void => {
    // Int32 keys (vertex ids, indexes, counts; -0 is 0, as keysEqual has it) hash in a typed array: several times
    // faster than a Map of 100k numbers.
    if (typeof k === 'number' && (k | 0) === k) {
      const t = (ints ??= new IntTable<Pair>());
      const g = t.get(k);
      if (g === undefined) t.addAfterMiss(created(k, v, t.size), k);
      else g[1] = merge(g[1], v);
    } else if (inKeyTable(k)) {
      const t = (table ??= new KeyTable<Pair>());
      const g = t.get(k);
      if (g === undefined) t.addAfterMiss(k, created(k, v, t.size));
      else g[1] = merge(g[1], v);
    } else {
      const g = primitives.get(k);
      if (g === undefined) primitives.set(k, created(k, v, primitives.size));
      else g[1] = merge(g[1], v);
    }
  };
  const addAny = (kv: Pair): void => addAnyKV(kv[0], kv[1]);
  /** While every key is an int32 row of one width. */
  const addRow = (kv: Pair): void => {
    const k = kv[0];
    if (isIntRow(k) && (rows === undefined || rows.width === k.length)) {
      (rows ??= new RowTable(k.length)).add(k, kv[1], first, merge);
      return;
    }
    rowsToTable();
    impl = addAny;
    addAny(kv);
  };
  /** While every key is a string. */
  const addString = (kv: Pair): void => {
    const k = kv[0];
    if (typeof k === 'string') {
      (strings ??= new StringTable(expectedGroups)).add(k, kv[1], first, merge);
      return;
    }
    stringsToGeneral();
    impl = addAny;
    addAny(kv);
  };
  /** While every key is an int32 and every combiner a number. */
  const addNumber = (kv: Pair): void => {
    const k = kv[0];
    if (isNumberTableKey(k)) {
      const n = (numbers ??= new NumberTable());
      if (!n.add(k, kv[1], first, merge)) refusedNumber(n, k);
      return;
    }
    numbersToInts();
    impl = addAny;
    addAny(kv);
  };
  /** After the number table refused key `k`'s record: its groups move to the IntTable, the record's with them. */
  const refusedNumber = (n: NumberTable, k: number): void => {
    // The record's combiner is built (createCombiner or merge ran once) but is not a number.
    const combiner = n.refused;
    numbersToInts();
    impl = addAny;
    const t = (ints ??= new IntTable<Pair>());
    const g = t.get(k);
    if (g === undefined) t.addAfterMiss(groupOf(k, combiner, t.size), k);
    else g[1] = combiner;
  };
  // The way records are added, chosen by the first one and left for addAny at the first that does not fit. Each
  // way is a function of its own so that its call sites and loads see only its kind of record: one function for
  // all (V8 shares its type feedback between every grouping of the worker) ran PageRank's number combine 3x
  // slower once the same worker had grouped rows and lists.
  let impl = (kv: Pair): void => {
    const k = kv[0];
    impl = typeof k === 'string' ? addString : isIntRow(k) ? addRow : isNumberTableKey(k) ? addNumber : addAny;
    impl(kv);
  };
  const choose = impl;
  const add = (kv: Pair): void => impl(kv);
  // A map step's record without the pair it came in (which V8 may then not allocate); the pair is built only for a
  // way that keeps records as they come (a RowTable's first key, the choice of way).
  const addKV = (k: unknown, v: unknown): void => {
    if (impl === addString && typeof k === 'string') (strings ??= new StringTable(expectedGroups)).add(k, v, first, merge);
    else if (impl === addAny) addAnyKV(k, v);
    else impl([k, v]);
  };
  const addNumbers = (keys: Int32Array | readonly unknown[] | StringKeys, values: Float64Array | Int32Array, from: number, to: number): void => {
    if (keys instanceof StringKeys) {
      addChars(keys as Latin1Keys | Utf16Keys, values, from, to);
      return;
    }
    if (!(keys instanceof Int32Array)) {
      addKeyed(keys, values, from, to);
      return;
    }
    let i = from;
    // Int32 keys (never -0 in an Int32Array) choose the number table, as their pairs would.
    if (impl === choose && i < to) impl = addNumber;
    if (impl === addNumber) {
      const n = (numbers ??= new NumberTable());
      const stop = n.addColumns(keys, values, i, to, first, merge);
      if (stop >= 0) i = stop;
      else {
        i = ~stop;
        refusedNumber(n, keys[i]!);
        i++;
      }
    }
    // The rest as the pairs a decoded bucket holds.
    for (; i < to; i++) {
      const kv: Pair = [null, null];
      kv[0] = keys[i];
      kv[1] = values[i];
      impl(kv);
    }
  };
  const addPairs: PairsSink = (xs, from, to, notAPair) => {
    let i = from;
    if (impl === choose && i < to) {
      // The first record chooses the way, as `add` would.
      const kv = xs[i++];
      if (!isPair(kv)) notAPair(kv);
      impl(kv as Pair);
    }
    if (impl === addNumber) {
      // One loop from the array into the number table (NumberTable#addPairs), up to a record it does not take.
      const n = (numbers ??= new NumberTable());
      const stop = n.addPairs(xs, i, to, first, merge, notAPair);
      if (stop >= 0) i = stop;
      else {
        refusedNumber(n, n.refusedKey);
        i = ~stop + 1;
      }
    }
    for (; i < to; i++) {
      const kv = xs[i];
      if (!isPair(kv)) notAPair(kv);
      impl(kv as Pair);
    }
  };
  /** A key column of any kind: string keys straight into the string table while it is the way, the rest as pairs. */
  const addKeyed = (keys: readonly unknown[], values: Float64Array | Int32Array, from: number, to: number): void => {
    let i = from;
    if (impl === choose && i < to && typeof keys[i] === 'string') impl = addString;
    if (impl === addString) {
      const s = (strings ??= new StringTable(expectedGroups));
      for (; i < to; i++) {
        const k = keys[i];
        if (typeof k !== 'string') break;
        s.add(k, values[i], first, merge);
      }
    }
    // The rest (from the first key that is not a string, or all of them in another way) as a decoded bucket's pairs.
    for (; i < to; i++) {
      const kv: Pair = [null, null];
      kv[0] = keys[i];
      kv[1] = values[i];
      impl(kv);
    }
  };
  /**
   * A peer's strings as chars: into the string table while it is the way, each looked up by its chars and made a
   * string only when it is a new key (or one the table does not pack); the rest as a decoded bucket's pairs (as
   * addKeyed).
   */
  const addChars = (keys: Latin1Keys | Utf16Keys, values: Float64Array | Int32Array, from: number, to: number): void => {
    let i = from;
    if (impl === choose && i < to) impl = addString;
    if (impl === addString) {
      const s = (strings ??= new StringTable(expectedGroups));
      addCharKeys(s, keys, values, i, to, first, merge);
      i = to;
    }
    for (; i < to; i++) {
      const kv: Pair = [null, null];
      kv[0] = keys.key(i);
      kv[1] = values[i];
      impl(kv);
    }
  };
  const groups = (): Pair[] => {
    const flat = rows ?? numbers ?? strings;
    if (flat !== undefined) {
      const all: Pair[] = [];
      flat.each((g) => all.push(g));
      return all;
    }
    return mixed ?? (ints !== undefined ? ints.groups() : table !== undefined ? table.groups() : Array.from(primitives.values()));
  };
  return {
    add,
    addKV,
    // addAny is the last way: once chosen, addKV only ever calls addAnyKV.
    directKV: () => (impl === addAny ? addAnyKV : addKV),
    addNumbers,
    addPairs,
    groups,
    // Set only while every group is in it (it is dropped when they move).
    numbers: () => numbers?.columns(),
    strings: () => strings?.columns(),
    stringBuckets: (parts) => strings?.stringBuckets(parts),
    stringColumns: () => (strings !== undefined && strings.size >= LATIN1_FROM ? strings.stringColumns() : undefined),
    tableBytes: () => numbers?.bytes ?? 0,
    release: () => {
      numbers?.release();
      numbers = undefined;
    },
    each: (sink) => {
      const flat = rows ?? numbers ?? strings;
      if (flat !== undefined) {
        flat.each(sink);
        return;
      }
      const all = groups();
      for (let i = 0; i < all.length; i++) {
        // The groups go on to the rest of the task's pipeline (a slow map): a cancelled task stops here too.
        if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
        sink(all[i]!);
      }
    },
  };
}

type Merge = (c: unknown, v: unknown) => unknown;

/** Records `from .. to` of a column of chars and number values into the string table, each found by its chars. */
function addCharKeys(
  s: StringTable,
  keys: Latin1Keys | Utf16Keys,
  values: Float64Array | Int32Array,
  from: number,
  to: number,
  first: (v: unknown) => unknown,
  merge: Merge,
): void {
  const ends = keys.ends;
  // Each call site sees one kind of column: a bucket of bytes never goes through the code units' reader.
  const bytes = keys instanceof Latin1Keys ? keys : undefined;
  for (let i = from, at = keys.start(from); i < to; i++) {
    const end = ends[i]!;
    if (bytes !== undefined) s.addLatin1(bytes, at, end, values[i], first, merge);
    else s.addUtf16(keys as Utf16Keys, at, end, values[i], first, merge);
    at = end;
  }
}

function combine(source: Source, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown, rddId: number, label: string): Pair[] {
  const g = grouping(first, merge);
  try {
    source(g.add);
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
