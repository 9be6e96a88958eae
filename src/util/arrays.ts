/**
 * Joining long arrays. `Array.prototype.concat` copies the items of packed arrays in bulk, while `flat()` and
 * `flatMap()` visit them one at a time through the generic iteration: joining 185 arrays of 4,096 strings took
 * 160-190 ms with `flatMap` and 20-60 ms with `concat` (one thread, CPU, load ~15).
 */

/** Parts per `concat` call: far below the engine's limit on the number of arguments of one call. */
const PARTS_PER_CALL = 4096;

/**
 * A new array holding the items of `parts` in order, as `parts.flat()` gives for arrays without holes (a hole of
 * a part stays a hole here, where `flat` would skip it; items that are arrays are not flattened, in both).
 *
 * @example
 * ```ts
 * concatArrays([[1, 2], [], [[3]]]); // [1, 2, [3]]
 * ```
 */
export function concatArrays<T>(parts: readonly (readonly T[])[]): T[] {
  if (parts.length <= PARTS_PER_CALL) return ([] as T[]).concat(...(parts as T[][]));
  let out: T[] = [];
  for (let i = 0; i < parts.length; i += PARTS_PER_CALL) out = out.concat(...(parts.slice(i, i + PARTS_PER_CALL) as T[][]));
  return out;
}

/**
 * `new Array(n)`: an array of `n` holes, in the same fast holey elements, without calling the Array constructor.
 * A `new Array(n)` of more than ~16k elements run before its function has type feedback (the first calls of a
 * function, so every worker's first task) has no allocation site, and V8 then invalidates the isolate's
 * "ArrayConstructor" protector for good: the optimized code of every function that relied on it is thrown away
 * (4–5 functions a worker in PageRank's first iteration, `--trace-protector-invalidation`), and array
 * constructions compile to slower generic calls from then on. Setting the length of an empty array never touches it.
 *
 * @example
 * ```ts
 * const slots = arrayOfLength<number>(3); // [ <3 empty items> ]
 * slots[1] = 7;
 * ```
 */
export function arrayOfLength<T>(n: number): T[] {
  const out: T[] = [];
  out.length = n;
  return out;
}
