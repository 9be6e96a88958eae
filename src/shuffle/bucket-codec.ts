/**
 * How shuffle buckets travel between workers. Posting an array of `[k, v]` pairs makes the structured clone
 * walk and rebuild every pair and every number one tag at a time; for 500k numeric pairs that is about ten
 * times the cost of the work the reducer does with them. So a bucket is sent as two columns: a column whose
 * entries are all numbers becomes an Int32Array (all int32, no -0) or a Float64Array, transferred rather than
 * copied; one that is all `null` (the values of distinct and other set operations) or all `undefined` becomes
 * just its length; any other column stays a plain array that the structured clone copies as before. The
 * receiver rebuilds the pairs.
 *
 * Keys and values arrive as the structured clone would deliver them: numbers keep their exact value (-0 and
 * NaN included), and the objects of a plain column are cloned within the one message, so objects shared
 * between pairs stay shared. Only the pair arrays themselves are new, as they are after any clone.
 */
import type { Pair } from './combine.js';
import { arrayOfLength, concatArrays } from '../util/arrays.js';
import { packedNumbers } from '../util/unbox.js';
import { sizeOf, stringSize } from '../storage/size-estimator.js';

type Column =
  | { readonly kind: 'i32'; readonly data: Int32Array }
  | { readonly kind: 'f64'; readonly data: Float64Array }
  /** Arrays of `width` numbers each, row after row. */
  | { readonly kind: 'i32rows'; readonly width: number; readonly data: Int32Array }
  | { readonly kind: 'f64rows'; readonly width: number; readonly data: Float64Array }
  | { readonly kind: 'null' }
  | { readonly kind: 'undefined' }
  | { readonly kind: 'any'; readonly data: unknown[] }
  /**
   * Strings whose every char is below 256, back to back one byte a char, string `i` ending at `ends[i]`: how a
   * served bucket of string keys travels to a peer (see {@link stringColumn}).
   */
  | { readonly kind: 'latin1'; readonly data: Uint8Array; readonly ends: Int32Array }
  /**
   * Strings of which at least one has a char of 256 or above, back to back as their UTF-16 code units (what a JS
   * string is: an astral char is its two surrogates, a lone surrogate stays as it is), string `i` ending at `ends[i]`.
   * Changelogs, names and most real text have a few such chars ("Müller" does not, "–" and CJK do): one of them in a
   * bucket made the whole bucket a plain array, cloned string by string and never shared (see {@link stringColumn}).
   */
  | { readonly kind: 'utf16'; readonly data: Uint16Array; readonly ends: Int32Array };

/** A column of strings as chars (`latin1` or `utf16`). */
export type StringColumn = Extract<Column, { readonly ends: Int32Array }>;

/** Whether `c` holds strings as chars. */
export function isStringColumn(c: Column): c is StringColumn {
  return c.kind === 'latin1' || c.kind === 'utf16';
}

/** One bucket as it crosses to another worker. */
export interface EncodedBucket {
  readonly length: number;
  readonly keys: Column;
  readonly values: Column;
}

/** Longest array encoded as a row of numbers. */
const MAX_ROW = 16;

/**
 * Whether `x` has the shape of an encoded bucket: for values that are either a list or an encoded bucket (a collect
 * whose driver reads columns, see `rdd/result-functions.ts`), never to tell one from an arbitrary user object.
 */
export function isEncodedBucket(x: unknown): x is EncodedBucket {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const e = x as Partial<EncodedBucket>;
  return typeof e.length === 'number' && typeof e.keys?.kind === 'string' && typeof e.values?.kind === 'string';
}

/** Encodes buckets for posting; returns the buffers to transfer with them. */
export function encodeBuckets(buckets: readonly (readonly Pair[])[]): { encoded: EncodedBucket[]; transfer: ArrayBuffer[] } {
  const encoded = buckets.map(encodeBucket);
  return { encoded, transfer: buffersOf(encoded) };
}

/** One bucket as columns (its typed arrays are its own: nothing else refers to them). */
export function encodeBucket(b: readonly Pair[]): EncodedBucket {
  return { length: b.length, keys: encodeColumn(b, 0), values: encodeColumn(b, 1) };
}

/** The typed arrays' buffers of `encoded`, which a transport may move instead of copying. */
export function buffersOf(encoded: readonly EncodedBucket[]): ArrayBuffer[] {
  const transfer: ArrayBuffer[] = [];
  for (const e of encoded) {
    if ('data' in e.keys && !Array.isArray(e.keys.data)) transfer.push(e.keys.data.buffer as ArrayBuffer);
    if (isStringColumn(e.keys)) transfer.push(e.keys.ends.buffer as ArrayBuffer);
    if ('data' in e.values && !Array.isArray(e.values.data)) transfer.push(e.values.data.buffer as ArrayBuffer);
    if (isStringColumn(e.values)) transfer.push(e.values.ends.buffer as ArrayBuffer);
  }
  return transfer;
}

/** Fewest strings worth a {@link stringColumn}: below this, building one costs more than the clone it spares. */
export const LATIN1_FROM = 256;

/**
 * `data` as a column of chars when it holds at least LATIN1_FROM items, all strings (a word count's words): `latin1`
 * when every char is below 256, else `utf16`; otherwise undefined (the column then travels as it is). A reduce task
 * reading a peer's bucket of string keys needs a string only for a key it has not seen (most of the other keys are
 * already in its table), and the structured clone made every one of them: ~377k young strings per high-cardinality
 * word-count reducer, whose deserialization and promotion (the scavenges copy them from the deserializer's handles,
 * one thread) were most of the reduce task's fetch wait. Chars move in two transferred buffers and are read where
 * they lie.
 */
export function stringColumn(data: readonly unknown[]): StringColumn | undefined {
  const n = data.length;
  if (n < LATIN1_FROM) return undefined;
  let chars = 0;
  for (let i = 0; i < n; i++) {
    const s = data[i];
    if (typeof s !== 'string') return undefined;
    chars += s.length;
  }
  return latin1Of(data as readonly string[], chars) ?? utf16Of(data as readonly string[], chars);
}

/** `strings` (of `chars` chars in all) as a `latin1` column; undefined at the first char above 255. */
function latin1Of(strings: readonly string[], chars: number): StringColumn | undefined {
  const n = strings.length;
  const bytes = new Uint8Array(chars);
  const ends = new Int32Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[i]!;
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (c > 255) return undefined;
      bytes[at++] = c;
    }
    ends[i] = at;
  }
  return { kind: 'latin1', data: bytes, ends };
}

/** `strings` (of `chars` chars in all) as a `utf16` column: each char's code unit, surrogates as they are. */
function utf16Of(strings: readonly string[], chars: number): StringColumn {
  const n = strings.length;
  const units = new Uint16Array(chars);
  const ends = new Int32Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[i]!;
    for (let j = 0; j < s.length; j++) units[at++] = s.charCodeAt(j);
    ends[i] = at;
  }
  return { kind: 'utf16', data: units, ends };
}

/**
 * `e` with each `any` column of strings as chars where {@link stringColumn} makes one (for a peer: see there; values
 * too, a `[word, name]` pair's, which would otherwise be cloned string by string).
 */
export function withStringColumns(e: EncodedBucket): EncodedBucket {
  const keys = e.keys.kind === 'any' ? stringColumn(e.keys.data) : undefined;
  const values = e.values.kind === 'any' ? stringColumn(e.values.data) : undefined;
  return keys === undefined && values === undefined ? e : { length: e.length, keys: keys ?? e.keys, values: values ?? e.values };
}

/**
 * The strings of a column of chars, read in place: where string `i` starts (`start(i)`, ending at `ends[i]`) and,
 * only when asked, the string itself (`key(i)`). {@link Latin1Keys} and {@link Utf16Keys} differ in how they decode.
 */
export abstract class StringKeys<D extends Uint8Array | Uint16Array = Uint8Array | Uint16Array> {
  #text: string | undefined;
  constructor(
    readonly data: D,
    readonly ends: Int32Array,
  ) {}

  /** Chars `from .. to` of `data` decoded at once, as one string. */
  protected abstract decode(from: number, to: number): string;

  get length(): number {
    return this.ends.length;
  }

  start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!;
  }

  /** Chars `from .. to` as a string. */
  text(from: number, to: number): string {
    const b = this.data;
    // A short key from its chars at once (a builtin, no call into the runtime; String.fromCharCode keeps a lone
    // surrogate as it is); a longer one cut from one string of the whole column, decoded by Node the first time one
    // is needed.
    switch (to - from) {
      case 0:
        return '';
      case 1:
        return String.fromCharCode(b[from]!);
      case 2:
        return String.fromCharCode(b[from]!, b[from + 1]!);
      case 3:
        return String.fromCharCode(b[from]!, b[from + 1]!, b[from + 2]!);
      case 4:
        return String.fromCharCode(b[from]!, b[from + 1]!, b[from + 2]!, b[from + 3]!);
      case 5:
        return String.fromCharCode(b[from]!, b[from + 1]!, b[from + 2]!, b[from + 3]!, b[from + 4]!);
      case 6:
        return String.fromCharCode(b[from]!, b[from + 1]!, b[from + 2]!, b[from + 3]!, b[from + 4]!, b[from + 5]!);
      case 7:
        return String.fromCharCode(b[from]!, b[from + 1]!, b[from + 2]!, b[from + 3]!, b[from + 4]!, b[from + 5]!, b[from + 6]!);
      case 8:
        return String.fromCharCode(b[from]!, b[from + 1]!, b[from + 2]!, b[from + 3]!, b[from + 4]!, b[from + 5]!, b[from + 6]!, b[from + 7]!);
      default:
        this.#text ??= this.decode(0, b.length);
        return this.#text.substring(from, to);
    }
  }

  key(i: number): string {
    return this.text(this.start(i), this.ends[i]!);
  }

  /**
   * Keys `from .. to` as strings, decoding only their bytes. A reader that takes a column slice by slice (a fetched
   * bucket in 4,096-record slices, a writer sampling one record in 64) must not decode the whole column for each
   * slice: with keys over 8 chars that made a word count of 450k records take a minute.
   */
  keys(from: number, to: number): string[] {
    const out = arrayOfLength<string>(to - from);
    if (from >= to) return out;
    const ends = this.ends;
    const base = this.start(from);
    let window: string | undefined;
    for (let i = from, s = base; i < to; i++) {
      const e = ends[i]!;
      if (e - s <= 8 || this.#text !== undefined) out[i - from] = this.text(s, e);
      else {
        window ??= this.decode(base, ends[to - 1]!);
        out[i - from] = window.substring(s - base, e - base);
      }
      s = e;
    }
    return out;
  }
}

/** The strings of a `latin1` column, one byte a char. */
export class Latin1Keys extends StringKeys<Uint8Array> {
  protected decode(from: number, to: number): string {
    const b = this.data;
    return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
  }
}

/** The strings of a `utf16` column, a code unit a char. */
export class Utf16Keys extends StringKeys<Uint16Array> {
  protected decode(from: number, to: number): string {
    const b = this.data;
    // Node's utf16le decoder copies the code units as they are (a lone surrogate included; TextDecoder would not).
    return Buffer.from(b.buffer, b.byteOffset + 2 * from, 2 * (to - from)).toString('utf16le');
  }
}

/** The strings of a column of chars, read in place. */
export function stringKeysOf(c: StringColumn): Latin1Keys | Utf16Keys {
  return c.kind === 'latin1' ? new Latin1Keys(c.data, c.ends) : new Utf16Keys(c.data, c.ends);
}

/** Key `i` of a key column as a combine's sink receives it (see NumberColumnsSink). */
export function columnKey(keys: Int32Array | readonly unknown[] | StringKeys, i: number): unknown {
  return keys instanceof StringKeys ? keys.key(i) : keys[i];
}

/**
 * `xs` as an encoded bucket when every element is a pair (a plain array of exactly two present items) and one of
 * the two columns has a compact form; otherwise undefined (the structured clone of `xs` is then as good). For
 * results of actions: a task collecting numeric pairs sends two typed arrays instead of a clone per pair.
 */
export function encodePairs(xs: readonly unknown[]): EncodedBucket | undefined {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (!Array.isArray(x) || x.length !== 2 || !(0 in x) || !(1 in x)) return undefined;
  }
  const e = encodeBucket(xs as Pair[]);
  return e.keys.kind === 'any' && e.values.kind === 'any' ? undefined : e;
}

/**
 * One encoded bucket holding the records of `parts` in order. Parts whose columns have the same kind (ints and
 * doubles mixed become doubles, rows of one width likewise) are joined column by column; any other mix is decoded
 * and encoded again as a whole.
 */
export function concatEncoded(parts: readonly EncodedBucket[]): EncodedBucket {
  const nonEmpty = parts.filter((p) => p.length > 0);
  if (nonEmpty.length === 0) return encodeBucket([]);
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const length = nonEmpty.reduce((n, p) => n + p.length, 0);
  const keys = concatColumns(nonEmpty.map((p) => p.keys));
  const values = concatColumns(nonEmpty.map((p) => p.values));
  if (keys === undefined || values === undefined) return encodeBucket(nonEmpty.flatMap(decodeBucket));
  return { length, keys, values };
}

function concatColumns(cols: readonly Column[]): Column | undefined {
  const kinds = new Set(cols.map((c) => c.kind));
  if (cols.some(isStringColumn)) return cols.every(isStringColumn) ? concatStrings(cols as StringColumn[]) : undefined;
  const widths = new Set(cols.map((c) => ('width' in c ? c.width : 0)));
  if (widths.size > 1) return undefined;
  const width = [...widths][0]!;
  const typed = (Kind: typeof Int32Array | typeof Float64Array): Int32Array | Float64Array => {
    const total = cols.reduce((n, c) => n + (c as { data: Int32Array | Float64Array }).data.length, 0);
    const out = new Kind(total);
    let at = 0;
    for (const c of cols) {
      const d = (c as { data: Int32Array | Float64Array }).data;
      out.set(d, at);
      at += d.length;
    }
    return out;
  };
  if (kinds.size === 1) {
    const kind = cols[0]!.kind;
    if (kind === 'null' || kind === 'undefined') return cols[0];
    if (kind === 'any') return { kind, data: concatArrays(cols.map((c) => (c as { data: unknown[] }).data)) };
    if (kind === 'i32' || kind === 'i32rows') return { kind, width, data: typed(Int32Array) } as Column;
    return { kind, width, data: typed(Float64Array) } as Column;
  }
  // Int32 parts among doubles: the doubles' form holds every int32 exactly.
  if ([...kinds].every((k) => k === 'i32' || k === 'f64')) return { kind: 'f64', data: typed(Float64Array) as Float64Array };
  if ([...kinds].every((k) => k === 'i32rows' || k === 'f64rows')) return { kind: 'f64rows', width, data: typed(Float64Array) as Float64Array };
  return undefined;
}

/**
 * Columns of chars one after another: their chars joined (as code units once one of them is `utf16`: a byte is the
 * code unit of its char), each one's ends moved by the chars before it.
 */
function concatStrings(cols: readonly StringColumn[]): StringColumn {
  const chars = cols.reduce((n, c) => n + c.data.length, 0);
  const wide = cols.some((c) => c.kind === 'utf16');
  const data = wide ? new Uint16Array(chars) : new Uint8Array(chars);
  const ends = new Int32Array(cols.reduce((n, c) => n + c.ends.length, 0));
  let at = 0;
  let i = 0;
  for (const c of cols) {
    data.set(c.data, at);
    for (let j = 0; j < c.ends.length; j++) ends[i++] = c.ends[j]! + at;
    at += c.data.length;
  }
  return wide ? { kind: 'utf16', data: data as Uint16Array, ends } : { kind: 'latin1', data: data as Uint8Array, ends };
}

/** A copy of a stored encoded bucket whose typed arrays may be transferred without detaching the stored ones. */
export function copyEncoded(e: EncodedBucket): EncodedBucket {
  const copy = (c: Column): Column =>
    isStringColumn(c)
      ? ({ kind: c.kind, data: c.data.slice(), ends: c.ends.slice() } as StringColumn)
      : 'data' in c && !Array.isArray(c.data)
        ? ({ ...c, data: c.data.slice() } as Column)
        : c;
  return { length: e.length, keys: copy(e.keys), values: copy(e.values) };
}

/**
 * Records `from .. to` of an encoded bucket as a bucket of their own (typed arrays copied, so they may be
 * transferred; an `any` column's items shared): a large stored bucket is served a bounded part at a time. A
 * `view` shares the stored typed arrays instead, for a reader of this worker that only reads them.
 */
export function sliceEncoded(e: EncodedBucket, from: number, to: number, view = false): EncodedBucket {
  if (from === 0 && to === e.length) return view ? e : copyEncoded(e);
  const slice = (c: Column): Column => {
    if (!('data' in c)) return c;
    if (isStringColumn(c)) {
      const at = from === 0 ? 0 : c.ends[from - 1]!;
      const ends = c.ends.slice(from, to);
      for (let i = 0; i < ends.length; i++) ends[i]! -= at;
      return { kind: c.kind, data: c.data.slice(at, to === 0 ? 0 : c.ends[to - 1]!), ends } as StringColumn;
    }
    // By kind: concatenated single-number columns carry a width of 0.
    const w = c.kind === 'i32rows' || c.kind === 'f64rows' ? c.width : 1;
    const data = view && !Array.isArray(c.data) ? c.data.subarray(from * w, to * w) : c.data.slice(from * w, to * w);
    return { ...c, data } as Column;
  };
  return { length: to - from, keys: slice(e.keys), values: slice(e.values) };
}

/** Estimated heap and buffer bytes an encoded bucket holds (its `any` columns estimated as the cache does). */
export function encodedBytes(e: EncodedBucket, estimate: (xs: unknown[]) => number): number {
  const of = (c: Column): number =>
    isStringColumn(c)
      ? // As the strings they stand for (what the reduce holds of them at most), the way estimateSize counts one.
        c.ends.length * 24 + 2 * c.data.length
      : 'data' in c
        ? Array.isArray(c.data)
          ? estimate(c.data)
          : 64 + c.data.byteLength
        : 0;
  return 64 + of(e.keys) + of(e.values);
}

function encodeColumn(b: readonly Pair[], side: 0 | 1): Column {
  const n = b.length;
  let ints = true;
  let numbers = true;
  let nulls = true;
  let undefineds = true;
  // One pass to classify, ending as soon as no compact form is left (at once for strings and objects).
  for (let i = 0; i < n && (numbers || nulls || undefineds); i++) {
    const x = b[i]![side];
    if (typeof x !== 'number') numbers = ints = false;
    else if (ints && ((x | 0) !== x || (x === 0 && 1 / x < 0))) ints = false;
    if (x !== null) nulls = false;
    if (x !== undefined) undefineds = false;
  }
  if (n > 0 && ints) {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) data[i] = b[i]![side] as number;
    return { kind: 'i32', data };
  }
  if (n > 0 && numbers) {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = b[i]![side] as number;
    return { kind: 'f64', data };
  }
  if (nulls) return { kind: 'null' };
  if (undefineds) return { kind: 'undefined' };
  const rows = n > 0 ? encodeRows(b, side) : undefined;
  if (rows !== undefined) return rows;
  const data = arrayOfLength<unknown>(n);
  for (let i = 0; i < n; i++) data[i] = b[i]![side];
  return { kind: 'any', data };
}

/** Arrays of one small length holding only numbers, as one typed array; undefined for any other column. */
function encodeRows(b: readonly Pair[], side: 0 | 1): Column | undefined {
  const n = b.length;
  const first = b[0]![side];
  if (!Array.isArray(first) || first.length === 0 || first.length > MAX_ROW) return undefined;
  const width = first.length;
  let ints = true;
  for (let i = 0; i < n; i++) {
    const row = b[i]![side];
    if (!Array.isArray(row) || row.length !== width) return undefined;
    for (let j = 0; j < width; j++) {
      // `in` refuses holes, which a rebuilt array would fill with undefined.
      const x: unknown = row[j];
      if (typeof x !== 'number' || !(j in row)) return undefined;
      if (ints && ((x | 0) !== x || (x === 0 && 1 / x < 0))) ints = false;
    }
  }
  const data = ints ? new Int32Array(n * width) : new Float64Array(n * width);
  for (let i = 0, at = 0; i < n; i++) {
    const row = b[i]![side] as number[];
    for (let j = 0; j < width; j++) data[at++] = row[j]!;
  }
  return ints ? { kind: 'i32rows', width, data: data as Int32Array } : { kind: 'f64rows', width, data: data as Float64Array };
}

/**
 * The `width` numbers of `data` from `at` as a new packed array of exactly that capacity. Pushing onto `[]` gives
 * the same packed array but reserves 17 slots for the first push (152 bytes for a 2-number edge instead of 32): on
 * a shuffle of a million edges that was most of what the reduce side allocated, and rows held in a map task's
 * buffers until they are encoded live long enough to be promoted, so the excess reached the old generation too.
 */
export function rowAt(data: Int32Array | Float64Array, at: number, width: number): number[] {
  switch (width) {
    case 1:
      return [data[at]!];
    case 2:
      return [data[at]!, data[at + 1]!];
    case 3:
      return [data[at]!, data[at + 1]!, data[at + 2]!];
    case 4:
      return [data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!];
    default: {
      // Wider rows are rare; pushed, so that the array is packed (as a cloned one is) rather than holey.
      const row: number[] = [];
      for (let j = 0; j < width; j++) row.push(data[at + j]!);
      return row;
    }
  }
}

/** The arrays of records `from .. to` of a row column. */
function decodeRows(c: { readonly width: number; readonly data: Int32Array | Float64Array }, from: number, to: number): unknown[] {
  const out = arrayOfLength<unknown>(to - from);
  const { width, data } = c;
  for (let i = 0, at = from * width; i < to - from; i++, at += width) out[i] = rowAt(data, at, width);
  return out;
}

/** The strings `from .. to` of a column of chars. */
function decodeStrings(c: StringColumn, from: number, to: number): string[] {
  return stringKeysOf(c).keys(from, to);
}

/**
 * Calls `each` with the key and the value of every record of `e` in order: the values {@link decodeBucket}'s pairs
 * would hold (rows as new arrays), without the pairs.
 */
export function eachPair(e: EncodedBucket, each: (key: unknown, value: unknown) => void): void {
  const at = (c: Column): ((i: number) => unknown) => {
    switch (c.kind) {
      case 'null':
        return () => null;
      case 'undefined':
        return () => undefined;
      case 'i32rows':
      case 'f64rows': {
        const { data, width } = c;
        return (i) => rowAt(data, i * width, width);
      }
      case 'latin1':
      case 'utf16': {
        const keys = stringKeysOf(c);
        return (i) => keys.key(i);
      }
      default: {
        const data = c.data;
        return (i) => data[i];
      }
    }
  };
  const key = at(e.keys);
  const value = at(e.values);
  for (let i = 0; i < e.length; i++) each(key(i), value(i));
}

/**
 * `estimateSize([pair]) - 24` for record `i` of `e`, the pair {@link decodeRange} would make (what a map task's
 * shuffle-write metric samples, one record in 64, as it samples the pairs it writes), read from the columns: a
 * sample of a string key costs no string, no pair and no array, and the map task's close runs none of the decoder.
 * Equal to the decoded pair's estimate for every column kind (specified in test/shuffle/bucket-codec-sizes.test.ts).
 *
 * @example
 * ```ts
 * sampledPairBytes({ length: 1, keys: latin1Keys(['ab']), values: { kind: 'f64', data: Float64Array.of(1) } }, 0); // 56
 * ```
 */
export function sampledPairBytes(e: EncodedBucket, i: number): number {
  // sizeOf's estimate of a two-element array: its header and slots, then the mean of its items times two.
  const inner = itemBytes(e.keys, i) + itemBytes(e.values, i);
  return Math.ceil(16 + 8 * 2 + (inner / 2) * 2);
}

/** sizeOf(item `i` of `c`, 1): the item one level down in its pair, as decodeRange would give it. */
function itemBytes(c: Column, i: number): number {
  switch (c.kind) {
    case 'latin1':
    case 'utf16':
      // One byte (or code unit) a char: the string's length is its slot's.
      return stringSize(c.ends[i]! - (i === 0 ? 0 : c.ends[i - 1]!));
    case 'i32':
    case 'f64':
      return sizeOf(0, 1);
    case 'null':
      return sizeOf(null, 1);
    case 'undefined':
      return sizeOf(undefined, 1);
    case 'i32rows':
    case 'f64rows':
      return sizeOf(rowAt(c.data, i * c.width, c.width), 1);
    default:
      return sizeOf(c.data[i], 1);
  }
}

/** The pairs of a bucket that {@link encodeBuckets} encoded (after its trip through postMessage). */
export function decodeBucket(e: EncodedBucket): Pair[] {
  return decodeRange(e, 0, e.length);
}

/** Records `from .. to` of an encoded bucket, as pairs: a reader may decode a large bucket a slice at a time. */
export function decodeRange(e: EncodedBucket, from: number, to: number): Pair[] {
  const n = to - from;
  const out = arrayOfLength<Pair>(n);
  const k = e.keys;
  const v = e.values;
  // Rows are decoded for the slice only (indexed from 0); other columns are read where the slice starts.
  const kRows = k.kind === 'i32rows' || k.kind === 'f64rows';
  const vRows = v.kind === 'i32rows' || v.kind === 'f64rows';
  // A column of chars is decoded for the slice only too (its strings cut from the chars).
  const kd = kRows ? decodeRows(k, from, to) : isStringColumn(k) ? decodeStrings(k, from, to) : 'data' in k ? k.data : undefined;
  const vd = vRows ? decodeRows(v, from, to) : isStringColumn(v) ? decodeStrings(v, from, to) : 'data' in v ? v.data : undefined;
  const ko = kRows || isStringColumn(k) ? 0 : from;
  const vo = vRows || isStringColumn(v) ? 0 : from;
  const kc = k.kind === 'null' ? null : undefined;
  const vc = v.kind === 'null' ? null : undefined;
  for (let i = 0; i < n; i++) {
    // Filled in rather than written as [k, v]: a literal of two numbers would get unboxed double elements, which
    // every later read re-boxes and which slow down the loops that consume the values (a join fanning 200M
    // pairs out of such values ran 2.4x slower). Stored like this, a pair holds Smis and heap numbers, as the
    // structured clone's pairs do; ints come from an Int32Array so that they are Smis in every tier.
    const p: Pair = [null, null];
    p[0] = kd === undefined ? kc : kd[ko + i];
    p[1] = vd === undefined ? vc : vd[vo + i];
    out[i] = p;
  }
  return out;
}

/**
 * Rebuilds, in place, the arrays of numbers in the `any` columns of buckets that came through a structured clone
 * (a peer's, over a MessagePort or TCP) as the packed arrays of unboxed numbers a program makes: a column's
 * values and keys themselves, and the arrays of numbers they hold one level down (a combiner such as
 * `[vector, count, cost]`, or `{ sum, n }`). The clone delivers every array as an array of boxed numbers; a
 * user's merge then reads this worker's own arrays (unboxed) and the peer's (boxed) at one site, and V8's
 * optimized code for such a read converts each unboxed array it meets to boxed numbers (k-means' merge of
 * cached points ran 3x slower so). Arrays shared between records stay shared; an array with a hole, an item
 * that is not a number, a named property or another prototype is left as it is.
 *
 * @example
 * ```ts
 * const buckets = await peer.fetchBuckets(shuffleId, mapIds, reduceId); // cloned
 * unboxNumberArrays(buckets); // [[0, [[0.5, 1.5], 2, 0.25]]] now holds [0.5, 1.5] as a packed double array
 * ```
 */
export function unboxNumberArrays(buckets: readonly EncodedBucket[]): void {
  const copies = new Map<unknown[], number[]>();
  for (const b of buckets) {
    if (b.keys.kind === 'any') unboxColumn(b.keys.data, copies);
    if (b.values.kind === 'any') unboxColumn(b.values.data, copies);
  }
}

/**
 * `x` with its arrays of numbers (itself, or one level down) as packed unboxed copies, as {@link unboxNumberArrays}
 * does for a column: for a value just cloned by `structuredClone`.
 */
export function unboxValue(x: unknown): unknown {
  const one = [x];
  unboxColumn(one, new Map());
  return one[0];
}

function unboxColumn(data: unknown[], copies: Map<unknown[], number[]>): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (typeof x !== 'object' || x === null) continue;
    if (Array.isArray(x)) {
      const packed = packedNumbers(x, copies);
      if (packed !== undefined) {
        data[i] = packed;
        continue;
      }
      for (let j = 0; j < x.length; j++) {
        const y: unknown = x[j];
        if (Array.isArray(y)) {
          const p = packedNumbers(y, copies);
          if (p !== undefined) x[j] = p;
        }
      }
    } else if (Object.getPrototypeOf(x) === Object.prototype) {
      const o = x as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const y = o[k];
        if (Array.isArray(y)) {
          const p = packedNumbers(y, copies);
          if (p !== undefined) o[k] = p;
        }
      }
    }
  }
}
