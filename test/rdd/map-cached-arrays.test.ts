/**
 * A map over a partition cached as an array (k-means' points) runs in one loop of its own (`mapArray` in
 * rdd/mapped-rdd.ts) instead of the cache reader's per-element sink and the step's closure. The same map over the
 * same data not cached takes the general step, so the two must agree exactly: elements of every kind (number rows,
 * which stay arrays in the cache, next to strings, objects, null), functions returning pairs with keys of every
 * kind, non-pairs, or both, into reduceByKey (the combine takes a pair's halves), groupByKey, collect and count;
 * evicted blocks recomputed; errors (a throw, a Promise, a non-pair into a shuffle) with the same messages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Context, capture, type RDD } from 'kindling';
import { sameResult as same } from './helpers.js';

const key = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 6 }) },
  { weight: 3, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { weight: 3, arbitrary: fc.constantFrom('a', 'ba', 'é', '', 'a longer word') },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, NaN, 0.5, 2 ** 31, [1, 2], { x: 1 }, null) },
);
/** Mostly rows of numbers (points), so that a partition stays an array in the cache rather than columns. */
const element = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.double({ noNaN: false }), { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('s', 3, null, { a: 1 }, [], [1, 'x']) },
);
/** What the map returns for element `x` at position `i` of a seeded choice: a pair, a non-pair, or either. */
const SHAPES = ['pair', 'nested', 'mixed', 'same'] as const;

async function compare(
  sc: Context,
  data: unknown[],
  keys: unknown[],
  slices: number,
  partitions: number,
  shape: (typeof SHAPES)[number],
): Promise<void> {
  const f = capture({ keys, shape }, (x: unknown): unknown => {
    const k = keys[(Array.isArray(x) ? x.length : 0) % keys.length];
    if (shape === 'pair') return [k, x];
    // k-means' shape: a key and a triple holding the element itself.
    if (shape === 'nested') return [k, [x, 1, Array.isArray(x) ? x.length : 0]];
    if (shape === 'mixed') return Array.isArray(x) && x.length % 2 === 0 ? [k, x] : x;
    return x;
  });
  const cached = sc.parallelize(data, slices).cache();
  const plain = sc.parallelize(data, slices);
  const fast = cached.map(f) as RDD<[unknown, unknown]>;
  const slow = plain.map(f) as RDD<[unknown, unknown]>;
  expect(same(await fast.collect(), await slow.collect())).toBe(true);
  expect(await fast.count()).toBe(await slow.count());
  if (shape === 'pair' || shape === 'nested') {
    // Combiners must not be changed in place: the first one of a key may be a cached element.
    const merge = (a: unknown, b: unknown): unknown => [a, b];
    expect(same(await fast.reduceByKey(merge, partitions).collect(), await slow.reduceByKey(merge, partitions).collect())).toBe(true);
    expect(same(await fast.groupByKey(partitions).collect(), await slow.groupByKey(partitions).collect())).toBe(true);
  }
  // The cache still holds the elements as they were.
  expect(same(await cached.collect(), data)).toBe(true);
  cached.unpersist();
}

describe.each(['local', 'local[2]'] as const)('a map over a partition cached as an array (%s)', (master) => {
  it('gives what the general step gives (property)', async () => {
    const sc = new Context({ master, progress: false, hints: false });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(element, { maxLength: 60 }),
          fc.array(key, { minLength: 1, maxLength: 5 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 3 }),
          fc.constantFrom(...SHAPES),
          async (data, keys, slices, partitions, shape) => compare(sc, data, keys, slices, partitions, shape),
        ),
        { numRuns: master === 'local' ? 15 : 25 },
      );
      // Empty partitions.
      await compare(sc, [[1, 2]], [0], 4, 2, 'pair');
      await compare(sc, [], [0], 2, 2, 'nested');
    } finally {
      await sc.stop();
    }
  });

  it('k-means over cached points: the same centers as over the points not cached', async () => {
    const sc = new Context({ master, progress: false, hints: false });
    try {
      const points = Array.from({ length: 3_000 }, (_, i) => [Math.sin(i) * 3, Math.cos(i * 7) * 2, (i % 17) / 5]);
      const centers = points.slice(0, 4);
      const closest = (p: number[], cs: number[][]): [number, number] => {
        let best = 0;
        let bestDist = Infinity;
        for (let c = 0; c < cs.length; c++) {
          let d = 0;
          for (let j = 0; j < p.length; j++) d += (p[j]! - cs[c]![j]!) ** 2;
          if (d < bestDist) [best, bestDist] = [c, d];
        }
        return [best, bestDist];
      };
      type Stats = [number[], number, number];
      const step = (rdd: RDD<number[]>) =>
        rdd
          .map(
            capture({ centers, closest }, (p: number[]): [number, Stats] => {
              const [c, d] = closest(p, centers);
              return [c, [p, 1, d]];
            }),
          )
          .reduceByKey(([s1, n1, d1]: Stats, [s2, n2, d2]: Stats): Stats => [s1.map((v, j) => v + s2[j]!), n1 + n2, d1 + d2], 2)
          .collect();
      const cached = sc.parallelize(points, 3).cache();
      const fast = await step(cached);
      expect(same(fast, await step(sc.parallelize(points, 3)))).toBe(true);
      // Again, now read from the cache, which the first job filled: the points are unchanged.
      expect(same(await step(cached), fast)).toBe(true);
      expect(same(await cached.collect(), points)).toBe(true);
    } finally {
      await sc.stop();
    }
  });

  it('fails as the general step does: a throw, a Promise, a non-pair into a shuffle', async () => {
    const sc = new Context({ master, progress: false, hints: false, maxTaskFailures: 1 });
    try {
      // Only the second partition ([2, 3], [4, 4]) fails, so that which task fails first does not decide the message.
      const data = [
        [1, 1],
        [2, 3],
        [4, 4],
      ];
      const message = async (run: () => Promise<unknown>): Promise<string> => {
        try {
          await run();
        } catch (e) {
          // Without the worker's stack frames, which differ by path.
          return (e as Error).message
            .split('\n')
            .filter((line) => !/^\s+at /.test(line))
            .join('\n')
            .replace(/\d+/g, 'n'); // ids of jobs, stages, RDDs and workers differ between the two runs
        }
        return 'no error';
      };
      const both = async (make: (rdd: RDD<number[]>) => RDD<unknown>, act: (rdd: RDD<unknown>) => Promise<unknown>): Promise<[string, string]> => {
        const cached = sc.parallelize(data, 2).setName('points').cache();
        await cached.count();
        const fast = await message(() => act(make(cached).setName('mapped')));
        const slow = await message(() => act(make(sc.parallelize(data, 2).setName('points')).setName('mapped')));
        cached.unpersist();
        return [fast, slow];
      };
      const [throwFast, throwSlow] = await both(
        (rdd) =>
          rdd.map((p) => {
            if (p[0] === 2) throw new Error('boom');
            return p;
          }),
        (rdd) => rdd.collect(),
      );
      expect(throwFast).toMatch(/boom/);
      expect(throwFast).toMatch(/mapped/);
      expect(throwFast).toBe(throwSlow);
      const [promiseFast, promiseSlow] = await both(
        (rdd) => rdd.map((p) => (p[0] === 2 ? Promise.resolve(p) : p)),
        (rdd) => rdd.collect(),
      );
      expect(promiseFast).toMatch(/returned a Promise/);
      expect(promiseFast).toBe(promiseSlow);
      const [pairFast, pairSlow] = await both(
        (rdd) => rdd.map((p) => (p[0] === 2 ? p[0] : p)),
        (rdd) => (rdd as RDD<[number, number]>).reduceByKey((a, b) => a + b).collect(),
      );
      expect(pairFast).toMatch(/needs pairs \[key, value\], but RDD n \(mapped\) produced /);
      expect(pairFast).toBe(pairSlow);
    } finally {
      await sc.stop();
    }
  });
});
