/**
 * A sink of elements that can also take an array of them in one call. A step whose function returns an array of
 * elements (flatMap) hands the array over whole where its sink says it can, so that the consumer (the shuffle
 * writer's combine) loops over it once instead of being called, with every wrapper between, per element.
 * `many(xs)` must do exactly what calling the sink with each element of `xs` in order would do (holes read as
 * undefined), including where it throws.
 */
export type ManyOf<T> = (xs: readonly T[]) => void;

const MANY: unique symbol = Symbol('many');
const PAIRS: unique symbol = Symbol('pairs');

/**
 * A sink of `[key, value]` records that can also take a record's key and value as two arguments. A map step whose
 * function returns a pair hands its two halves on where its sink says it can, so that the pair is read where it is
 * made: V8 can then leave it unallocated whatever it inlines below (a word count's `[w, 1]` into the combine).
 * `kv(k, v)` must do exactly what calling the sink with a two-element array `[k, v]` would do, except that it may
 * not keep that array.
 */
export type PairOf = (k: unknown, v: unknown) => void;

interface WithMany<T> {
  (x: T): void;
  [MANY]?: ManyOf<T>;
  [PAIRS]?: PairOf;
}

/** `one`, marked as also taking whole arrays through `many`. */
export function withMany<T>(one: (x: T) => void, many: ManyOf<T>): (x: T) => void {
  (one as WithMany<T>)[MANY] = many;
  return one;
}

/** The array form of a sink made by {@link withMany}; undefined for any other sink. */
export function manyOf<T>(sink: (x: T) => void): ManyOf<T> | undefined {
  return (sink as WithMany<T>)[MANY];
}

/** `one`, marked as also taking a record's key and value through `kv` (see {@link PairOf}). */
export function withPairs<T>(one: (x: T) => void, kv: PairOf): (x: T) => void {
  (one as WithMany<T>)[PAIRS] = kv;
  return one;
}

/** The two-argument form of a sink made by {@link withPairs}; undefined for any other sink. */
export function pairsOf<T>(sink: (x: T) => void): PairOf | undefined {
  return (sink as WithMany<T>)[PAIRS];
}

/**
 * A sink as an object: the per-task state in its fields, `push` a method of its class. A hot loop that calls
 * `target.push(x)` calls the same function in every task (the class's method), where a call of the task's own
 * closure makes V8's optimized code check for that one closure and deoptimize ("wrong call target") when the next
 * task brings another, throwing away the loop's compiled code once in each worker (docs/benchmarks.md, session 23).
 * `push(x)` must do exactly what calling the sink with `x` does.
 *
 * @example
 * ```ts
 * class Summer { total = 0; push(x: number): void { this.total += x; } }
 * const s = new Summer();
 * const sink = withPush((x: number) => s.push(x), s);
 * pushOf(sink)?.push(2); // s.total === 2
 * ```
 */
export interface PushSink<T> {
  push(x: T): void;
  /** Where the sink has an array form (see {@link ManyOf}): what `push` of each element of `xs` in order does. */
  pushMany?(xs: readonly T[]): void;
  /** Where the sink takes a record's halves (see {@link PairOf}): what `push([k, v])` does, without keeping the pair. */
  pushPair?(k: unknown, v: unknown): void;
}

const PUSH: unique symbol = Symbol('push');

/** `one`, marked as the same sink as `target.push` (see {@link PushSink}). */
export function withPush<T>(one: (x: T) => void, target: PushSink<T>): (x: T) => void {
  (one as { [PUSH]?: PushSink<T> })[PUSH] = target;
  return one;
}

/** The object form of a sink made by {@link withPush}; undefined for any other sink. */
export function pushOf<T>(sink: (x: T) => void): PushSink<T> | undefined {
  return (sink as { [PUSH]?: PushSink<T> })[PUSH];
}
