/**
 * Which operators keep a partitioner, checked over random chains against Spark's rules (RDD.scala,
 * PairRDDFunctions.scala, Partitioner.defaultPartitioner, SparkContext.union): a kept partitioner is what makes a
 * later join or reduceByKey narrow, so it must be kept exactly where Spark keeps it, and never where the keys
 * may have moved.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashPartitioner, type Partitioner, type RDD } from 'kindling';
import { sorted, useContext } from './helpers.js';

type Pairs = RDD<[string, number]>;
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

/** Spark's Partitioner.defaultPartitioner (no spark.default.parallelism): the inputs' largest partitioner when
 * within an order of magnitude of the largest input, else a HashPartitioner of the largest input's count. */
function sparkDefault(...rdds: Pairs[]): Partitioner {
  const max = Math.max(...rdds.map((r) => r.getNumPartitions()));
  const withP = rdds.filter((r) => r.partitioner !== undefined);
  if (withP.length > 0) {
    const best = withP.reduce((a, b) => (b.getNumPartitions() > a.getNumPartitions() ? b : a));
    if (Math.log10(max) - Math.log10(best.getNumPartitions()) < 1 || max <= best.getNumPartitions()) return best.partitioner!;
  }
  return new HashPartitioner(max);
}

/** One step: what kindling does, and what Spark's partitioner would be after it (`same`: the very RDD back). */
interface Step {
  readonly name: string;
  apply(r: Pairs, other: Pairs): Pairs;
  expect(r: Pairs, other: Pairs): Partitioner | undefined | 'same';
}

const keep = (r: Pairs): Partitioner | undefined => r.partitioner;
const orHash = (r: Pairs): Partitioner => r.partitioner ?? new HashPartitioner(r.getNumPartitions());
const sum = (a: number, b: number): number => a + b;

const STEPS: readonly Step[] = [
  { name: 'mapValues', apply: (r) => r.mapValues((v) => v + 1), expect: keep },
  { name: 'flatMapValues', apply: (r) => r.flatMapValues((v) => [v, -v]), expect: keep },
  { name: 'filter', apply: (r) => r.filter(([, v]) => v % 3 !== 0), expect: keep },
  { name: 'sample', apply: (r) => r.sample(false, 0.7, 5), expect: keep },
  { name: 'randomSplit', apply: (r) => r.randomSplit([1, 1], 3)[0]!, expect: keep },
  { name: 'sampleByKey', apply: (r) => r.sampleByKey(false, Object.fromEntries([...KEYS, 'h'].map((k) => [k, 0.8])), 2), expect: keep },
  { name: 'reduceByKey()', apply: (r) => r.reduceByKey(sum), expect: (r) => sparkDefault(r) },
  { name: 'reduceByKey(4)', apply: (r) => r.reduceByKey(sum, 4), expect: () => new HashPartitioner(4) },
  { name: 'groupByKey()', apply: (r) => r.groupByKey().mapValues((vs) => vs.length), expect: (r) => sparkDefault(r) },
  { name: 'foldByKey', apply: (r) => r.foldByKey(0, sum), expect: (r) => sparkDefault(r) },
  { name: 'aggregateByKey', apply: (r) => r.aggregateByKey(0, sum, sum), expect: (r) => sparkDefault(r) },
  { name: 'combineByKey', apply: (r) => r.combineByKey((v) => v, sum, sum), expect: (r) => sparkDefault(r) },
  { name: 'join', apply: (r, o) => r.join(o).mapValues(([v, w]) => v + w), expect: (r, o) => sparkDefault(r, o) },
  { name: 'leftOuterJoin', apply: (r, o) => r.leftOuterJoin(o).mapValues(([v]) => v), expect: (r, o) => sparkDefault(r, o) },
  { name: 'fullOuterJoin', apply: (r, o) => r.fullOuterJoin(o).mapValues(([v, w]) => v ?? w!), expect: (r, o) => sparkDefault(r, o) },
  { name: 'cogroup', apply: (r, o) => r.cogroup(o).mapValues(([vs, ws]) => vs.length + ws.length), expect: (r, o) => sparkDefault(r, o) },
  { name: 'subtractByKey', apply: (r, o) => r.subtractByKey(o), expect: orHash },
  {
    name: 'partitionBy(3)',
    apply: (r) => r.partitionBy(3),
    expect: (r) => (r.partitioner?.equals(new HashPartitioner(3)) ? 'same' : new HashPartitioner(3)),
  },
  {
    name: 'partitionBy(5)',
    apply: (r) => r.partitionBy(5),
    expect: (r) => (r.partitioner?.equals(new HashPartitioner(5)) ? 'same' : new HashPartitioner(5)),
  },
  { name: 'mapPartitions(keep)', apply: (r) => r.mapPartitions((it) => it, true), expect: keep },
  { name: 'mapPartitions', apply: (r) => r.mapPartitions((it) => it), expect: () => undefined },
  { name: 'mapPartitionsWithIndex(keep)', apply: (r) => r.mapPartitionsWithIndex((_i, it) => it, true), expect: keep },
  { name: 'mapPartitionsWithIndex', apply: (r) => r.mapPartitionsWithIndex((_i, it) => it), expect: () => undefined },
  // SparkContext.union: a PartitionerAwareUnionRDD when every input has the same partitioner.
  { name: 'union', apply: (r, o) => r.union(o), expect: (r, o) => (r.partitioner?.equals(o.partitioner) ? o.partitioner : undefined) },
  // RDD.distinct: mapPartitions(preservesPartitioning = true) when partitioned and the count is unchanged.
  { name: 'distinct()', apply: (r) => r.distinct(), expect: keep },
  { name: 'distinct(2)', apply: (r) => r.distinct(2), expect: (r) => (r.getNumPartitions() === 2 ? r.partitioner : undefined) },
  {
    name: 'zipPartitions(keep)',
    apply: (r) =>
      r.zipPartitions(
        r.mapValues(() => 0),
        (xs) => xs,
        true,
      ),
    expect: keep,
  },
  { name: 'zipPartitions', apply: (r) => r.zipPartitions(r, (xs) => xs), expect: () => undefined },
  { name: 'cache', apply: (r) => r.cache(), expect: () => 'same' },
  { name: 'setName', apply: (r) => r.setName('named'), expect: () => 'same' },
  { name: 'map', apply: (r) => r.map(([k, v]) => [k, v] as [string, number]), expect: () => undefined },
  { name: 'flatMap', apply: (r) => r.flatMap((kv) => [kv]), expect: () => undefined },
  { name: 'keyBy', apply: (r) => r.keyBy(([k]) => k).mapValues(([, v]) => v), expect: () => undefined },
  { name: 'zip', apply: (r) => r.zip(r).map(([kv]) => kv), expect: () => undefined },
  { name: 'coalesce(2)', apply: (r) => r.coalesce(2), expect: () => undefined },
  { name: 'repartition(3)', apply: (r) => r.repartition(3), expect: () => undefined },
];

describe('which operators keep a partitioner (Spark rules)', () => {
  const ctx = useContext('local[2]');

  /** Applies `step` to `r`, checking the result against Spark's rule; returns the result. */
  function checkStep(step: Step, r: Pairs, other: Pairs): Pairs {
    const want = step.expect(r, other);
    const next = step.apply(r, other);
    if (want === 'same') expect(next, step.name).toBe(r);
    else if (want === undefined) expect(next.partitioner, step.name).toBeUndefined();
    else {
      expect(next.partitioner?.equals(want), `${step.name}: ${String(next.partitioner?.numPartitions)}`).toBe(true);
      expect(next.getNumPartitions(), step.name).toBe(want.numPartitions);
    }
    return next;
  }
  const otherOf = (): Pairs =>
    ctx()
      .parallelize<[string, number]>(
        [
          ['a', 100],
          ['c', 200],
          ['h', 300],
        ],
        2,
      )
      .partitionBy(3);

  it.each(STEPS.map((s) => [s.name, s] as const))('%s, from a hash-partitioned and from an unpartitioned RDD', (_name, step) => {
    const xs = KEYS.map((k, i) => [k, i] as [string, number]);
    checkStep(step, ctx().parallelize(xs, 2).partitionBy(3), otherOf());
    checkStep(step, ctx().parallelize(xs, 2).partitionBy(5), otherOf());
    checkStep(step, ctx().parallelize(xs, 2), otherOf());
  });

  it('random chains: the partitioner after each step is Spark’s, and every key sits where it says', async () => {
    const data = fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.integer({ min: -20, max: 20 })), { maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(
        data,
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.array(fc.constantFrom(...STEPS), { minLength: 1, maxLength: 5 }),
        async (xs, slices, startPartitioned, steps) => {
          const sc = ctx();
          const other = otherOf();
          let r: Pairs = sc.parallelize(xs, slices);
          if (startPartitioned) r = r.partitionBy(3);
          for (const step of steps) r = checkStep(step, r, other);
          // A kept partitioner is the truth: each key in the partition it names.
          const p = r.partitioner;
          if (p !== undefined) {
            const parts = await r.glom().collect();
            parts.forEach((part, i) => {
              for (const [k] of part) expect(p.getPartition(k), `key ${k} of ${steps.map((s) => s.name).join(' > ')}`).toBe(i);
            });
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a join after a partitioner-keeping chain is narrow: its inputs are not shuffled again', async () => {
    const sc = ctx();
    const a = sc
      .parallelize<[string, number]>(
        KEYS.map((k, i) => [k, i]),
        2,
      )
      .partitionBy(3);
    const b = sc
      .parallelize<[string, number]>(
        KEYS.map((k, i) => [k, 10 * i]),
        3,
      )
      .partitionBy(3);
    const left = a
      .mapValues((v) => v + 1)
      .filter(([, v]) => v > 1)
      .zipPartitions(a, (xs) => xs, true);
    const joined = left.join(b.distinct());
    expect(joined.dependencies.length).toBe(1);
    const cogrouped = joined.dependencies[0]!.rdd;
    expect(cogrouped.dependencies.map((d) => d.type)).toEqual(['narrow', 'narrow']);
    expect(sorted(await joined.collect())).toEqual(sorted(KEYS.slice(1).map((k, i) => [k, [i + 2, 10 * (i + 1)]])));
  });
});
