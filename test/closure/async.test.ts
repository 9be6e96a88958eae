import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ClosureError, Context } from 'kindling';

describe('asynchronous functions never put a Promise in the data', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false, maxTaskFailures: 1 });
  });
  afterAll(async () => {
    await sc.stop();
  });

  test('an async function fails at the call, naming the method', () => {
    const rdd = sc.parallelize([1, 2]);
    expect(() => rdd.map(async (x) => x)).toThrow(ClosureError);
    expect(() => rdd.map(async (x) => x)).toThrow(/^map function of RDD \d+ .*is an async function/);
    // The types already refuse these two; JavaScript callers (and casts) still reach the check.
    type Predicate = (x: number) => boolean;
    expect(() => rdd.filter((async (x: number) => x > 1) as unknown as Predicate)).toThrow(/^filter function .*async function/);
    type PartitionFn = (it: Iterable<number>) => Iterable<number>;
    const agen = async function* (it: Iterable<number>) {
      yield* it;
    };
    expect(() => rdd.mapPartitions(agen as unknown as PartitionFn)).toThrow(/^mapPartitions function .*async/);
  });

  test('a function that returns a Promise fails its task with an error that says so', async () => {
    const rdd = sc.parallelize([1, 2]);
    await expect(rdd.map((x) => Promise.resolve(x)).collect()).rejects.toThrow(/the map function of RDD \d+ .* returned a Promise/);
    // A Promise is truthy: an unchecked filter would keep every element.
    await expect(rdd.filter((x) => Promise.resolve(x > 1) as unknown as boolean).collect()).rejects.toThrow(
      /the filter function .* returned a Promise/,
    );
    await expect(
      rdd
        .map((x): [number, number] => [x, x])
        .mapValues((v) => Promise.resolve(v))
        .collect(),
    ).rejects.toThrow(/the mapValues function .* returned a Promise/);
    await expect(rdd.flatMap((x) => Promise.resolve([x]) as unknown as number[]).collect()).rejects.toThrow(/got a Promise/);
    await expect(rdd.mapPartitions((it) => Promise.resolve([...it]) as unknown as number[]).collect()).rejects.toThrow(/got a Promise/);
  });
});
