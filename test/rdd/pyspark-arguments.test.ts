/**
 * PySpark's positional arguments, written from JavaScript (where no compiler checks them) against kindling's
 * signatures. Each case here once gave a wrong or different result with no error: the argument landed in a
 * parameter of another meaning (sortByKey's keyfunc taken for a comparator) or was ignored (binaryFiles'
 * minPartitions, saveAsTextFile's codec class, pipe's env dict, coalesce's shuffle flag, partitionBy's
 * partitionFunc). Now each is either honoured as PySpark means it or refused at the call, saying what to write.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-pyargs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Checks at the call and small jobs: one mode is enough, the code paths are the driver's.
describe('PySpark positional arguments (local[2])', () => {
  const ctx = useContext('local[2]');
  // PySpark's sortByKey docstring data.
  const tmp2: Array<[string, number]> = [
    ['Mary', 1],
    ['had', 2],
    ['a', 3],
    ['little', 4],
    ['lamb', 5],
    ['whose', 6],
    ['fleece', 7],
    ['was', 8],
    ['white', 9],
  ];
  // The calls below are what JavaScript lets through and TypeScript refuses.
  const any = (x: unknown): any => x;

  test("sortByKey's keyfunc (PySpark's third argument) is refused, not taken for a comparator", async () => {
    const rdd = ctx().parallelize(tmp2, 3);
    // >>> sc.parallelize(tmp2).sortByKey(True, 3, keyfunc=lambda k: k.lower()).collect()
    // Before: the input came back unsorted (the key function's strings compared as NaN: "equal").
    expect(() => any(rdd).sortByKey(true, 3, (k: string) => k.toLowerCase())).toThrow(
      /sortByKey: the comparator must take two keys .* 1 parameter \(PySpark's keyfunc\?\); map the keys instead/,
    );
    expect(() =>
      any(rdd).sortBy(
        ([k]: [string]) => k,
        true,
        2,
        (k: string) => k.toLowerCase(),
      ),
    ).toThrow(/^sortBy: the comparator/);
    // What the message proposes gives PySpark's answer.
    expect(await rdd.sortBy(([k]) => k.toLowerCase(), true, 3).collect()).toEqual([
      ['a', 3],
      ['fleece', 7],
      ['had', 2],
      ['lamb', 5],
      ['little', 4],
      ['Mary', 1],
      ['was', 8],
      ['white', 9],
      ['whose', 6],
    ]);
    // A comparator of two keys still orders the keys.
    const byLower = (a: string, b: string): number => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0);
    expect((await rdd.sortByKey(false, 2, byLower).keys().collect()).slice(0, 3)).toEqual(['whose', 'white', 'was']);
  });

  test('a comparator that returns booleans (Scala sortWith style) fails instead of returning the keys in no order', async () => {
    const data = Array.from({ length: 40 }, (_, i): [number, number] => [(i * 37) % 40, i]);
    const lessThan = (a: number, b: number): boolean => a < b;
    // Before: [0, 22, 19, 16, ...], no error. Range bounds on the driver (2 partitions), the sort in a worker (1).
    for (const n of [2, 1]) {
      await expect(any(ctx().parallelize(data, 3)).sortByKey(true, n, lessThan).collect()).rejects.toThrow(
        /the comparator must return a number \(negative, zero or positive\), got boolean/,
      );
    }
    await expect(
      any(ctx().parallelize([3, 1, 2], 2))
        .sortBy((x: number) => x, true, 1, lessThan)
        .collect(),
    ).rejects.toThrow(/got boolean/);
    const numeric = (a: number, b: number): number => b - a;
    expect(await ctx().parallelize(data, 3).sortByKey(true, 2, numeric).keys().take(3)).toEqual([39, 38, 37]);
  });

  test('ascending must be a boolean: an options object or a function is not read as true', () => {
    const rdd = ctx().parallelize(tmp2, 2);
    expect(() => any(rdd).sortByKey({ ascending: false })).toThrow(/sortByKey: ascending must be a boolean, got an object/);
    expect(() => any(rdd).sortBy((x: unknown) => x, 'desc')).toThrow(/sortBy: ascending must be a boolean, got "desc"/);
  });

  test("repartitionAndSortWithinPartitions in PySpark's order (numPartitions, partitionFunc, ascending) is refused", async () => {
    const rdd = ctx().parallelize<[number, number]>([
      [0, 5],
      [3, 8],
      [2, 6],
      [0, 8],
      [3, 8],
      [1, 3],
    ]);
    // >>> rdd.repartitionAndSortWithinPartitions(2, lambda x: x % 2, True)
    // Before: the partitionFunc was taken for `ascending` (truthy) and the keys were hash-partitioned.
    expect(() => any(rdd).repartitionAndSortWithinPartitions(2, (x: number) => x % 2, true)).toThrow(
      /second argument is ascending \(a boolean\), got a function \(PySpark's partitionFunc\?\)/,
    );
    expect(() => any(rdd).repartitionAndSortWithinPartitions(2, true, (a: number, b: number) => a - b)).toThrow(
      /third argument is a key function of one key .* a function of 2 parameters/,
    );
    const byParity = { numPartitions: 2, getPartition: (k: number) => k % 2 };
    expect(await rdd.repartitionAndSortWithinPartitions(byParity, true).glom().collect()).toEqual([
      [
        [0, 5],
        [0, 8],
        [2, 6],
      ],
      [
        [1, 3],
        [3, 8],
        [3, 8],
      ],
    ]);
  });

  test('a partitionFunc after the number of partitions is refused: it was ignored and the keys hash-partitioned', async () => {
    const rdd = ctx().parallelize<[number, number]>([
      [0, 5],
      [3, 8],
    ]);
    const parity = (k: number): number => k % 2;
    const add = (a: number, b: number): number => a + b;
    expect(() => any(rdd).partitionBy(2, parity)).toThrow(
      /partitionBy: got an argument after the partitioning argument \(a function of 1 parameter; PySpark's partitionFunc\?\)/,
    );
    expect(() => any(rdd).reduceByKey(add, 2, parity)).toThrow(/^reduceByKey: got an argument after the partitioning argument/);
    expect(() => any(rdd).groupByKey(2, parity)).toThrow(/^groupByKey: got an argument after/);
    expect(() => any(rdd).foldByKey(0, add, 2, parity)).toThrow(/^foldByKey: got an argument after/);
    expect(() => any(rdd).aggregateByKey(0, add, add, 2, parity)).toThrow(/^aggregateByKey: got an argument after/);
    expect(() => any(rdd).combineByKey((v: number) => v, add, add, 2, parity)).toThrow(/^combineByKey: got an argument after/);
    // kindling's form of the same request.
    const byParity = { numPartitions: 2, getPartition: parity };
    expect(await rdd.reduceByKey(add, byParity).glom().collect()).toEqual([[[0, 5]], [[3, 8]]]);
    expect(any(rdd).partitionBy(2, undefined).getNumPartitions()).toBe(2);
  });

  test('coalesce(n, true) shuffles into n partitions as Spark does; coalesce(n) never adds partitions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 3 })), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 8 }),
        async (xs, slices, n) => {
          const rdd = ctx().parallelize(xs, slices);
          const shuffled = rdd.coalesce(n, true);
          expect(shuffled.getNumPartitions()).toBe(n);
          const back = await shuffled.collect();
          expect([...back].sort()).toEqual([...xs].sort());
          const narrow = rdd.coalesce(n, false);
          expect(narrow.getNumPartitions()).toBe(Math.min(n, slices));
          expect(await narrow.collect()).toEqual(xs);
        },
      ),
      { numRuns: 12 },
    );
    expect(() => any(ctx().parallelize([1])).coalesce(2, 'yes')).toThrow(/coalesce: shuffle must be a boolean, got "yes"/);
  });

  test("pipe's env dict (PySpark's second argument) is refused; { env } passes it", async () => {
    const rdd = ctx().parallelize(['x'], 1);
    // Before: the command ran without FOO and printed an empty line.
    expect(() => any(rdd).pipe('echo "$FOO"', { FOO: 'bar' })).toThrow(/pipe: unknown option "FOO" \(it takes env\)/);
    expect(() => any(rdd).pipe('cat', null, false)).toThrow(/pipe: the options argument must be an object, got null/);
    expect(await rdd.pipe('echo "$FOO"', { env: { FOO: 'bar' } }).collect()).toEqual(['bar']);
  });

  test("saveAsTextFile's compressionCodecClass is refused and writes nothing; a misspelt option too", async () => {
    const out = path.join(root, 'codec');
    const rdd = ctx().parallelize(['a', 'b'], 2);
    // Before: the string was ignored and the parts written uncompressed.
    await expect(any(rdd).saveAsTextFile(out, 'org.apache.hadoop.io.compress.GzipCodec')).rejects.toThrow(
      /saveAsTextFile: the options argument must be an object, got "org.apache.hadoop.io.compress.GzipCodec"; .*\{ compression: 'gzip' \}/,
    );
    await expect(any(rdd).saveAsTextFile(out, { compress: 'gzip' })).rejects.toThrow(/saveAsTextFile: unknown option "compress"/);
    await expect(any(rdd).saveAsJsonLines(out, 'gzip')).rejects.toThrow(/^saveAsJsonLines: the options argument must be an object/);
    await expect(any(rdd).saveAsObjectFile(out, 10)).rejects.toThrow(/^saveAsObjectFile: the options argument must be an object, got 10/);
    expect(existsSync(out)).toBe(false);
    await rdd.saveAsTextFile(out, { compression: 'gzip' });
    expect(readdirSync(out).sort()).toEqual(['_SUCCESS', 'part-00000.gz', 'part-00001.gz']);
  });

  test('binaryFiles(path, minPartitions) and objectFile(path, minPartitions) take the count, as PySpark', async () => {
    const sc = ctx();
    const dir = path.join(root, 'files');
    mkdirSync(dir);
    for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, `f${i}`), 'x'.repeat(i));
    // Before: the number was ignored and the files read in defaultParallelism (2) partitions.
    expect(sc.binaryFiles(dir, 4).getNumPartitions()).toBe(4);
    expect(sc.binaryFiles(dir, { minPartitions: 3 }).getNumPartitions()).toBe(3);
    const sizes = await sc
      .binaryFiles(dir, 5)
      .mapValues((b) => b.length)
      .collect();
    expect(sizes.map(([f, n]) => [path.basename(f), n])).toEqual([
      ['f0', 0],
      ['f1', 1],
      ['f2', 2],
      ['f3', 3],
      ['f4', 4],
    ]);
    expect(() => any(sc).binaryFiles(dir, { minPartition: 3 })).toThrow(/binaryFiles: unknown option "minPartition"/);

    const objects = path.join(root, 'objects');
    await sc.parallelize([1, 2, 3, 4, 5, 6], 6).saveAsObjectFile(objects);
    const back = sc.objectFile<number>(objects, 3);
    expect(back.getNumPartitions()).toBe(3);
    expect((await back.collect()).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
