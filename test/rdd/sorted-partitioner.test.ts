/**
 * sortByKey's RangePartitioner used before the sort's first job. Spark's RangePartitioner samples at the call, so a
 * sorted RDD has its partitioner at once: `defaultPartitioner` reuses it for a join, cogroup or reduceByKey (one
 * shuffle, of the other side only), `partitionBy(sorted.partitioner)` places keys by its bounds, and `lookup` reads one
 * partition. kindling samples when the first job runs; until session 46 a sort's partitioner was left out of the
 * default (so such a join shuffled the sorted side again), and a partitionBy or repartitionAndSortWithinPartitions
 * given it sampled its own input into other bounds while still claiming to be partitioned by the sort's, so a join of
 * the two read matching keys from different partitions and lost them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RangePartitioner, type RDD, type SchedulerEvent } from 'kindling';
import { MODES, sorted, useContext } from './helpers.js';

/** Distinct shuffles in the lineage: the map-side RDDs printed after `+-` (a shared parent prints twice). */
const shuffles = (rdd: RDD<unknown>): number => new Set(rdd.toDebugString().match(/\+-\(\d+\) \S+\[\d+\]/g) ?? []).size;

type Pairs = RDD<[number, string]>;

/** The inner join of two lists of pairs, computed plainly. */
function plainJoin(a: ReadonlyArray<[number, string]>, b: ReadonlyArray<[number, string]>): Array<[number, [string, string]]> {
  const out: Array<[number, [string, string]]> = [];
  for (const [k, v] of a) for (const [k2, w] of b) if (k === k2) out.push([k, [v, w]]);
  return sorted(out);
}

describe.each(MODES)("a sort's partitioner before the sort has run (%s)", (master) => {
  const ctx = useContext(master);
  const hundred: Array<[number, string]> = Array.from({ length: 100 }, (_, i) => [i, `a${i}`]);
  // Keys in the middle of the sorted side's range: sampled alone, they would split at other bounds.
  const middle: Array<[number, string]> = Array.from({ length: 10 }, (_, i) => [50 + i, `b${i}`]);

  it('a join, outer joins, cogroup and reduceByKey reuse it: the sorted side is not shuffled again', async () => {
    const sc = ctx();
    const a = sc.parallelize(hundred, 3).sortByKey();
    const b = sc.parallelize(middle, 2);
    const results: Array<[string, RDD<unknown>, number]> = [
      ['join', a.join(b), 2],
      ['leftOuterJoin', a.leftOuterJoin(b), 2],
      ['rightOuterJoin', b.rightOuterJoin(a), 2],
      ['fullOuterJoin', a.fullOuterJoin(b), 2],
      ['cogroup', a.cogroup(b), 2],
      ['groupWith', b.groupWith(a, b), 2],
      ['subtractByKey', a.subtractByKey(b), 2],
      ['reduceByKey', a.reduceByKey((x, y) => x + y), 1],
      ['groupByKey', a.groupByKey(), 1],
    ];
    for (const [name, r, n] of results) {
      expect(shuffles(r), name).toBe(n);
      expect(r.partitioner, name).toBe(a.partitioner);
    }
    expect(sorted(await a.join(b).collect())).toEqual(plainJoin(hundred, middle));
    expect(await a.leftOuterJoin(b).count()).toBe(100);
    expect(await a.subtractByKey(b).count()).toBe(90);
    // Once sampled, the sort shows Spark's RangePartitioner, equal to what the RDDs made before it hold.
    expect(a.partitioner).toBeInstanceOf(RangePartitioner);
    for (const [name, r] of results) expect(r.partitioner?.equals(a.partitioner), name).toBe(true);
    expect(a.partitioner?.equals(results[0]![1].partitioner)).toBe(true);
  });

  it("partitionBy and repartitionAndSortWithinPartitions given it place keys by the sort's bounds", async () => {
    const sc = ctx();
    const a = sc.parallelize(hundred, 3).sortByKey();
    const b = sc.parallelize(middle, 2);
    const byA = b.partitionBy(a.partitioner!);
    const sortedByA = b.repartitionAndSortWithinPartitions(a.partitioner!, false);
    const j = a.join(byA, a.partitioner!);
    expect(shuffles(j)).toBe(2); // the sort's and byA's: co-partitioned, so the join itself moves nothing
    expect(sorted(await j.collect())).toEqual(plainJoin(hundred, middle));
    const p = a.partitioner!;
    const parts = await byA.glom().collect();
    parts.forEach((part, i) => {
      for (const [k] of part) expect(p.getPartition(k), `key ${k} in partition ${i}`).toBe(i);
    });
    const sortedParts = await sortedByA.glom().collect();
    sortedParts.forEach((part, i) => {
      for (const [k] of part) expect(p.getPartition(k), `key ${k} in partition ${i}`).toBe(i);
      expect(part.map(([k]) => k)).toEqual(
        part
          .map(([k]) => k)
          .slice()
          .sort((x, y) => y - x),
      );
    });
    expect(sortedParts.flat().length).toBe(10);
  });

  it('a join of two other RDDs given it samples the sort when the join runs', async () => {
    const sc = ctx();
    const a = sc.parallelize(hundred, 3).sortByKey(false);
    const b = sc.parallelize(middle, 2);
    const c = sc.parallelize(
      middle.map(([k]): [number, string] => [k, `c${k}`]),
      3,
    );
    const j = b.join(c, a.partitioner!);
    expect(sorted(await j.collect())).toEqual(
      plainJoin(
        middle,
        middle.map(([k]): [number, string] => [k, `c${k}`]),
      ),
    );
    expect(a.partitioner).toBeInstanceOf(RangePartitioner);
    expect(j.partitioner?.equals(a.partitioner)).toBe(true);
  });

  it("lookup reads the key's partition only, as once the sort has run", async () => {
    const sc = ctx();
    const s = sc.parallelize(hundred, 4).sortByKey();
    const stages: Array<{ name: string; numTasks: number }> = [];
    const off = sc.events.on('stageSubmitted', (e: SchedulerEvent) => {
      if (e.type === 'stageSubmitted') stages.push({ name: e.name, numTasks: e.numTasks });
    });
    try {
      expect(await s.lookup(42)).toEqual(['a42']);
    } finally {
      off();
    }
    // The sample's stage, the sort's map stage, then the lookup's result stage: one task.
    expect(stages.at(-1)?.numTasks).toBe(1);
  });

  it('random keys: joins through the sort before its job give the plain join', async () => {
    const sc = ctx();
    const pairs = fc.array(fc.tuple(fc.integer({ min: -20, max: 20 }), fc.string({ maxLength: 2 })), { maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(
        pairs,
        pairs,
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (xs, ys, n, m, ascending) => {
          const a: Pairs = sc.parallelize(xs, m).sortByKey(ascending, n);
          const b: Pairs = sc.parallelize(ys, 2);
          const want = plainJoin(xs, ys);
          expect(sorted(await a.join(b).collect())).toEqual(want);
          const a2: Pairs = sc.parallelize(xs, m).sortByKey(ascending, n);
          expect(sorted(await a2.join(b.partitionBy(a2.partitioner!), a2.partitioner!).collect())).toEqual(want);
          const a3: Pairs = sc.parallelize(xs, m).sortByKey(ascending, n);
          expect(
            sorted(
              await b
                .partitionBy(a3.partitioner!)
                .join(a3.mapValues((v) => v))
                .map(([k, [w, v]]) => [k, [v, w]])
                .collect(),
            ),
          ).toEqual(want);
        },
      ),
      { numRuns: master === 'local-cluster[2]' ? 15 : 30 },
    );
  });
});
