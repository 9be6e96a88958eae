/**
 * End to end on real workers: shuffles of many map tasks into many reducers (Spark runs 1000 x 2000 routinely), where
 * almost every (map, reducer) bucket is empty. Reducers read only the buckets with records (MapOutputTracker.reads),
 * which must give what the plain computation gives, in both engines and on local-cluster executors, with empty
 * partitions everywhere, and with a lost map output still recomputed. Before reducers skipped empty buckets, the
 * 1000 x 2001 repartition below cost ~44 s of CPU on local[2] (bench/wide-shuffle.ts).
 */
import { describe, expect, it } from 'vitest';
import { Context, type SchedulerEvent } from 'kindling';

/** Heavy at load 20+ on two cores: a thousand map tasks and two thousand reduce tasks. */
const HEAVY_MS = 240_000;

const plainSums = (n: number, keys: number): number[][] => {
  const sums = new Map<number, number>();
  for (let i = 0; i < n; i++) sums.set(i % keys, (sums.get(i % keys) ?? 0) + i);
  return [...sums].sort((a, b) => a[0] - b[0]);
};

describe('shuffles of many map tasks into many reducers', () => {
  it(
    'a 1000 x 2001 repartition and reduceByKey on local[2] give the plain results',
    async () => {
      const sc = new Context({ master: 'local[2]', progress: false, hints: false });
      try {
        const n = 20_000;
        const spread = sc.range(0, n, 1, 1000).repartition(2001);
        expect(spread.getNumPartitions()).toBe(2001);
        const spreadParts = await spread.glom().collect();
        expect(spreadParts.length).toBe(2001);
        expect(spreadParts.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        // 997 keys into 2001 reducers: over half of the reduce partitions get nothing from any map.
        const sums = sc
          .range(0, n, 1, 1000)
          .map((i): [number, number] => [i % 997, i])
          .reduceByKey((a, b) => a + b, 2001);
        const parts = await sums.glom().collect();
        expect(parts.filter((xs) => xs.length === 0).length).toBeGreaterThan(1000);
        expect(parts.flat().sort((a, b) => a[0] - b[0])).toEqual(plainSums(n, 997));
      } finally {
        await sc.stop();
      }
    },
    HEAVY_MS,
  );

  it('empty map partitions and empty shuffles: nothing read, nothing lost', async () => {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false });
    try {
      expect((await sc.range(0, 10, 1, 100).repartition(300).collect()).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
      expect(await sc.parallelize<number>([], 50).repartition(120).count()).toBe(0);
      expect(
        await sc
          .parallelize<[number, number]>([], 7)
          .reduceByKey((a, b) => a + b, 40)
          .collect(),
      ).toEqual([]);
    } finally {
      await sc.stop();
    }
  });

  it(
    'the mapreduce engine (its disk shuffle) gives the same results for a 200 x 401 shuffle',
    async () => {
      const sc = new Context({ master: 'local[2]', engine: 'mapreduce', progress: false, hints: false });
      try {
        const n = 4000;
        expect((await sc.range(0, n, 1, 200).repartition(401).collect()).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        const sums = sc
          .range(0, n, 1, 200)
          .map((i): [number, number] => [i % 97, i])
          .reduceByKey((a, b) => a + b, 401);
        expect((await sums.collect()).sort((a, b) => a[0] - b[0])).toEqual(plainSums(n, 97));
      } finally {
        await sc.stop();
      }
    },
    HEAVY_MS,
  );

  it(
    'a worker lost between two jobs over a wide shuffle: its map outputs are computed again, the results unchanged',
    async () => {
      const sc = new Context({ master: 'local[2]', progress: false, hints: false });
      const events: SchedulerEvent[] = [];
      sc.events.onAny((e) => void events.push(e));
      try {
        const n = 6000;
        const sums = sc
          .range(0, n, 1, 200)
          .map((i): [number, number] => [i % 301, i])
          .reduceByKey((a, b) => a + b, 700);
        expect((await sums.collect()).sort((a, b) => a[0] - b[0])).toEqual(plainSums(n, 301));
        await sc.faults.killWorker(1);
        const before = events.length;
        expect((await sums.collect()).sort((a, b) => a[0] - b[0])).toEqual(plainSums(n, 301));
        // The second job ran the map stage again (for the lost worker's outputs), not only the reduce stage.
        expect(events.slice(before).filter((e) => e.type === 'stageSubmitted').length).toBe(2);
        expect(events.some((e) => e.type === 'workerLost')).toBe(true);
      } finally {
        await sc.stop();
      }
    },
    HEAVY_MS,
  );
});
