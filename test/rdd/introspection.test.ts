/**
 * Introspection: id, name/setName, getNumPartitions, partitioner, and toDebugString in Spark's format
 * (indentation at shuffle boundaries; the co-partitioned join drawn without a shuffle).
 */
import { describe, expect, it } from 'vitest';
import { HashPartitioner } from 'kindling';
import { MODES, useContext } from './helpers.js';

/** `RDD[12] at map at file.ts:34 []` -> `RDD at map []`: keeps the shape and the operation names. */
function shape(debug: string): string[] {
  return debug.split('\n').map((l) => l.replace(/\[\d+\]/g, '').replace(/ at ([^\s[]+) at \S+:\d+/, ' at $1'));
}

describe.each(MODES)('introspection (%s)', (master) => {
  const ctx = useContext(master);

  it('ids are numbers that increase with every new RDD', () => {
    const sc = ctx();
    const a = sc.parallelize([1]);
    const b = a.map((x) => x);
    const c = b.filter(() => true);
    const d = sc.range(3);
    expect(typeof a.id).toBe('number');
    expect(b.id).toBeGreaterThan(a.id);
    expect(c.id).toBeGreaterThan(b.id);
    expect(d.id).toBeGreaterThan(c.id);
    expect(new Set([a.id, b.id, c.id, d.id]).size).toBe(4);
  });

  it('name is undefined until setName, which returns the RDD', async () => {
    const r = ctx().parallelize([1, 2], 2);
    expect(r.name).toBeUndefined();
    expect(r.setName('numbers')).toBe(r);
    expect(r.name).toBe('numbers');
    expect(r.toDebugString()).toMatch(/^\(2\) numbers ParallelCollectionRDD\[\d+\] at parallelize at \S+:\d+ \[\]$/);
    r.setName('renamed');
    expect(r.name).toBe('renamed');
    expect(await r.collect()).toEqual([1, 2]);
  });

  it('the call site names the user file and line', () => {
    const r = ctx().parallelize([1], 1);
    expect(r.toDebugString()).toMatch(/ParallelCollectionRDD\[\d+\] at parallelize at introspection\.test\.ts:\d+ \[\]/);
  });

  it('getNumPartitions for the main kinds of RDD', () => {
    const sc = ctx();
    const a = sc.parallelize([1, 2, 3], 3);
    expect(a.getNumPartitions()).toBe(3);
    expect(a.map((x) => x).getNumPartitions()).toBe(3);
    expect(a.union(a).getNumPartitions()).toBe(6);
    expect(a.cartesian(sc.parallelize([1], 2)).getNumPartitions()).toBe(6);
    expect(a.coalesce(2).getNumPartitions()).toBe(2);
    expect(a.repartition(5).getNumPartitions()).toBe(5);
    expect(a.glom().getNumPartitions()).toBe(3);
    expect(a.zipWithIndex().getNumPartitions()).toBe(3);
    expect(sc.emptyRDD().getNumPartitions()).toBe(0);
    expect(sc.range(0, 10, 1, 4).getNumPartitions()).toBe(4);
  });

  it('partitioner is a property: undefined, or numPartitions and getPartition', () => {
    const sc = ctx();
    const pairs = sc.parallelize<[string, number]>([['a', 1]], 2);
    expect(pairs.partitioner).toBeUndefined();
    const p = pairs.partitionBy(new HashPartitioner(3)).partitioner!;
    expect(p.numPartitions).toBe(3);
    const i = p.getPartition('a');
    expect(Number.isInteger(i) && i >= 0 && i < 3).toBe(true);
    expect(pairs.groupByKey(4).partitioner?.numPartitions).toBe(4);
    expect(pairs.sortByKey(true, 2).partitioner?.numPartitions).toBe(2);
  });

  it('a narrow chain has no indentation', () => {
    const r = ctx()
      .parallelize([1, 2], 2)
      .map((x) => x)
      .filter(() => true);
    expect(shape(r.toDebugString())).toEqual([
      '(2) MapPartitionsRDD at filter []',
      ' |  MapPartitionsRDD at map []',
      ' |  ParallelCollectionRDD at parallelize []',
    ]);
  });

  it('each shuffle starts an indented block headed by its partition count', () => {
    const r = ctx()
      .parallelize([1, 2], 2)
      .map((x) => [x, 1] as [number, number])
      .reduceByKey((a, b) => a + b, 3)
      .mapValues((v) => v)
      .groupByKey(4);
    expect(shape(r.toDebugString())).toEqual([
      '(4) ShuffledRDD at groupByKey []',
      ' +-(3) MapPartitionsRDD at mapValues []',
      '    |  ShuffledRDD at reduceByKey []',
      '    +-(2) MapPartitionsRDD at map []',
      '       |  ParallelCollectionRDD at parallelize []',
    ]);
  });

  it('partition counts of two digits widen the bar, as in Spark', () => {
    const r = ctx()
      .parallelize([1, 2], 12)
      .map((x) => [x, x] as [number, number])
      .reduceByKey((a, b) => a + b, 10);
    expect(shape(r.toDebugString())).toEqual([
      '(10) ShuffledRDD at reduceByKey []',
      ' +-(12) MapPartitionsRDD at map []',
      '    |   ParallelCollectionRDD at parallelize []',
    ]);
  });

  it('a shuffle that is not the last dependency keeps a bar for the ones after it', () => {
    const sc = ctx();
    const a = sc
      .parallelize([1, 2], 2)
      .map((x) => [x, x] as [number, number])
      .reduceByKey((x, y) => x + y, 3);
    const b = sc.parallelize<[number, string]>([[1, 'x']], 4);
    const lines = shape(a.join(b, 5).toDebugString());
    const co = lines.findIndex((l) => l.includes('CoGroupedRDD'));
    expect(lines[0]).toBe('(5) MapPartitionsRDD at join []');
    expect(lines.slice(co + 1)).toEqual([
      ' +-(3) ShuffledRDD at reduceByKey []',
      ' |  +-(2) MapPartitionsRDD at map []',
      ' |     |  ParallelCollectionRDD at parallelize []',
      ' +-(4) ParallelCollectionRDD at parallelize []',
    ]);
  });

  it('a join of unpartitioned inputs shuffles both sides', () => {
    const sc = ctx();
    const a = sc.parallelize<[string, number]>([['a', 1]], 2);
    const b = sc.parallelize<[string, number]>([['a', 2]], 3);
    const lines = shape(a.join(b).toDebugString());
    expect(lines[0]).toBe('(3) MapPartitionsRDD at join []');
    expect(lines.slice(-2)).toEqual([' +-(2) ParallelCollectionRDD at parallelize []', ' +-(3) ParallelCollectionRDD at parallelize []']);
    expect(lines.filter((l) => l.includes('+-'))).toHaveLength(2);
    expect(lines.some((l) => /^ \| {2}CoGroupedRDD/.test(l))).toBe(true);
  });

  it('a co-partitioned join is narrow: its partitioned parents sit in the same stage', () => {
    const sc = ctx();
    const a = sc.parallelize<[string, number]>([['a', 1]], 2).partitionBy(new HashPartitioner(3));
    const b = sc.parallelize<[string, number]>([['a', 2]], 4).partitionBy(new HashPartitioner(3));
    const lines = shape(a.join(b).toDebugString());
    const co = lines.findIndex((l) => l.includes('CoGroupedRDD'));
    expect(lines[0]).toBe('(3) MapPartitionsRDD at join []');
    expect(co).toBeGreaterThan(0);
    expect(lines[co]).toMatch(/^ \| {2}CoGroupedRDD at \S+ \[\]$/);
    expect(lines.slice(co + 1)).toEqual([
      ' |  ShuffledRDD at partitionBy []',
      ' +-(2) ParallelCollectionRDD at parallelize []',
      ' |  ShuffledRDD at partitionBy []',
      ' +-(4) ParallelCollectionRDD at parallelize []',
    ]);
  });

  it('jobs on nested and wide unions', async () => {
    const sc = ctx();
    let r = sc.parallelize([0], 1);
    for (let i = 1; i < 150; i++) r = r.union(i % 10 === 0 ? sc.emptyRDD<number>() : sc.parallelize([i, -i], 2));
    const expected = Array.from({ length: 150 }, (_, i) => (i === 0 ? [0] : i % 10 === 0 ? [] : [i, -i])).flat();
    expect(r.getNumPartitions()).toBe(1 + 2 * 135);
    expect(await r.collect()).toEqual(expected);
    const wide = sc.union(Array.from({ length: 150 }, (_, i) => (i % 10 === 0 ? sc.emptyRDD<number>() : sc.parallelize([i, -i], 2))));
    expect(await wide.collect()).toEqual(Array.from({ length: 150 }, (_, i) => (i % 10 === 0 ? [] : [i, -i])).flat());
  });

  it('jobs on long lineages: a 2000-step narrow chain and 100 shuffle iterations', async () => {
    const sc = ctx();
    let r = sc.parallelize([1, 2, 3], 2);
    for (let i = 0; i < 2000; i++) r = r.map((x) => x + 1);
    expect(await r.collect()).toEqual([2001, 2002, 2003]);
    let ranks = sc.parallelize<[string, number]>(
      [
        ['a', 1],
        ['b', 2],
      ],
      2,
    );
    for (let i = 0; i < 100; i++) ranks = ranks.mapValues((v) => v + 1).reduceByKey((a, b) => a + b);
    expect((await ranks.collect()).sort()).toEqual([
      ['a', 101],
      ['b', 102],
    ]);
  });
});

// Driver-only lineage walks (no job runs), so one master mode is enough; they are the slow part of this file.
describe('introspection of deep lineages (driver only)', () => {
  const ctx = useContext('local');

  it('deep narrow lineages: partition count and debug string without stack overflow', () => {
    let r = ctx().parallelize([1], 3);
    for (let i = 0; i < 15000; i++) r = i % 2 === 0 ? r.map((x) => x) : r.mapPartitions((it) => it);
    expect(r.getNumPartitions()).toBe(3);
    const lines = r.toDebugString().split('\n');
    expect(lines).toHaveLength(15001);
    expect(lines[0]).toMatch(/^\(3\) MapPartitionsRDD/);
    expect(lines[15000]).toMatch(/^ \| {2}ParallelCollectionRDD/);
  });

  it('deeply nested unions: partition count without stack overflow', () => {
    const sc = ctx();
    const leaf = sc.parallelize([1], 1);
    const empty = sc.emptyRDD<number>();
    let r = leaf;
    for (let i = 0; i < 12000; i++) r = r.union(i % 3 === 0 ? empty : leaf);
    expect(r.getNumPartitions()).toBe(8001);
    expect(r.toDebugString().split('\n').length).toBeGreaterThan(24000);
  });
});
