/**
 * Compile-time specification (checked by `tsc -p test`, part of `npm test`): pair operations exist only on
 * RDDs of 2-element tuples, and transformations carry element types through.
 */
import type { Context, RDD } from 'kindling';

export function typeChecks(sc: Context): void {
  const nums: RDD<number> = sc.parallelize([1, 2, 3]);
  const pairs: RDD<[string, number]> = nums.map((n): [string, number] => [String(n), n]);

  const summed: RDD<[string, number]> = pairs.reduceByKey((a, b) => a + b);
  const grouped: RDD<[string, number[]]> = pairs.groupByKey();
  const joined: RDD<[string, [number, boolean]]> = pairs.join(pairs.mapValues((v) => v > 1));
  const left: RDD<[string, [number, string | null]]> = pairs.leftOuterJoin(pairs.mapValues(String));
  const sorted: RDD<[string, number]> = pairs.sortByKey(false);
  void [summed, grouped, joined, left, sorted];

  // @ts-expect-error reduceByKey needs an RDD of [key, value] pairs
  nums.reduceByKey((a: number, b: number) => a + b);
  // @ts-expect-error join needs pairs on both sides
  nums.join(pairs);
  // @ts-expect-error keys() needs pairs
  nums.keys();
  // @ts-expect-error the reducer must combine values of the pair's value type
  pairs.reduceByKey((a: string, b: string) => a + b);
}
