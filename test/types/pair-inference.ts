/**
 * Compile-time specification (checked by `tsc -p test`, part of `npm test`): pair RDDs without annotations.
 * `Equal` makes each check exact: an inferred type wider or narrower than the expected one fails to compile.
 */
import type { Context, RDD } from 'kindling';

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function expectType<T>(_value: T): <U>(check: Equal<T, U> extends true ? true : never) => void {
  return () => {};
}

export function pairInference(sc: Context): void {
  const words = sc.parallelize(['a', 'b', 'a']);

  // A function returning a 2-element array literal makes pairs, no annotation.
  const ones = words.map((w) => [w, 1]);
  expectType(ones)<RDD<[string, number]>>(true);
  expectType(ones.reduceByKey((a, b) => a + b))<RDD<[string, number]>>(true);

  // `as const` tuples are pairs too, with literal types widened so values can be combined.
  const constOnes = words.map((w) => [w, 1] as const);
  expectType(constOnes)<RDD<[string, number]>>(true);
  expectType(constOnes.reduceByKey((a, b) => a + b).mapValues((n) => n > 1))<RDD<[string, boolean]>>(true);

  // flatMap to pairs, through Array.prototype.map, without annotation.
  const fromLines = sc.parallelize(['a b', 'c']).flatMap((l) => l.split(' ').map((w) => [w, 1]));
  expectType(fromLines)<RDD<[string, number]>>(true);
  expectType(fromLines.groupByKey())<RDD<[string, number[]]>>(true);

  // A function returning an array that is not a 2-element literal stays an array.
  expectType(sc.parallelize(['a b']).map((l) => l.split(' ')))<RDD<string[]>>(true);
  const triples = sc.parallelize([1]).map((x) => [x, x, x]);
  expectType(triples)<RDD<[number, number, number]>>(true);
  // @ts-expect-error a triple is not a pair
  triples.reduceByKey((a, b) => a + b);
  expectType(sc.parallelize([1]).map((x) => x * 2))<RDD<number>>(true);

  // filter with a type predicate narrows.
  const mixed = sc.parallelize<string | number>([1, 'a']);
  expectType(mixed.filter((x): x is string => typeof x === 'string'))<RDD<string>>(true);
  // TypeScript infers the predicate of a function like this one too.
  expectType(mixed.filter((x) => typeof x === 'string'))<RDD<string>>(true);
  expectType(mixed.filter((x) => x !== 1))<RDD<string | number>>(true);
  // Annotated literal unions are kept.
  type Color = 'red' | 'green';
  expectType(sc.parallelize<Color>(['red']).map((c): [Color, number] => [c, 1]))<RDD<[Color, number]>>(true);
  const maybe = sc.parallelize<[string, number] | null>([['a', 1], null]);
  expectType(maybe.filter((x): x is [string, number] => x !== null).reduceByKey((a, b) => a + b))<RDD<[string, number]>>(true);

  // Joins and actions carry the inferred key and value types.
  expectType(ones.join(words.map((w) => [w, w.length > 1])))<RDD<[string, [number, boolean]]>>(true);
  expectType(ones.lookup('a'))<Promise<number[]>>(true);
  expectType(ones.collectAsMap())<Promise<Map<string, number>>>(true);

  // A pair method on a non-pair RDD is an error at that call, not at the start of the chain.
  const notPairs = sc
    .parallelize([1, 2, 3])
    .map((x) => x * 2)
    .filter((x) => x > 2)
    // @ts-expect-error reduceByKey needs an RDD of [key, value] pairs
    .reduceByKey((a, b) => a + b);
  const notJoinable = sc
    .parallelize(['x'])
    .map((s) => s.toUpperCase())
    // @ts-expect-error join needs pairs on this side
    .join(ones);
  // biome-ignore format: the expected error must stay on the line of the call
  const notGrouped = sc
    .parallelize([1])
    .map((x) => x + 1)
    // @ts-expect-error aggregateByKey needs pairs (reported at the call)
    .aggregateByKey(0, (acc: number, v: number) => acc + v, (a: number, b: number) => a + b);
  const notMapped = sc
    .parallelize([1])
    .map(String)
    // @ts-expect-error mapValues needs pairs
    .mapValues((v) => v);
  const noLookup = sc
    .parallelize([1])
    .map((x) => x + 1)
    // @ts-expect-error lookup needs pairs
    .lookup(1);
  void [notPairs, notJoinable, notGrouped, notMapped, noLookup];

  // The pair methods that take no argument (or only optional ones) too: each error is on the line of its call.
  const nums = sc.parallelize([1, 2, 3]).map((x) => x * 2);
  // biome-ignore format: each expected error must stay on the line of its call
  const zeroArgs = [
    nums
      .filter((x) => x > 2)
      // @ts-expect-error keys needs pairs
      .keys(),
    nums
      .filter((x) => x > 2)
      // @ts-expect-error values needs pairs
      .values(),
    nums
      .filter((x) => x > 2)
      // @ts-expect-error groupByKey() needs pairs
      .groupByKey(),
    nums
      .filter((x) => x > 2)
      // @ts-expect-error groupByKey(n) needs pairs
      .groupByKey(4),
    nums
      .filter((x) => x > 2)
      // @ts-expect-error sortByKey() needs pairs
      .sortByKey(),
    nums
      .filter((x) => x > 2)
      // @ts-expect-error sortByKey(false) needs pairs
      .sortByKey(false),
    nums
      .filter((x) => x > 2)
      // @ts-expect-error countByKey needs pairs
      .countByKey(),
    nums
      .filter((x) => x > 2)
      // @ts-expect-error collectAsMap needs pairs
      .collectAsMap(),
  ];
  void zeroArgs;
  // ... and on pairs they keep their types, with and without their optional arguments.
  expectType(ones.keys())<RDD<string>>(true);
  expectType(ones.values())<RDD<number>>(true);
  expectType(ones.groupByKey(2))<RDD<[string, number[]]>>(true);
  expectType(ones.sortByKey(false, 2, (a, b) => a.localeCompare(b)))<RDD<[string, number]>>(true);
  expectType(ones.countByKey())<Promise<Map<string, number>>>(true);
  expectType(ones.collectAsMap({ signal: new AbortController().signal }))<Promise<Map<string, number>>>(true);
  // A pair RDD is still an RDD<unknown> (the pair-only parameters do not make RDD invariant).
  const anyRdd: RDD<unknown> = ones;
  void anyRdd;

  // Values that a ternary makes literal are widened as before; nullable values keep their null.
  expectType(words.map((w) => [w, w.length > 3 ? 'long' : 'short']))<RDD<[string, string]>>(true);
  expectType(words.map((w) => [w, w === 'a' ? 1 : null]))<RDD<[string, number | null]>>(true);
  expectType(words.map((w) => [w, true] as const))<RDD<[string, boolean]>>(true);
  expectType(words.map((w) => [[w], { n: 1 }]))<RDD<[string[], { n: number }]>>(true);

  // mapAsync: the awaited value is the element; an async function returning a pair makes pairs.
  expectType(words.mapAsync(async (w) => w.length))<RDD<number>>(true);
  expectType(words.mapAsync(async (w) => [w, 1]))<RDD<[string, number]>>(true);
  expectType(words.mapAsync((w) => Promise.resolve([w, w.length] as const)).reduceByKey((a, b) => a + b))<RDD<[string, number]>>(true);
}

/**
 * Generic code follows the pair types: no cast where the element type is a type parameter (DStream's
 * `reduce` and `countByValue` are written this way).
 */
export function genericPairs<T, K, V>(rdd: RDD<T>, kv: RDD<[K, V]>): void {
  expectType(rdd.map((x) => [x, 1]))<RDD<[T, number]>>(true);
  expectType(rdd.map((x) => [0, x]))<RDD<[number, T]>>(true);
  expectType(rdd.map((x) => [x, x]))<RDD<[T, T]>>(true);
  expectType(rdd.map((x) => [x, 1] as const))<RDD<[T, number]>>(true);
  expectType(rdd.map((x): [number, T] => [0, x]))<RDD<[number, T]>>(true);
  expectType(rdd.map((x) => [x, 1]).reduceByKey((a, b) => a + b))<RDD<[T, number]>>(true);
  expectType(rdd.map((x) => [0, x]).groupByKey())<RDD<[number, T[]]>>(true);
  // The pair methods without arguments resolve on a generic pair type too.
  expectType(kv.keys())<RDD<K>>(true);
  expectType(kv.values())<RDD<V>>(true);
  expectType(kv.groupByKey())<RDD<[K, V[]]>>(true);
  expectType(kv.sortByKey())<RDD<[K, V]>>(true);
  expectType(kv.countByKey())<Promise<Map<K, number>>>(true);
  expectType(kv.collectAsMap())<Promise<Map<K, V>>>(true);
  // @ts-expect-error an unknown element type is not a pair
  rdd.keys();
}

/** A type parameter constrained to `{}` cannot be told from a concrete type: the element type is given. */
export function constrainedGeneric<T extends {}>(rdd: RDD<T>): void {
  expectType(rdd.map<[T, number]>((x) => [x, 1]))<RDD<[T, number]>>(true);
}
