/**
 * A map whose sink is the shuffle writer's combine hands each pair its function returns on as key and value
 * (`MappedRDD`'s map step, `pairsOf`; the combine's `addKV`), so that the pair is read where it was made. The same
 * program with `filter(() => true)` after the map takes the element path (a filter's step offers no halves), so
 * the two must agree exactly: pairs into reduceByKey, foldByKey, aggregateByKey, combineByKey and groupByKey, keys
 * of every kind (strings only, then any kind after strings), values of any kind, results that are not pairs,
 * empty partitions and spills; errors the same, naming the same RDD. The worker-side step's unit spec is in
 * flatmap-arrays.test.ts, beside the flatMap's.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Context, capture, type RDD } from 'kindling';
import { sameResult as same } from './helpers.js';
import type { TaskEndEvent } from '../../src/scheduler/events.js';

type P = [unknown, unknown];
const word = fc.constantFrom('a', 'ba', 'é', '', 'a longer word', 'x'.repeat(20), '😀');
const key = fc.oneof(
  { weight: 20, arbitrary: word },
  { weight: 3, arbitrary: fc.integer({ min: -5, max: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, NaN, 0.5, 2 ** 31, [1, 2], { x: 1 }, null) },
);
const value = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -9, max: 9 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, NaN, 0.1, 's') },
);
/** Each row is split into tokens; a token is mapped to a pair of it and a value, or (rarely) left as it is. */
const rows = fc.array(fc.array(fc.tuple(key, value), { maxLength: 12 }), { maxLength: 60 });

async function compareAll(sc: Context, data: P[][], slices: number, partitions: number, stringsOnly: boolean): Promise<void> {
  const rowsIn = stringsOnly ? data.map((r) => r.map(([k, v]): P => [String(k), v])) : data;
  const input = sc.parallelize(rowsIn, slices).flatMap((row) => row);
  // The user's map makes a new pair from each element, as `(w) => [w, 1]` does.
  const fast = input.map((kv: P): P => [kv[0], kv[1]]);
  const slow = input.map((kv: P): P => [kv[0], kv[1]]).filter(() => true);
  const sum = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' ? a + b : `${String(a)}+${String(b)}`);
  const both = async (f: (r: RDD<P>) => RDD<unknown>): Promise<void> => {
    expect(same(await f(fast).collect(), await f(slow).collect())).toBe(true);
  };
  await both((r) => r.reduceByKey(sum, partitions));
  await both((r) => r.foldByKey(0, sum, partitions));
  await both((r) =>
    r.aggregateByKey(
      'z',
      (c, v) => `${String(c)}|${String(v)}`,
      (a, b) => `${String(a)}&${String(b)}`,
      partitions,
    ),
  );
  await both((r) =>
    r.combineByKey(
      (v) => [v],
      (c: unknown[], v) => [...c, v],
      (a: unknown[], b: unknown[]) => [...a, ...b],
      partitions,
    ),
  );
  await both((r) => r.groupByKey(partitions));
}

describe.each(['local', 'local[2]'] as const)('a map handing its pairs to the combine as key and value (%s)', (master) => {
  it('gives what the element path gives, for keys of every kind and of strings only (property)', async () => {
    const sc = new Context({ master, progress: false, hints: false });
    try {
      await fc.assert(
        fc.asyncProperty(
          rows,
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 4 }),
          fc.boolean(),
          async (data, slices, partitions, strings) => compareAll(sc, data as P[][], slices, partitions, strings),
        ),
        { numRuns: master === 'local' ? 10 : 15 },
      );
      // Empty partitions: one row into four slices, and nothing at all.
      await compareAll(
        sc,
        [
          [
            ['a', 1],
            ['a', 2],
          ],
        ],
        4,
        3,
        true,
      );
      await compareAll(sc, [], 2, 2, false);
    } finally {
      await sc.stop();
    }
  });

  it('fails as the element path does when the function returns something that is not a pair', async () => {
    const sc = new Context({ master, progress: false, hints: false, maxTaskFailures: 1 });
    try {
      const message = async (rdd: RDD<P>): Promise<string> => {
        try {
          await rdd.reduceByKey((a, b) => (a as number) + (b as number)).collect();
        } catch (e) {
          return (e as Error).message;
        }
        return 'no error';
      };
      const input = sc.parallelize(['a', 'b', 'three'], 1);
      const toPair = capture({}, (w: string) => (w.length > 2 ? ([w, 1, 2] as unknown as P) : ([w, 1] as P)));
      const fast = await message(input.map(toPair).setName('pairs'));
      const slow = await message(
        input
          .map(toPair)
          .setName('pairs')
          .filter(() => true),
      );
      expect(fast).toMatch(/needs pairs \[key, value\], but RDD \d+ \(pairs\) produced/);
      expect(slow).toMatch(/needs pairs \[key, value\], but RDD \d+ \(filter at .*\) produced/);
    } finally {
      await sc.stop();
    }
  });
});

describe('word counts through key and value, under pressure', () => {
  it('spills the combine and gives the counts of the element path', async () => {
    // A shuffle pool of ~520 KB per worker: the map-side combine of 30k distinct words spills.
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 256, shuffleFraction: 0.002 } });
    const spills: number[] = [];
    sc.events.on('taskEnd', (e: TaskEndEvent) => void spills.push(e.metrics?.spillCount ?? 0));
    try {
      const lines = Array.from({ length: 6_000 }, (_, i) => Array.from({ length: 10 }, (_, j) => `w${(i * 7 + j * 131) % 30_011}`).join(' '));
      const words = sc.parallelize(lines, 4).flatMap((l) => l.split(' '));
      const count = async (r: RDD<P>) => new Map((await r.reduceByKey((a, b) => (a as number) + (b as number)).collect()) as P[]);
      const fast = await count(words.map((w): P => [w, 1]));
      const slow = await count(words.map((w): P => [w, 1]).filter(() => true));
      expect(fast.size).toBeGreaterThan(20_000);
      expect(same([...fast].sort(), [...slow].sort())).toBe(true);
      expect(spills.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await sc.stop();
    }
  });
});
