/**
 * Cached partitions of numbers and of pairs of numbers as typed-array columns (Spark keeps such data
 * serialized or in columnar caches for the same reason): a partition of 50k `[vertex, rank]` pairs is two typed
 * arrays of 600 KB instead of 50k pair objects and heap numbers that every full collection traces, and its size
 * is known exactly rather than estimated from a sample.
 *
 * Three shapes are held, each element checked when the partition is stored:
 * - numbers: one column;
 * - pairs `[number, number]`: a key column and a value column;
 * - pairs `[number, number[]]` (PageRank's links, adjacency lists): a key column and the lists back to back with
 *   their offsets (CSR).
 * A column is an Int32Array when all its numbers are int32 (and none is -0), else a Float64Array, so every number
 * (NaN, -0, Infinity, fractions) comes back as it was. Anything else (a third item, a string, a class instance,
 * an array that is not a plain one) leaves the partition an array of its elements.
 *
 * Elements are built again on each read, so a reader gets fresh pairs and lists: changing an element read
 * from the cache (which Spark leaves undefined) no longer changes what the next reader sees.
 */

import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/** A typed column of numbers. */
export type Column = Int32Array | Float64Array;

/** Bytes of a JS object holding typed arrays, and of each typed array object besides its data (V8, 64-bit). */
const OBJECT_BYTES = 80;
const ARRAY_OBJECT_BYTES = 100;

/** A cached partition in columns: its elements are built as they are read. */
export abstract class ColumnBlock implements Iterable<unknown> {
  abstract readonly length: number;
  /** Bytes held: the columns' data plus their objects (measured against process.memoryUsage() in a test). */
  abstract readonly bytes: number;
  /** Pushes each element, in the order stored. */
  abstract forEach(sink: (x: unknown) => void): void;

  /** All elements as a new array (for the disk store, which writes arrays). */
  toArray(): unknown[] {
    const out: unknown[] = [];
    this.forEach((x) => {
      out.push(x);
    });
    return out;
  }

  [Symbol.iterator](): Iterator<unknown> {
    return this.toArray()[Symbol.iterator]();
  }
}

/** A cached partition as read: its elements' array, or the columns they were stored in. */
export type CachedPartition = readonly unknown[] | ColumnBlock;

/**
 * A cached partition of pairs read by row without building its pairs: the key column, and each row's value
 * built on demand (a number, or a fresh list for the lists of a ListBlock). What a by-key loop over cached data
 * (the co-partitioned join) reads instead of the elements.
 */
export interface PairColumns {
  readonly keys: Column;
  /** The value of row `i`, built as the element's value would be (a new list on each call for lists). */
  valueAt(i: number): unknown;
}

/** The pair columns of a cached partition stored as pairs of numbers or number lists; undefined for anything else. */
export function pairColumns(p: CachedPartition): PairColumns | undefined {
  return p instanceof PairBlock || p instanceof ListBlock ? p : undefined;
}

/** Pushes each element of a cached partition, columns or array, to `sink`. */
export function eachCached(p: CachedPartition, sink: (x: unknown) => void): void {
  if (p instanceof ColumnBlock) {
    p.forEach(sink);
    return;
  }
  for (let i = 0; i < p.length; i++) {
    if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
    sink(p[i]);
  }
}

/** The elements as an array (built from columns when stored as columns). */
export function cachedArray(p: CachedPartition): readonly unknown[] {
  return p instanceof ColumnBlock ? p.toArray() : p;
}

class NumberBlock extends ColumnBlock {
  readonly bytes: number;
  constructor(readonly values: Column) {
    super();
    this.bytes = OBJECT_BYTES + columnBytes(values);
  }
  get length(): number {
    return this.values.length;
  }
  forEach(sink: (x: unknown) => void): void {
    const v = this.values;
    for (let i = 0; i < v.length; i++) {
      if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      sink(v[i]);
    }
  }
}

class PairBlock extends ColumnBlock implements PairColumns {
  readonly bytes: number;
  constructor(
    readonly keys: Column,
    readonly values: Column,
  ) {
    super();
    this.bytes = OBJECT_BYTES + columnBytes(keys) + columnBytes(values);
  }
  get length(): number {
    return this.keys.length;
  }
  forEach(sink: (x: unknown) => void): void {
    const k = this.keys;
    const v = this.values;
    for (let i = 0; i < k.length; i++) {
      if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      sink([k[i], v[i]]);
    }
  }
  valueAt(i: number): unknown {
    return this.values[i];
  }
}

/** Pairs of a number and a list of numbers: keys, the lists back to back, and where each list starts (CSR). */
class ListBlock extends ColumnBlock implements PairColumns {
  readonly bytes: number;
  constructor(
    readonly keys: Column,
    /** keys.length + 1 offsets into items. */
    readonly offsets: Int32Array,
    readonly items: Column,
  ) {
    super();
    this.bytes = OBJECT_BYTES + columnBytes(keys) + columnBytes(offsets) + columnBytes(items);
  }
  get length(): number {
    return this.keys.length;
  }
  forEach(sink: (x: unknown) => void): void {
    const { keys, offsets, items } = this;
    for (let i = 0; i < keys.length; i++) {
      if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      sink([keys[i], listOf(items, offsets[i]!, offsets[i + 1]!)]);
    }
  }
  valueAt(i: number): unknown {
    return listOf(this.items, this.offsets[i]!, this.offsets[i + 1]!);
  }
}

/** Lists up to this long are copied out of a scratch array (see listOf); longer ones grow by push. */
const SCRATCH_LIST_MAX = 4096;
// Packed arrays the lists are sliced from, one per column kind so that each keeps its elements kind (small integers,
// doubles): a list read from an Int32Array column comes out as push made it, not as an array of doubles.
const intScratch: number[] = [0];
const doubleScratch: number[] = [0.5];

/**
 * `items[from .. end)` as a new packed list of exactly its length. Push gave each list a backing store of 16 and
 * grew it by half past that (a list of 20 was copied once), and paid a capacity check and a length update per item;
 * here the items go into a scratch array that is never shorter than the list and `slice` copies them out in one
 * go. PageRank's map task makes one list per joined source (~46k a task, ~460k items): 50k lists and the example's
 * `urls.map` over them took 5.1 ms of one thread's CPU against 5.5 with push (medians of 140 rounds, session 24).
 * A list made at its length by `new Array(n)` is faster still (4.4 ms), but holey for good, and V8 serializes a
 * holey array index by index wherever it crosses threads (see the spec).
 */
function listOf(items: Column, from: number, end: number): number[] {
  const n = end - from;
  if (n > SCRATCH_LIST_MAX) {
    const list: number[] = [];
    for (let j = from; j < end; j++) list.push(items[j]!);
    return list;
  }
  const scratch = items instanceof Int32Array ? intScratch : doubleScratch;
  while (scratch.length < n) scratch.push(scratch[0]!);
  for (let j = 0; j < n; j++) scratch[j] = items[from + j]!;
  return scratch.slice(0, n);
}

function columnBytes(c: Column): number {
  return ARRAY_OBJECT_BYTES + c.byteLength;
}

/** A plain array of exactly two items: not a subclass, not a tuple with more. */
function isPlainPair(x: unknown): x is [unknown, unknown] {
  return Array.isArray(x) && x.length === 2 && Object.getPrototypeOf(x) === Array.prototype;
}

/** A Float64Array of the numbers, or the same numbers as an Int32Array when all are int32 and none is -0. */
function narrowed(f: Float64Array): Column {
  for (let i = 0; i < f.length; i++) {
    const x = f[i]!;
    if ((x | 0) !== x || (x === 0 && 1 / x < 0)) return f;
  }
  return Int32Array.from(f);
}

/**
 * The partition as columns when all its elements have one of the shapes above; undefined otherwise (and for an
 * empty partition, which costs nothing as an array).
 *
 * @example
 * ```ts
 * const block = packPartition([[1, 0.5], [2, 0.25]]); // a PairBlock: Int32Array keys, Float64Array values
 * block?.forEach((kv) => console.log(kv));            // [1, 0.5] then [2, 0.25], new pairs on each read
 * ```
 */
export function packPartition(values: readonly unknown[]): ColumnBlock | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const first = values[0];
  if (typeof first === 'number') {
    const f = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = values[i];
      if (typeof x !== 'number') return undefined;
      f[i] = x;
    }
    return new NumberBlock(narrowed(f));
  }
  if (!isPlainPair(first) || typeof first[0] !== 'number') return undefined;
  if (typeof first[1] === 'number') return packPairs(values);
  if (isPlainList(first[1])) return packLists(values);
  return undefined;
}

/**
 * A partition of pairs already held as columns (a combine by int32 key whose combiners are numbers) as a cached
 * block, without building its pairs: the same block `packPartition` gives for those pairs. The keys are copied, since
 * a combine's arrays go back to its pool; so are the values unless `ownValues` (a new array nobody else holds: a
 * fresh large typed array costs here about as much as filling it, ~1 ms for PageRank's 45k ranks).
 */
export function pairBlockOf(keys: Int32Array, values: Float64Array, ownValues = false): ColumnBlock {
  return new PairBlock(keys.slice(), narrowed(ownValues ? values : values.slice()));
}

function packPairs(values: readonly unknown[]): ColumnBlock | undefined {
  const n = values.length;
  const keys = new Float64Array(n);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const kv = values[i];
    if (!isPlainPair(kv)) return undefined;
    const k = kv[0];
    const v = kv[1];
    if (typeof k !== 'number' || typeof v !== 'number') return undefined;
    keys[i] = k;
    vals[i] = v;
  }
  return new PairBlock(narrowed(keys), narrowed(vals));
}

/** A plain array (no subclass) whose items are all numbers; a hole reads as undefined and so refuses it. */
function isPlainList(x: unknown): x is number[] {
  if (!Array.isArray(x) || Object.getPrototypeOf(x) !== Array.prototype) return false;
  for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number') return false;
  return true;
}

function packLists(values: readonly unknown[]): ColumnBlock | undefined {
  const n = values.length;
  const keys = new Float64Array(n);
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const kv = values[i];
    if (!isPlainPair(kv) || typeof kv[0] !== 'number' || !isPlainList(kv[1])) return undefined;
    keys[i] = kv[0];
    total += kv[1].length;
    // Offsets are int32: a partition of more than 2^31 - 1 list items stays an array.
    if (total > 0x7fffffff) return undefined;
    offsets[i + 1] = total;
  }
  const items = new Float64Array(total);
  for (let i = 0, at = 0; i < n; i++) {
    const list = (values[i] as [number, number[]])[1];
    for (let j = 0; j < list.length; j++) items[at++] = list[j]!;
  }
  return new ListBlock(narrowed(keys), offsets, narrowed(items));
}

/**
 * A cached partition as it crosses to another worker (a remote cached-block read): the columns as they are (typed
 * arrays clone as one copy of their bytes, with no element built on either side), or the elements' array.
 */
export type BlockWire =
  | { readonly kind: 'array'; readonly values: readonly unknown[] }
  | { readonly kind: 'numbers'; readonly values: Column }
  | { readonly kind: 'pairs'; readonly keys: Column; readonly values: Column }
  | { readonly kind: 'lists'; readonly keys: Column; readonly offsets: Int32Array; readonly items: Column };

/** The wire form of a cached partition (see {@link BlockWire}); the block itself is left as it is. */
export function toBlockWire(p: CachedPartition): BlockWire {
  if (p instanceof NumberBlock) return { kind: 'numbers', values: p.values };
  if (p instanceof PairBlock) return { kind: 'pairs', keys: p.keys, values: p.values };
  if (p instanceof ListBlock) return { kind: 'lists', keys: p.keys, offsets: p.offsets, items: p.items };
  return { kind: 'array', values: cachedArray(p) };
}

/** The cached partition a {@link BlockWire} describes, as the holder's store had it. */
export function fromBlockWire(w: BlockWire): CachedPartition {
  switch (w.kind) {
    case 'numbers':
      return new NumberBlock(w.values);
    case 'pairs':
      return new PairBlock(w.keys, w.values);
    case 'lists':
      return new ListBlock(w.keys, w.offsets, w.items);
    default:
      return w.values;
  }
}
