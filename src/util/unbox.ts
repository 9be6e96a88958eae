/**
 * Arrays of numbers rebuilt as the packed arrays of unboxed doubles a program makes. A structured clone (a
 * `postMessage`, `v8.deserialize`) delivers every array as an array of boxed numbers: each item a pointer to a heap
 * number. Code reading such an array pays a load more per item, and V8's optimized code for a read that has seen
 * both kinds converts each unboxed array it meets to boxed numbers (docs/benchmarks.md, sessions 5, 6 and 20).
 */

/**
 * A packed copy of `x` when it is a plain array of numbers only (the same copy for the same array, through
 * `copies`), else undefined. An array with a hole, an item that is not a number, a named property or another
 * prototype is refused.
 *
 * @example
 * ```ts
 * const copies = new Map<unknown[], number[]>();
 * packedNumbers(structuredClone([0.5, 1.5]), copies); // [0.5, 1.5], unboxed
 * packedNumbers([1, 'a'], copies); // undefined
 * ```
 */
export function packedNumbers(x: unknown[], copies: Copies): number[] | undefined {
  const n = x.length;
  if (n === 0 || Object.getPrototypeOf(x) !== Array.prototype) return undefined;
  const seen = copies.get(x);
  if (seen !== undefined) return seen;
  // A hole reads as undefined and so refuses the array.
  for (let i = 0; i < n; i++) if (typeof x[i] !== 'number') return undefined;
  if (Object.keys(x).length !== n) return undefined;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(x[i] as number);
  copies.set(x, out);
  return out;
}

/** Copies made of delivered arrays, by the array (a `Map` for one value, a `WeakMap` shared by many). */
export interface Copies {
  get(x: unknown[]): number[] | undefined;
  set(x: unknown[], copy: number[]): unknown;
}

/** How deep {@link unboxDeep} looks into arrays and plain objects: captured models are a few levels deep. */
const DEPTH = 6;

/**
 * `x` with every plain array of numbers inside it, down to {@link DEPTH} levels of arrays and plain objects, replaced
 * by a packed unboxed copy; the containers are changed in place, so `x` must be the caller's own (a value just
 * cloned). Arrays shared within `x` stay shared (one copy each, and one copy across calls given the same `copies`);
 * other objects (Maps, Sets, class instances, typed arrays) are left as they are, and so is what they hold, at any
 * depth: an array they hold is not replaced even where a plain path reaches it too, since the holder would keep the
 * original and a program writing through one path and reading through the other would see two arrays.
 *
 * @example
 * ```ts
 * const centers = unboxDeep(structuredClone([[0.5, 1.5], [2.5, 3.5]])) as number[][]; // each center unboxed
 * ```
 */
export function unboxDeep(x: unknown, copies: Copies = new Map(), held?: ReadonlySet<object>): unknown {
  if (typeof x !== 'object' || x === null) return x;
  const one = [x];
  unboxIn(one, 0, copies, new Set(), held ?? heldArrays(x));
  return one[0];
}

/**
 * {@link unboxDeep} of several values as one: an array one value shares with another, or that one holds in a Map,
 * stays one array across them (a function's captured variables arrive in one message, sharing what they shared on
 * the driver). Replaces the items of `values` in place and returns it.
 *
 * @example
 * ```ts
 * const [centers, lookup] = unboxEach([cloned.centers, cloned.lookup], new Map());
 * ```
 */
export function unboxEach(values: unknown[], copies: Copies = new Map()): unknown[] {
  unboxIn(values, 0, copies, new Set(), heldArrays(values));
  return values;
}

/**
 * The arrays of `x` reachable through a Map, a Set or an object that is neither an array nor plain, at any depth
 * (everything under such a holder is held too). A walk with its own stack: a captured value may be a long chain.
 * Empty for a value of arrays, plain objects and primitives only, and then for every structured clone of it: a
 * caller unboxing many clones of one value (aggregateByKey's zero, per key) asks once and passes the answer on.
 *
 * @example
 * ```ts
 * heldArrays({ xs: [1.5] }).size; // 0
 * heldArrays({ m: new Map([['k', [1.5]]]) }).size; // 1: the array the Map holds
 * ```
 */
export function heldArrays(x: object): Set<object> {
  const held = new Set<object>();
  const seenPlain = new Set<object>();
  const stack: Array<[object, boolean]> = [[x, false]];
  const push = (y: unknown, isHeld: boolean): void => {
    if (typeof y !== 'object' || y === null || held.has(y) || (!isHeld && seenPlain.has(y))) return;
    stack.push([y, isHeld]);
  };
  while (stack.length > 0) {
    const [y, isHeld] = stack.pop()!;
    if (isHeld ? held.has(y) : seenPlain.has(y) || held.has(y)) continue;
    if (isHeld) held.add(y);
    else seenPlain.add(y);
    if (Array.isArray(y)) {
      for (let i = 0; i < y.length; i++) push(y[i], isHeld);
    } else if (y instanceof Map) {
      for (const [k, v] of y) {
        push(k, true);
        push(v, true);
      }
    } else if (y instanceof Set) {
      for (const v of y) push(v, true);
    } else if (!ArrayBuffer.isView(y) && !(y instanceof ArrayBuffer) && !(y instanceof SharedArrayBuffer)) {
      const plain = Object.getPrototypeOf(y) === Object.prototype;
      for (const k of Object.keys(y)) push((y as Record<string, unknown>)[k], isHeld || !plain);
    }
  }
  return held;
}

/** Replaces, in `holder` (an array or plain object), the arrays of numbers at or below its own properties. */
function unboxIn(holder: unknown[] | Record<string, unknown>, depth: number, copies: Copies, seen: Set<object>, held: ReadonlySet<object>): void {
  const keys = Array.isArray(holder) ? undefined : Object.keys(holder);
  const n = keys === undefined ? (holder as unknown[]).length : keys.length;
  for (let i = 0; i < n; i++) {
    const key = keys === undefined ? i : keys[i]!;
    const y = (holder as Record<string | number, unknown>)[key];
    if (typeof y !== 'object' || y === null || seen.has(y) || held.has(y)) continue;
    if (Array.isArray(y)) {
      const packed = packedNumbers(y, copies);
      if (packed !== undefined) {
        (holder as Record<string | number, unknown>)[key] = packed;
        continue;
      }
    } else if (Object.getPrototypeOf(y) !== Object.prototype) continue;
    seen.add(y);
    if (depth < DEPTH) unboxIn(y as unknown[] | Record<string, unknown>, depth + 1, copies, seen, held);
  }
}
