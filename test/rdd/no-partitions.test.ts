/**
 * A shuffle whose inputs have no partitions (`emptyRDD`, `textFile` of an empty file, which Spark 3.2+ and kindling
 * give none) has none either when no count is given: Spark's default partitioner is then `HashPartitioner(0)` (the
 * largest input's count), and `distinct()`/`subtract` use the input's count, 0. Until session 45 kindling made one
 * empty partition, which `mapPartitions`, `foreachPartition` and `pipe` saw and `saveAsTextFile` wrote as an empty
 * `part-00000` beside `_SUCCESS` (Spark writes `_SUCCESS` alone). `sortByKey` keeps one partition, as Spark's
 * RangePartitioner of 0 (no bounds, one range) does.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Context, type RDD } from 'kindling';
import { MODES, useContext } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kindling-no-partitions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const emptyFile = path.join(dir, 'empty.txt');
writeFileSync(emptyFile, '');
let saves = 0;

const sum = (a: number, b: number): number => a + b;

/** Every shuffle with a default partitioning over `e` (no partitions) and `f` (none either). */
function shuffles(e: RDD<[string, number]>, f: RDD<[string, number]>): Array<[string, RDD<unknown>]> {
  return [
    ['reduceByKey', e.reduceByKey(sum)],
    ['groupByKey', e.groupByKey()],
    ['foldByKey', e.foldByKey(0, sum)],
    ['aggregateByKey', e.aggregateByKey(0, sum, sum)],
    ['combineByKey', e.combineByKey((v) => v, sum, sum)],
    ['groupBy', e.groupBy(([k]) => k)],
    ['distinct', e.distinct()],
    ['join', e.join(f)],
    ['leftOuterJoin', e.leftOuterJoin(f)],
    ['fullOuterJoin', e.fullOuterJoin(f)],
    ['cogroup', e.cogroup(f)],
    ['groupWith', e.groupWith(f, f)],
    ['intersection', e.intersection(f)],
    ['subtract', e.subtract(f)],
    ['subtractByKey', e.subtractByKey(f)],
  ];
}

/** What Spark gives for a shuffle of no partitions: none, and nothing for a per-partition function to see. */
async function expectNoPartitions(name: string, r: RDD<unknown>): Promise<void> {
  expect(r.getNumPartitions(), name).toBe(0);
  expect(await r.glom().collect(), name).toEqual([]);
  expect(await r.mapPartitions((it) => [[...it].length]).collect(), name).toEqual([]);
  expect(await r.count(), name).toBe(0);
}

describe.each(MODES)('shuffles of inputs with no partitions (%s)', (master) => {
  const ctx = useContext(master);

  it('have no partitions, as Spark (HashPartitioner(0)); sortByKey keeps one', async () => {
    const sc = ctx();
    const e = sc.emptyRDD<[string, number]>();
    for (const [name, r] of shuffles(e, sc.emptyRDD<[string, number]>())) await expectNoPartitions(name, r);
    expect(e.sortByKey().getNumPartitions()).toBe(1);
    // A count given is used as given.
    expect(e.reduceByKey(sum, 3).getNumPartitions()).toBe(3);
    expect(e.distinct(2).getNumPartitions()).toBe(2);
  });

  it("a word count of an empty file saves _SUCCESS alone, as Spark's", async () => {
    const sc = ctx();
    const lines = sc.textFile(emptyFile);
    expect(lines.getNumPartitions()).toBe(0);
    const counts = lines
      .flatMap((l) => l.split(' '))
      .map((w): [string, number] => [w, 1])
      .reduceByKey(sum);
    await expectNoPartitions('word count', counts);
    const out = path.join(dir, `out-${saves++}`);
    await counts.saveAsTextFile(out);
    expect(readdirSync(out)).toEqual(['_SUCCESS']);
  });

  it('go on into later steps: joined, unioned and looked up as any empty RDD', async () => {
    const sc = ctx();
    const counts = sc.emptyRDD<[string, number]>().reduceByKey(sum);
    const other = sc.parallelize<[string, number]>(
      [
        ['a', 1],
        ['b', 2],
      ],
      2,
    );
    expect(await counts.lookup('a')).toEqual([]);
    expect(await counts.join(counts).collect()).toEqual([]);
    expect((await other.leftOuterJoin(counts).collect()).sort()).toEqual([
      ['a', [1, null]],
      ['b', [2, null]],
    ]);
    expect(await counts.join(other).collect()).toEqual([]);
    expect((await counts.union(other).reduceByKey(sum).collect()).sort()).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(await counts.sortByKey().collect()).toEqual([]);
    // With a side that has partitions, subtract keeps the left side's count (at least one): the other side's records
    // are placed, which a partitioner of no partitions cannot do.
    expect(
      await sc
        .emptyRDD<number>()
        .subtract(sc.parallelize([1, 2], 2))
        .collect(),
    ).toEqual([]);
    expect(await counts.subtractByKey(other).collect()).toEqual([]);
    expect((await other.subtractByKey(counts).collect()).sort()).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(
      await sc
        .emptyRDD<number>()
        .subtract(sc.parallelize([1, 2], 2))
        .union(sc.parallelize([3], 1))
        .collect(),
    ).toEqual([3]);
    // Its partitioner cannot be given to records (they would vanish): refused, as a count of 0 is.
    expect(() => other.partitionBy(counts.partitioner!)).toThrow(/the partitioner has no partitions/);
  });
});

describe('shuffles of inputs with no partitions (mapreduce engine)', () => {
  it('have none there too, and save _SUCCESS alone', async () => {
    const sc = new Context({ master: 'local[2]', engine: 'mapreduce', progress: false });
    try {
      for (const [name, r] of shuffles(sc.emptyRDD(), sc.emptyRDD())) await expectNoPartitions(name, r);
      const counts = sc.emptyRDD<[string, number]>().reduceByKey(sum);
      expect(
        await counts
          .union(sc.parallelize<[string, number]>([['a', 1]], 2))
          .reduceByKey(sum)
          .collect(),
      ).toEqual([['a', 1]]);
      const out = path.join(dir, `out-${saves++}`);
      await sc
        .textFile(emptyFile)
        .map((w): [string, number] => [w, 1])
        .reduceByKey(sum)
        .saveAsTextFile(out);
      expect(readdirSync(out)).toEqual(['_SUCCESS']);
    } finally {
      await sc.stop();
    }
  });
});
