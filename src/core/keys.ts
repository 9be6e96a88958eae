import { describeValue, InvalidDataError } from './errors.js';
/**
 * Structural key semantics for pair RDDs: hashing, identity, equality and the default ordering.
 *
 * Every shuffled record passes through these functions, so string and number keys take short paths that
 * allocate nothing; arrays, objects and dates take a slower structural path.
 *
 * Supported keys: `undefined`, `null`, booleans, numbers, bigints, strings, `Date`s, arrays and objects
 * built from them (acyclic). Objects compare by their own enumerable string-keyed properties regardless of
 * property order; a property holding `undefined` still counts as present, and class instances are treated
 * like plain objects (that is what they become after crossing to a worker). A `Date` is its own kind of
 * key, equal to another `Date` with the same time value (all invalid dates are equal). Functions, symbols,
 * and objects whose contents are not their own properties (Map, Set, RegExp, typed arrays, boxed
 * primitives, ...) throw a `TypeError`.
 *
 * Default order, across kinds: undefined < null < boolean < number < bigint < string < Date < array <
 * object. Numbers compare numerically with -0 equal to 0 and NaN equal to itself and after +Infinity.
 */

/** A value usable as a `Map` key that stands for a structural key; see {@link keyId}. */
export type KeyId = string | number | boolean | bigint | null | undefined;

// Composite ids and escaped strings both begin with this character; a composite id continues with one of
// `[`, `{` or `@`, an escaped string with a second ESC, so neither can equal an ordinary string key.
const ESC = '\u0001';
const ESC_CODE = 1;

const RANK_UNDEFINED = 0;
const RANK_NULL = 1;
const RANK_BOOLEAN = 2;
const RANK_NUMBER = 3;
const RANK_BIGINT = 4;
const RANK_STRING = 5;
const RANK_DATE = 6;
const RANK_ARRAY = 7;
const RANK_OBJECT = 8;

// Murmur3 x86_32 constants. Changing any of them (or the seeds) moves every key to a different partition,
// and workers built from different versions would then disagree: test/core pins sample outputs.
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED_FLOAT = 0x2f0b3c1d;
const SEED_BIGINT = 0x5a17e2c3;
const SEED_DATE = 0x6c8e9cf5;
const SEED_ARRAY = 0x3c6ef372;
const SEED_OBJECT = 0x7f4a7c15;
const HASH_UNDEFINED = 0x1b873593;
const HASH_NULL = 0x0b4e0ef3 | 0;
const HASH_FALSE = 0x4cf5ad43;
const HASH_TRUE = 0x9e3779b9 | 0;
const HASH_NAN = 0x7ff80000;

// One shared scratch view reads a double's bits without allocating. Words are picked by platform byte
// order so that a float hashes the same on little- and big-endian hosts.
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO_WORD = LITTLE_ENDIAN ? 0 : 1;
const HI_WORD = LITTLE_ENDIAN ? 1 : 0;

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

// Exactly murmur3 x86_32 of the string's UTF-16LE bytes, so the value can be checked against any
// independent murmur3 implementation.
function hashString(s: string, seed: number): number {
  const n = s.length;
  let h = seed;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixBlock(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  if (i < n) {
    let k = Math.imul(s.charCodeAt(i), C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return fmix32(h ^ (n << 1));
}

/**
 * `hashKey` of the string of `n` chars (at most 8, each below 256) packed a byte a char into `lo` (chars 0-3) and
 * `hi` (chars 4-7), worked out from the ints: the string table hands its packed keys' hashes to the hash
 * partitioner without reading their strings (one per group, freshly made, 194k per map task on the Zipf text).
 *
 * @example
 * ```ts
 * hashPackedLatin1(0x63 << 16 | 0x62 << 8 | 0x61, 0, 3) === hashKey('abc'); // true
 * ```
 */
export function hashPackedLatin1(lo: number, hi: number, n: number): number {
  let h = 0;
  // Block j is chars 2j and 2j+1 as UTF-16LE, as hashString reads them: bytes 0-1 or 2-3 of lo (j < 2) or hi.
  for (let j = 0; j < n >> 1; j++) {
    const w = j < 2 ? lo : hi;
    const s = (j & 1) << 4;
    h = mixBlock(h, ((w >>> s) & 255) | (((w >>> (s + 8)) & 255) << 16));
  }
  if ((n & 1) !== 0) {
    const i = n - 1;
    let k = Math.imul(((i < 4 ? lo : hi) >>> ((i & 3) << 3)) & 255, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return fmix32(h ^ (n << 1));
}

function hashNumber(x: number): number {
  // fmix32 is a bijection, so distinct int32 keys never collide; `x | 0` also folds -0 into 0.
  if ((x | 0) === x) return fmix32(x | 0);
  if (x !== x) return HASH_NAN;
  F64[0] = x;
  return fmix32(mixBlock(mixBlock(SEED_FLOAT, U32[LO_WORD]!), U32[HI_WORD]!) ^ 8);
}

function unsupported(key: unknown): InvalidDataError {
  const what = typeof key === 'object' ? Object.prototype.toString.call(key) : typeof key;
  return new InvalidDataError(`kindling: ${what} cannot be a key; use primitives, Dates, arrays or plain objects of them`);
}

// Built-ins whose meaning lives outside their own enumerable properties: treating them as plain objects
// would silently make every Map equal to every other Map.
const OPAQUE: ReadonlyArray<abstract new (...args: never[]) => unknown> = [
  Map,
  Set,
  WeakMap,
  WeakSet,
  RegExp,
  ArrayBuffer,
  Promise,
  Number,
  String,
  Boolean,
  Error,
];

function rankOf(key: unknown): number {
  switch (typeof key) {
    case 'string':
      return RANK_STRING;
    case 'number':
      return RANK_NUMBER;
    case 'undefined':
      return RANK_UNDEFINED;
    case 'boolean':
      return RANK_BOOLEAN;
    case 'bigint':
      return RANK_BIGINT;
    case 'object': {
      if (key === null) return RANK_NULL;
      if (Array.isArray(key)) return RANK_ARRAY;
      const proto: unknown = Object.getPrototypeOf(key);
      if (proto === Object.prototype || proto === null) return RANK_OBJECT;
      if (key instanceof Date) return RANK_DATE;
      if (ArrayBuffer.isView(key) || OPAQUE.some((c) => key instanceof c)) throw unsupported(key);
      return RANK_OBJECT;
    }
    default:
      throw unsupported(key);
  }
}

/**
 * A deterministic, well-mixed 32-bit signed hash of a key, equal for structurally equal keys.
 *
 * Stable across threads, processes and releases (partition placement depends on it): strings are murmur3
 * over their UTF-16LE code units, int32 numbers go through the murmur3 finalizer, other numbers hash
 * their IEEE-754 bits (NaN has one hash, -0 hashes as 0), objects hash independently of property order.
 *
 * @example
 * ```ts
 * hashKey('spark') === hashKey('spark');     // true
 * hashKey([1, { a: 2, b: 3 }]) === hashKey([1, { b: 3, a: 2 }]); // true
 * hashKey(-0) === hashKey(0);                // true
 * ```
 */
export function hashKey(key: unknown): number {
  if (typeof key === 'string') return hashString(key, 0);
  if (typeof key === 'number') return hashNumber(key);
  try {
    return hashOther(key);
  } catch (e) {
    throw selfReferringKey(e, key);
  }
}

/** hashKey inside a key: the check for a key that refers to itself is made once, at the outermost call. */
function hashPart(key: unknown): number {
  if (typeof key === 'string') return hashString(key, 0);
  if (typeof key === 'number') return hashNumber(key);
  return hashOther(key);
}

/**
 * The error for a key whose walk overflowed the stack: one that refers to itself (`o.self = o`), which no structural
 * hash, id or order can end on, or one nested thousands of levels deep. It failed the task with "Maximum call stack
 * size exceeded", which named neither the key nor the cause. Only the outermost call converts, so the hot recursion
 * pays nothing for it.
 */
function selfReferringKey(e: unknown, key: unknown): unknown {
  if (!(e instanceof RangeError) || !/call stack/i.test(e.message)) return e;
  return new InvalidDataError(
    `kindling: a key that refers to itself (or is nested thousands of levels deep) cannot be a key: ${describeValue(key)}; ` +
      'use primitives, Dates, arrays or plain objects of them',
  );
}

function hashOther(key: unknown): number {
  switch (rankOf(key)) {
    case RANK_UNDEFINED:
      return HASH_UNDEFINED;
    case RANK_NULL:
      return HASH_NULL;
    case RANK_BOOLEAN:
      return key ? HASH_TRUE : HASH_FALSE;
    case RANK_BIGINT:
      return hashString((key as bigint).toString(16), SEED_BIGINT);
    case RANK_DATE:
      return fmix32(mixBlock(SEED_DATE, hashNumber((key as Date).getTime())));
    case RANK_ARRAY: {
      const a = key as readonly unknown[];
      let h = SEED_ARRAY;
      for (let i = 0; i < a.length; i++) h = mixBlock(h, hashPart(a[i]));
      return fmix32(h ^ a.length);
    }
    default: {
      // Entries are summed so that property order cannot matter; each entry is mixed first so that
      // swapping values between properties changes the sum.
      const o = key as Record<string, unknown>;
      let sum = 0;
      let count = 0;
      for (const k of Object.keys(o)) {
        sum = (sum + fmix32(mixBlock(hashString(k, SEED_OBJECT), hashPart(o[k])))) | 0;
        count++;
      }
      return fmix32(mixBlock(SEED_OBJECT, sum) ^ count);
    }
  }
}

/**
 * A `Map`-key stand-in for a key: `keyId(a) === keyId(b)` (SameValueZero) exactly when `a` and `b` are
 * structurally equal.
 *
 * Primitives come back as themselves (no allocation), except strings starting with U+0001, which get one
 * more U+0001 in front. Dates, arrays and objects become a canonical string starting with U+0001 that no
 * string key can produce. Ids are meant for in-process maps, not for storage.
 *
 * @example
 * ```ts
 * keyId('a');                                  // 'a'
 * keyId(7);                                    // 7
 * keyId({ x: 1, y: [2] }) === keyId({ y: [2], x: 1 }); // true
 * ```
 */
export function keyId(key: unknown): KeyId {
  if (typeof key === 'string') return key.charCodeAt(0) === ESC_CODE ? ESC + key : key;
  if (typeof key === 'number') return key;
  try {
    if (Array.isArray(key)) return arrayId(key);
    const rank = rankOf(key);
    if (rank < RANK_DATE) return key as KeyId;
    return ESC + encode(key);
  } catch (e) {
    throw selfReferringKey(e, key);
  }
}

const CODE_OPEN_PAREN = 0x28;
const CODE_I = 0x69;
const CODE_S = 0x73;

// Arrays of int32s and strings (`[src, dst]`, `[word, n]`) are the usual composite keys, and encode()
// spends most of its time turning numbers into text. They get a denser id instead: ESC `(` then, per element,
// `i` and the int's two 16-bit halves, or `s`, the length's two halves and the string. Each element's text
// says where it ends, so these ids are injective; `(` keeps them apart from encode()'s ids (ESC `[`, `{`
// or `@`), which every other array gets. Whether an array takes this form depends only on its structure
// (-0 is an int32 here and encodes as 0), so equal keys always get the same id.
function arrayId(a: readonly unknown[]): string {
  if (a.length === 2) {
    // Pairs of ints, the commonest case, in one allocation.
    const x = a[0];
    const y = a[1];
    if (typeof x === 'number' && typeof y === 'number' && (x | 0) === x && (y | 0) === y) {
      return String.fromCharCode(ESC_CODE, CODE_OPEN_PAREN, CODE_I, x & 0xffff, x >>> 16, CODE_I, y & 0xffff, y >>> 16);
    }
  }
  let out = ESC + '(';
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x === 'number') {
      if ((x | 0) !== x) return ESC + encode(a);
      out += String.fromCharCode(CODE_I, x & 0xffff, x >>> 16);
    } else if (typeof x === 'string') {
      out += String.fromCharCode(CODE_S, x.length & 0xffff, x.length >>> 16) + x;
    } else {
      return ESC + encode(a);
    }
  }
  return out;
}

// A prefix-free encoding: every value's text ends where its grammar says, so concatenations stay
// unambiguous. Number text never contains `,`, `]` or `}`; strings carry their length instead of being
// escaped, which is both injective and several times cheaper than JSON quoting.
function encode(v: unknown): string {
  switch (rankOf(v)) {
    case RANK_UNDEFINED:
      return 'u';
    case RANK_NULL:
      return 'n';
    case RANK_BOOLEAN:
      return v ? 't' : 'f';
    case RANK_NUMBER:
      return '#' + String(v); // String(-0) is '0' and String(NaN) is 'NaN', as the semantics need
    case RANK_BIGINT:
      return 'b' + String(v);
    case RANK_STRING:
      return encodeString(v as string);
    case RANK_DATE:
      return '@' + String((v as Date).getTime());
    case RANK_ARRAY: {
      const a = v as readonly unknown[];
      let out = '[';
      for (let i = 0; i < a.length; i++) out += (i === 0 ? '' : ',') + encode(a[i]);
      return out + ']';
    }
    default: {
      const o = v as Record<string, unknown>;
      const names = Object.keys(o).sort();
      let out = '{';
      for (let i = 0; i < names.length; i++) {
        const k = names[i]!;
        out += (i === 0 ? '' : ',') + encodeString(k) + encode(o[k]);
      }
      return out + '}';
    }
  }
}

function encodeString(s: string): string {
  return '"' + String(s.length) + ':' + s;
}

/**
 * Structural key equality: primitives by value (NaN equals NaN, -0 equals 0), arrays element-wise,
 * objects by their own properties in any order, Dates by time value.
 *
 * @example
 * ```ts
 * keysEqual([1, 'a'], [1, 'a']);         // true
 * keysEqual({ a: 1, b: 2 }, { b: 2, a: 1 }); // true
 * keysEqual(1, '1');                     // false
 * ```
 */
export function keysEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const t = typeof a;
  if (t !== typeof b) return false;
  if (t === 'number') return a !== a && b !== b;
  if (t !== 'object' || a === null || b === null) return false;
  const rank = rankOf(a);
  if (rank !== rankOf(b)) return false;
  if (rank === RANK_DATE) return compareNumbers((a as Date).getTime(), (b as Date).getTime()) === 0;
  if (rank === RANK_ARRAY) {
    const x = a as readonly unknown[];
    const y = b as readonly unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!keysEqual(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const names = Object.keys(x);
  if (names.length !== Object.keys(y).length) return false;
  for (const k of names) if (!Object.hasOwn(y, k) || !keysEqual(x[k], y[k])) return false;
  return true;
}

function compareNumbers(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  // At least one side is NaN, which sorts after every number and equals itself.
  const aNaN = a !== a;
  return aNaN === (b !== b) ? 0 : aNaN ? 1 : -1;
}

/**
 * The default key ordering (a total order consistent with {@link keysEqual}); returns -1, 0 or 1.
 *
 * Numbers compare numerically (NaN last), strings by UTF-16 code unit, arrays element by element with a
 * proper prefix first, objects by their entries in code-unit order of property name. Keys of different
 * kinds order by kind: undefined < null < boolean < number < bigint < string < Date < array < object.
 * (Note that `Array.prototype.sort` moves `undefined` elements to the end without calling the comparator;
 * sorting `[key, value]` records is unaffected.)
 *
 * @example
 * ```ts
 * [10, 9, NaN, -1].sort(compareKeys);       // [-1, 9, 10, NaN]
 * compareKeys(['a', 2], ['a', 10]);         // -1
 * [{}, 'x', 3, null].sort(compareKeys);     // [null, 3, 'x', {}]
 * ```
 */
export function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return compareNumbers(a, b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  try {
    return compareOther(a, b);
  } catch (e) {
    // As for hashing (selfReferringKey): two keys that refer to themselves compare forever.
    throw selfReferringKey(e, isSelfReferring(a) ? a : b);
  }
}

/** compareKeys inside a key: the check for a key that refers to itself is made once, at the outermost call. */
function comparePart(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return compareNumbers(a, b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return compareOther(a, b);
}

/** Whether a value holds itself somewhere inside (arrays and objects walked; for an error message only). */
function isSelfReferring(v: unknown, seen: Set<unknown> = new Set()): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (seen.has(v)) return true;
  seen.add(v);
  for (const x of Object.values(v)) if (isSelfReferring(x, seen)) return true;
  seen.delete(v);
  return false;
}

function compareOther(a: unknown, b: unknown): number {
  const rank = rankOf(a);
  const rankB = rankOf(b);
  if (rank !== rankB) return rank < rankB ? -1 : 1;
  switch (rank) {
    case RANK_UNDEFINED:
    case RANK_NULL:
      return 0;
    case RANK_BOOLEAN:
      return a === b ? 0 : a ? 1 : -1;
    case RANK_BIGINT:
      return (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0;
    case RANK_DATE:
      return compareNumbers((a as Date).getTime(), (b as Date).getTime());
    case RANK_ARRAY: {
      const x = a as readonly unknown[];
      const y = b as readonly unknown[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = comparePart(x[i], y[i]);
        if (c !== 0) return c;
      }
      return compareNumbers(x.length, y.length);
    }
    default: {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const xs = Object.keys(x).sort();
      const ys = Object.keys(y).sort();
      const n = Math.min(xs.length, ys.length);
      for (let i = 0; i < n; i++) {
        const kx = xs[i]!;
        const ky = ys[i]!;
        if (kx !== ky) return kx < ky ? -1 : 1;
        const c = comparePart(x[kx], y[ky]);
        if (c !== 0) return c;
      }
      return compareNumbers(xs.length, ys.length);
    }
  }
}

/**
 * `x mod n` in `[0, n)` for any sign of `x` (never -0), like Spark's `Utils.nonNegativeMod`; for
 * integers `x` and integers `n` in `[1, 2^31)`.
 *
 * @example
 * ```ts
 * nonNegativeMod(-7, 4); // 1
 * nonNegativeMod(7, 4);  // 3
 * ```
 */
export function nonNegativeMod(x: number, n: number): number {
  // Truncating to int32 lets V8 use an integer remainder instead of guarding for a -0 result, which
  // otherwise makes this several times slower than the hash feeding it.
  const r = (x % n) | 0;
  return r < 0 ? r + n : r;
}
