/**
 * A sink of elements that can also take an array of them in one call. A step whose function returns an array of
 * elements (flatMap) hands the array over whole where its sink says it can, so that the consumer (the shuffle
 * writer's combine) loops over it once instead of being called, with every wrapper between, per element.
 * `many(xs)` must do exactly what calling the sink with each element of `xs` in order would do (holes read as
 * undefined), including where it throws.
 */
export type ManyOf<T> = (xs: readonly T[]) => void;

const MANY: unique symbol = Symbol('many');

interface WithMany<T> {
  (x: T): void;
  [MANY]?: ManyOf<T>;
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
