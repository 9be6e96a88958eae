/**
 * A flatMap whose sink is a shuffle writer hands each array its function returns to the writer whole
 * (`MappedRDD`'s flatMap step, `manyOf`; test/shuffle/many-records.test.ts checks the writer's side). The same
 * program with an identity `map` after the flatMap takes the per-element path (a map's step offers no arrays), so
 * the two must agree exactly: any flatMap producing pairs into reduceByKey, groupByKey or partitionBy, keys and values
 * of every kind, empty arrays and iterables that are not arrays, empty partitions, spills, PageRank's join of a cached
 * links RDD with cached ranks, and evicted blocks recomputed from lineage; errors the same, naming the same RDDs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Context, capture, type RDD } from 'kindling';
import { manyOf, pairsOf, withMany, withPairs } from '../../src/core/many-sink.js';
import { MappedRDD, ParallelCollectionRDD, WORKER_RDD_CONTEXT, type TaskContext } from '../../src/rdd/index.js';
import { sameResult as same } from './helpers.js';
import { stubTaskContext } from '../fixtures/task-context.js';
import type { TaskEndEvent } from '../../src/scheduler/events.js';

type P = [unknown, unknown];
const key = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 3, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { weight: 3, arbitrary: fc.constantFrom('a', 'ba', 'é', '', 'a longer word') },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, NaN, 0.5, 2 ** 31, [1, 2], { x: 1 }, null) },
);
const value = fc.oneof(fc.integer({ min: -9, max: 9 }), fc.double(), fc.constantFrom<unknown>(-0, NaN, 0.1, 's'));
/** Each row lists the records the flatMap returns for it (often none). */
const rows = fc.array(fc.array(fc.tuple(key, value), { maxLength: 12 }), { maxLength: 80 });

/** How the flatMap returns a row's records: the array itself, a copy made by map, or a Set (an Iterable, not an array). */
const SHAPES: Array<(row: P[]) => Iterable<P>> = [(row) => row, (row) => row.map((kv): P => [kv[0], kv[1]]), (row) => new Set(row)];

async function compareAll(sc: Context, data: P[][], slices: number, partitions: number, shape: number): Promise<void> {
  const toIterable = SHAPES[shape]!;
  const f = capture({ toIterable }, (row: P[]) => toIterable(row));
  const input = sc.parallelize(data, slices);
  const fast = input.flatMap(f) as RDD<P>;
  const slow = input.flatMap(f).map((kv: P) => kv) as RDD<P>;
  const sum = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' ? a + b : `${String(a)}+${String(b)}`);
  expect(same(await fast.reduceByKey(sum, partitions).collect(), await slow.reduceByKey(sum, partitions).collect())).toBe(true);
  expect(same(await fast.groupByKey(partitions).collect(), await slow.groupByKey(partitions).collect())).toBe(true);
  expect(same(await fast.partitionBy(partitions).collect(), await slow.partitionBy(partitions).collect())).toBe(true);
}

describe.each(['local', 'local[2]'] as const)('a flatMap handing its arrays to the shuffle (%s)', (master) => {
  it('gives what the per-element path gives, into reduceByKey, groupByKey and partitionBy (property)', async () => {
    const sc = new Context({ master, progress: false, hints: false });
    try {
      await fc.assert(
        fc.asyncProperty(
          rows,
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 4 }),
          fc.nat(SHAPES.length - 1),
          async (data, slices, partitions, shape) => compareAll(sc, data as P[][], slices, partitions, shape),
        ),
        { numRuns: master === 'local' ? 12 : 20 },
      );
      // Empty partitions: one row into four slices, and nothing at all.
      await compareAll(
        sc,
        [
          [
            [1, 1],
            [1, 2],
          ],
        ],
        4,
        3,
        0,
      );
      await compareAll(sc, [], 2, 2, 0);
    } finally {
      await sc.stop();
    }
  });

  it('fails as the per-element path does on an element that is not a pair', async () => {
    const sc = new Context({ master, progress: false, hints: false, maxTaskFailures: 1 });
    try {
      const input = sc.parallelize([[[1, 2], 3, [4, 5]]], 1);
      const message = async (rdd: RDD<P>): Promise<string> => {
        try {
          await rdd.reduceByKey((a, b) => (a as number) + (b as number)).collect();
        } catch (e) {
          return (e as Error).message;
        }
        return 'no error';
      };
      const fast = await message(input.flatMap((row) => row as unknown as P[]).setName('contributions'));
      const slow = await message(
        input
          .flatMap((row) => row as unknown as P[])
          .setName('contributions')
          .map((kv) => kv),
      );
      expect(fast).toMatch(/needs pairs \[key, value\], but RDD \d+ \(contributions\) produced 3/);
      expect(slow).toMatch(/needs pairs \[key, value\], but RDD \d+ \(map at .*\) produced 3/);
    } finally {
      await sc.stop();
    }
  });
});

describe('PageRank through arrays, under pressure', () => {
  it('a join of cached links with cached ranks, spills and evicted blocks: the same ranks as the per-element path', async () => {
    // A shuffle pool of ~520 KB per worker (combines spill) and a storage pool of 64 KB (blocks are evicted).
    const sc = new Context({
      master: 'local[2]',
      progress: false,
      hints: false,
      memory: { workerMB: 256, shuffleFraction: 0.002, storageFraction: 64 / (256 * 1024) },
    });
    const spills: number[] = [];
    sc.events.on('taskEnd', (e: TaskEndEvent) => void spills.push(e.metrics?.spillCount ?? 0));
    try {
      const edges = Array.from({ length: 40_000 }, (_, i): [number, number] => [(i * 7919) % 3_000, i % 24_989]);
      const links = sc.parallelize(edges, 4).distinct().groupByKey().cache();
      const run = async (perElement: boolean): Promise<Array<[number, number]>> => {
        let ranks = links.mapValues(() => 1.0);
        for (let i = 0; i < 2; i++) {
          const contribs = links
            .join(ranks)
            .values()
            .flatMap(([urls, rank]) => {
              const share = rank / urls.length;
              return urls.map((url): [number, number] => [url, share]);
            });
          const byKey = perElement ? contribs.map((kv) => kv) : contribs;
          const next = byKey
            .reduceByKey((a, b) => a + b)
            .mapValues((s) => 0.15 + 0.85 * s)
            .cache();
          await next.count();
          ranks = next;
        }
        return (await ranks.collect()).sort((a, b) => a[0] - b[0]);
      };
      const fast = await run(false);
      const slow = await run(true);
      expect(fast.length).toBeGreaterThan(1000);
      expect(same(fast, slow)).toBe(true);
      expect(spills.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      // Not every block of the links fitted: the others were computed again from lineage by each join.
      const info = sc.getRDDStorageInfo().find((r) => r.id === links.id);
      expect(info?.numCachedPartitions ?? 0).toBeLessThan(links.getNumPartitions());
    } finally {
      await sc.stop();
    }
  });
});

describe('the arrays a flatMap hands on (worker-side RDDs, one partition)', () => {
  let nextId = 1;
  const id = (label: string) => ({ id: nextId++, label });
  const tc = (rows: unknown[]): TaskContext => stubTaskContext(rows);

  it('an array result goes whole to a sink that takes arrays; any other iterable, and any other sink, element by element', () => {
    const rows = [[1, 2], [], [3]];
    const leaf = new ParallelCollectionRDD<number[]>(WORKER_RDD_CONTEXT, 1, id('rows'));
    const asSet = new MappedRDD(leaf, 'flatMap', (row: number[]) => new Set(row), id('as set'));
    const asArray = new MappedRDD(leaf, 'flatMap', (row: number[]) => row, id('as array'));
    const calls: unknown[] = [];
    const sink = withMany(
      (x: unknown) => void calls.push(['one', x]),
      (xs) => void calls.push(['many', [...xs]]),
    );
    asArray.forEach(0, tc(rows), sink);
    expect(calls).toEqual([
      ['many', [1, 2]],
      ['many', []],
      ['many', [3]],
    ]);
    calls.length = 0;
    asSet.forEach(0, tc(rows), sink);
    expect(calls).toEqual([
      ['one', 1],
      ['one', 2],
      ['one', 3],
    ]);
    calls.length = 0;
    // A step after the flatMap is the flatMap's sink, and it takes no arrays.
    const mapped = new MappedRDD(asArray, 'map', (x: number) => x * 10, id('times ten'));
    mapped.forEach(0, tc(rows), sink);
    expect(calls).toEqual([
      ['one', 10],
      ['one', 20],
      ['one', 30],
    ]);
    expect(manyOf((x: unknown) => void x)).toBeUndefined();
  });

  it('a pair goes to a sink that takes halves as key and value; anything else, and any other sink, whole', () => {
    const leaf = new ParallelCollectionRDD<unknown>(WORKER_RDD_CONTEXT, 1, id('rows'));
    const mapped = new MappedRDD(leaf, 'map', (x: unknown) => (typeof x === 'string' ? [x, x.length] : x), id('to pairs'));
    const calls: unknown[] = [];
    const sink = withPairs(
      (x: unknown) => void calls.push(['one', x]),
      (k, v) => void calls.push(['kv', k, v]),
    );
    mapped.forEach(0, tc(['ab', 7, 'c', [1, 2, 3]]), sink);
    expect(calls).toEqual([
      ['kv', 'ab', 2],
      ['one', 7],
      ['kv', 'c', 1],
      ['one', [1, 2, 3]],
    ]);
    calls.length = 0;
    mapped.forEach(0, tc(['ab']), (x: unknown) => void calls.push(['plain', x]));
    expect(calls).toEqual([['plain', ['ab', 2]]]);
    expect(pairsOf((x: unknown) => void x)).toBeUndefined();
  });
});
