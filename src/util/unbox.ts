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
export function packedNumbers(x: unknown[], copies: Map<unknown[], number[]>): number[] | undefined {
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

/** How deep {@link unboxDeep} looks into arrays and plain objects: captured models are a few levels deep. */
const DEPTH = 6;

/**
 * `x` with every plain array of numbers inside it, down to {@link DEPTH} levels of arrays and plain objects, replaced
 * by a packed unboxed copy; the containers are changed in place, so `x` must be the caller's own (a value just
 * cloned). Arrays shared within `x` stay shared (one copy each); other objects (Maps, class instances, typed arrays)
 * are left as they are, and so is what they hold.
 *
 * @example
 * ```ts
 * const centers = unboxDeep(structuredClone([[0.5, 1.5], [2.5, 3.5]])) as number[][]; // each center unboxed
 * ```
 */
export function unboxDeep(x: unknown): unknown {
  if (typeof x !== 'object' || x === null) return x;
  const one = [x];
  unboxIn(one, 0, new Map(), new Set());
  return one[0];
}

/** Replaces, in `holder` (an array or plain object), the arrays of numbers at or below its own properties. */
function unboxIn(holder: unknown[] | Record<string, unknown>, depth: number, copies: Map<unknown[], number[]>, seen: Set<object>): void {
  const keys = Array.isArray(holder) ? undefined : Object.keys(holder);
  const n = keys === undefined ? (holder as unknown[]).length : keys.length;
  for (let i = 0; i < n; i++) {
    const key = keys === undefined ? i : keys[i]!;
    const y = (holder as Record<string | number, unknown>)[key];
    if (typeof y !== 'object' || y === null || seen.has(y)) continue;
    if (Array.isArray(y)) {
      const packed = packedNumbers(y, copies);
      if (packed !== undefined) {
        (holder as Record<string | number, unknown>)[key] = packed;
        continue;
      }
    } else if (Object.getPrototypeOf(y) !== Object.prototype) continue;
    seen.add(y);
    if (depth < DEPTH) unboxIn(y as unknown[] | Record<string, unknown>, depth + 1, copies, seen);
  }
}
