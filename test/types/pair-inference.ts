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
}
