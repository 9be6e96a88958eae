/**
 * Spark allows aggregateByKey's and combineByKey's functions to modify and return their first argument. That
 * must never change stored shuffle output: a later job reusing the shuffle sees the same data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from 'kindling';

describe.each(['local', 'local[2]'])('functions that mutate their first argument (%s)', (master) => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master, progress: false, hints: false });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('aggregateByKey: repeated jobs over the same shuffle give the same result', async () => {
    const agg = sc
      .parallelize(
        [
          ['a', 1],
          ['a', 2],
          ['b', 3],
          ['a', 4],
        ] as Array<[string, number]>,
        3,
      )
      .aggregateByKey(
        [] as number[],
        (acc, v) => {
          acc.push(v);
          return acc;
        },
        (a, b) => {
          a.push(...b);
          return a;
        },
      );
    const norm = (xs: Array<[string, number[]]>) => xs.map(([k, vs]) => [k, [...vs].sort()]).sort();
    const first = norm(await agg.collect());
    expect(first).toEqual([
      ['a', [1, 2, 4]],
      ['b', [3]],
    ]);
    expect(norm(await agg.collect())).toEqual(first);
    expect(norm(await agg.collect())).toEqual(first);
  });

  it('reduceByKey with a mutating reducer over array values: stable across jobs', async () => {
    const red = sc
      .parallelize(
        [
          ['k', [1]],
          ['k', [2]],
          ['k', [3]],
        ] as Array<[string, number[]]>,
        3,
      )
      .reduceByKey((a, b) => {
        a.push(...b);
        return a;
      });
    const first = (await red.collect()).map(([k, vs]) => [k, [...vs].sort()]);
    expect(first).toEqual([['k', [1, 2, 3]]]);
    expect((await red.collect()).map(([k, vs]) => [k, [...vs].sort()])).toEqual(first);
  });
});
