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
