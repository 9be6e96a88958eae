/**
 * collectAsMap merges each partition's result as it arrives, in partition order (the DAG scheduler hands results
 * over once each, as soon as every earlier partition is in), so the driver fills its map while later tasks still
 * run. Whatever order the tasks end in, the map must be the one built from all the pairs in partition order:
 * same keys, same first-seen key objects, same order, last value wins; a failed or killed task's rerun must not
 * be applied twice; a job cancelled or failing midway rejects. A hash-partitioned RDD (no key in two partitions) is
 * merged in arrival order instead: the same keys, key objects and values, each partition's keys together in its
 * own order, the partitions in whatever order they ended.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capture, type Context, type RDD, type SchedulerEvent } from 'kindling';
import { structuralMap } from '../../src/core/structural-map.js';
import { entries, expectPartitionsInSomeOrder } from './map-order.js';
import { smallKey, wideKey } from '../core/key-arbitraries.js';
import { useContexts } from '../scheduler/helpers.js';

const context = useContexts({ hints: false });

/** Blocks the worker thread for `ms`, so a partition ends after the others. */
const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * `rdd`'s partitions each delayed by its own number of milliseconds, keeping its partitioner (as a slow mapValues
 * would).
 */
function delayedKeeping(rdd: RDD<[unknown, unknown]>, delays: number[]): RDD<[unknown, unknown]> {
  return rdd.mapPartitionsWithIndex(
    capture({ delays, sleep }, (i: number, it: Iterable<[unknown, unknown]>) => {
      sleep(delays[i] ?? 0);
      return it;
    }),
    true,
  );
}

/**
 * `rdd` cached, then its partition 0 delayed by `ms`: each task reads its own worker's cached block, so partition
 * 1's task needs nothing from the worker that sleeps (a shuffle read would wait for it: a peer answers fetches
 * only between its synchronous computations) and ends first.
 */
async function slowPartitionZero(rdd: RDD<[unknown, unknown]>, ms: number): Promise<RDD<[unknown, unknown]>> {
  const cached = rdd.cache();
  await cached.count();
  return delayedKeeping(cached, [ms, 0]);
}

/** Each partition of `parts` delayed by its own number of milliseconds before it gives its elements. */
function delayed(sc: Context, parts: unknown[][], delays: number[]): RDD<[unknown, unknown]> {
  return sc.parallelize(parts, parts.length).mapPartitionsWithIndex(
    capture({ delays, sleep }, (i: number, it: Iterable<unknown>) => {
      sleep(delays[i]!);
      return [...it].flatMap((p) => p as unknown[]);
    }),
  ) as RDD<[unknown, unknown]>;
}

const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const double = fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 0.5));
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', 'a', '\ud800', '\udc00x', '😀', 'é', '\u0001x', 'x'.repeat(300)));
/** Keys that repeat across partitions (so later partitions overwrite values), of every kind. */
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>('a', 'b', '', 0, -0, 1, NaN, 'NaN', [1, 'k'], { a: 1 }, null) },
  { weight: 4, arbitrary: text },
  { weight: 2, arbitrary: int },
  { weight: 1, arbitrary: double },
  { weight: 1, arbitrary: smallKey },
  { weight: 1, arbitrary: wideKey },
);
const value = fc.oneof(int, double, text, fc.constant(undefined), fc.tuple(int, text), fc.record({ n: int, s: text }));
const pair = fc.tuple(key, value);
/** A partition: empty, short, or long enough (512+) to travel as columns. */
const partition = fc.oneof(
  { weight: 1, arbitrary: fc.constant([] as Array<[unknown, unknown]>) },
  { weight: 4, arbitrary: fc.array(pair, { maxLength: 40 }) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.oneof(text, int), fc.oneof(int, double)), { minLength: 512, maxLength: 900 }) },
);

describe('collectAsMap merging partitions as they arrive', () => {
  it('equals the map of all pairs in partition order, whatever order the partitions end in (property)', async () => {
    const sc = context({ master: 'local[3]' });
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(partition, { minLength: 1, maxLength: 6 })
          .chain((parts) =>
            fc.tuple(fc.constant(parts), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: parts.length, maxLength: parts.length })),
          ),
        async ([parts, delays]) => {
          const rdd = delayed(sc, parts, delays);
          const expected = structuralMap(parts.flat());
          const got = await rdd.collectAsMap();
          expect(entries(got)).toEqual(entries(expected));
          expect(got.size).toBe(expected.size);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a hash-partitioned RDD: merged in arrival order, the same entries as in partition order (property)', async () => {
    const sc = context({ master: 'local[3]' });
    await fc.assert(
      fc.asyncProperty(
        fc.array(partition, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 5, maxLength: 5 }),
        async (input, n, delays) => {
          // Keys repeat within a partition (no combine), never across partitions.
          const partitioned = sc.parallelize(input.flat(), input.length).partitionBy(n);
          const rdd = delayedKeeping(partitioned, delays);
          expect(rdd.partitioner).toBeDefined();
          const parts = (await partitioned.glom().collect()) as Array<Array<[unknown, unknown]>>;
          const got = await rdd.collectAsMap();
          expectPartitionsInSomeOrder(got, parts);
          const expected = structuralMap(parts.flat());
          expect(got.size).toBe(expected.size);
          for (const [k, v] of expected) expect(got.get(k)).toEqual(v);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('reduceByKey into collectAsMap: partition 1 ending first is merged first; a sorted RDD keeps its order', async () => {
    const sc = context();
    const words = Array.from({ length: 3000 }, (_, i) => `w${(i * 7919) % 1100}`);
    const counts = sc
      .parallelize(words, 3)
      .map((w): [string, number] => [w, 1])
      .reduceByKey((a, b) => a + b, 2);
    const slow0 = await slowPartitionZero(counts as RDD<[unknown, unknown]>, 1200);
    const parts = (await counts.glom().collect()) as Array<Array<[unknown, unknown]>>;
    expect(parts[0]!.length).toBeGreaterThan(0);
    expect(parts[1]!.length).toBeGreaterThan(0);
    const got = await slow0.collectAsMap();
    expect(expectPartitionsInSomeOrder(got, parts)).toEqual([1, 0]);
    const plain = new Map<string, number>();
    for (const w of words) plain.set(w, (plain.get(w) ?? 0) + 1);
    expect(new Map([...got].sort())).toEqual(new Map([...plain].sort()));
    // A range partitioner's order is the sort's: partition order, however late partition 0 ends.
    const sorted = await slowPartitionZero(counts.sortByKey(true, 2) as RDD<[unknown, unknown]>, 1200);
    const keys = [...(await sorted.collectAsMap()).keys()] as string[];
    expect(keys).toEqual([...plain.keys()].sort());
  });

  it('in arrival order: a worker killed while partition 0 runs, its rerun applied once, the map the fault-free one', async () => {
    const sc = context();
    const starts: Array<{ stageId: number; partition: number; workerIndex: number }> = [];
    sc.events.on('taskStart', (e) => void starts.push({ stageId: e.stageId, partition: e.partition, workerIndex: e.workerIndex }));
    // The result stage is the last one made (the map stage of partitionBy, rerun after the kill, keeps its id).
    const resultStarts = (): typeof starts => starts.filter((s) => s.stageId === Math.max(...starts.map((t) => t.stageId)));
    const pairs = Array.from({ length: 1500 }, (_, i): [string, number] => [`k${i % 900}`, i]);
    const partitioned = sc.parallelize(pairs, 2).partitionBy(2);
    const parts = (await partitioned.glom().collect()) as Array<Array<[unknown, unknown]>>;
    const rdd = await slowPartitionZero(partitioned, 1500);
    const handed: number[] = [];
    const merged = structuralMap<unknown, unknown>();
    let killed: Promise<void> | undefined;
    const results = await sc.runJob<Array<[unknown, unknown]>>(
      rdd,
      { kind: 'collect' },
      undefined,
      'killed midway',
      (i, r) => {
        handed.push(i);
        for (const [k, v] of r) merged.set(k, v);
        if (i === 1) {
          const slow = resultStarts().find((s) => s.partition === 0);
          expect(slow).toBeDefined();
          killed = sc.faults.killWorker(slow!.workerIndex);
        }
      },
      true,
    );
    await killed;
    expect(handed).toEqual([1, 0]);
    expect(results).toEqual(parts);
    // Partition 0's first attempt died with its worker; its rerun (after the lost map outputs were made again) is
    // what was merged, once.
    expect(resultStarts().filter((s) => s.partition === 0).length).toBeGreaterThanOrEqual(2);
    expect(entries(merged)).toEqual(entries(structuralMap([...parts[1]!, ...parts[0]!])));
  });

  it('in arrival order: a job cancelled after its first result was merged rejects, and nothing more is merged', async () => {
    const sc = context();
    const pairs = Array.from({ length: 100 }, (_, i): [unknown, unknown] => [`k${i}`, i]);
    const rdd = await slowPartitionZero(sc.parallelize(pairs, 2).partitionBy(2), 2000);
    const handed: number[] = [];
    const job = sc.runJob(
      rdd,
      { kind: 'collect' },
      undefined,
      'cancelled',
      (i) => {
        handed.push(i);
        sc.cancelAllJobs();
      },
      true,
    );
    await expect(job).rejects.toThrow(/cancelled/);
    expect(handed).toEqual([1]);
  });

  it('countByValue, merged the same way, counts as one pass over all elements in partition order does (property)', async () => {
    const sc = context({ master: 'local[3]' });
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(fc.array(key, { maxLength: 30 }), { minLength: 1, maxLength: 5 })
          .chain((parts) =>
            fc.tuple(fc.constant(parts), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: parts.length, maxLength: parts.length })),
          ),
        async ([parts, delays]) => {
          const expected = structuralMap<unknown, number>();
          for (const x of parts.flat()) expected.set(x, (expected.get(x) ?? 0) + 1);
          const rdd = delayed(sc, parts, delays) as unknown as RDD<unknown>;
          expect(entries(await rdd.countByValue())).toEqual(entries(expected));
        },
      ),
      { numRuns: 20 },
    );
  });

  it('hands partition 0 to the action while partition 1 still computes, and each once', async () => {
    const sc = context();
    const events: SchedulerEvent[] = [];
    sc.events.onAny((e) => void events.push(e));
    const rdd = delayed(sc, [[['a', 1]], [['b', 2]]], [0, 1500]);
    const handed: Array<[number, unknown, number]> = [];
    const results = await sc.runJob<unknown[]>(rdd, { kind: 'collect' }, undefined, 'streamed', (i, r) => {
      handed.push([i, r, events.filter((e) => e.type === 'taskEnd' || e.type === 'jobEnd').length]);
    });
    expect(results).toEqual([[['a', 1]], [['b', 2]]]);
    expect(handed.map(([i, r]) => [i, r])).toEqual([
      [0, [['a', 1]]],
      [1, [['b', 2]]],
    ]);
    // Partition 0 was handed over before partition 1's task ended (one task end seen, partition 0's).
    expect(handed[0]![2]).toBeLessThan(2);
    expect(events.some((e) => e.type === 'jobEnd')).toBe(true);
  });

  it('a worker killed while a later partition runs: its rerun is applied once, the map is the fault-free one', async () => {
    const sc = context();
    const starts: Array<{ partition: number; workerIndex: number }> = [];
    sc.events.on('taskStart', (e) => void starts.push({ partition: e.partition, workerIndex: e.workerIndex }));
    const parts = [
      Array.from({ length: 600 }, (_, i): [string, number] => [`k${i % 450}`, i]),
      Array.from({ length: 700 }, (_, i): [string, number] => [`k${(i * 7) % 800}`, -i]),
    ];
    const rdd = delayed(sc, parts, [0, 1500]);
    const handed: number[] = [];
    let killed: Promise<void> | undefined;
    const results = await sc.runJob<unknown[]>(rdd, { kind: 'collect' }, undefined, 'killed midway', (i) => {
      handed.push(i);
      if (i === 0) {
        const slow = starts.find((s) => s.partition === 1);
        expect(slow).toBeDefined();
        killed = sc.faults.killWorker(slow!.workerIndex);
      }
    });
    await killed;
    expect(handed).toEqual([0, 1]);
    expect(results).toEqual(parts);
    // Partition 1 ran twice (its first attempt died with its worker), and counted once.
    expect(starts.filter((s) => s.partition === 1).length).toBe(2);
    expect(entries(await rdd.collectAsMap())).toEqual(entries(structuralMap(parts.flat())));
  });

  it('a job cancelled after partition 0 was merged rejects with the cancellation', async () => {
    const sc = context();
    const rdd = delayed(sc, [[['a', 1]], [['b', 2]]], [0, 2000]);
    let merged = 0;
    const job = sc.runJob(rdd, { kind: 'collect' }, undefined, 'cancelled', () => {
      merged++;
      sc.cancelAllJobs();
    });
    await expect(job).rejects.toThrow(/cancelled/);
    expect(merged).toBe(1);
  });

  it('a partition that is not pairs fails collectAsMap once the job is over, naming the RDD, whatever runs after it', async () => {
    const sc = context();
    const rdd = delayed(sc, [[1, 2], [['b', 2]]], [0, 300]);
    await expect(rdd.collectAsMap()).rejects.toThrow(/collectAsMap/);
    // The context is still usable.
    expect([...(await delayed(sc, [[['a', 1]]], [0]).collectAsMap())]).toEqual([['a', 1]]);
  });

  it('the mapreduce engine, whose results are read back from files, merges them after the job, in order', async () => {
    const sc = context({ engine: 'mapreduce' });
    const parts = [
      [
        ['x', 1],
        ['y', 2],
      ],
      [],
      [
        ['x', 3],
        [[1], 4],
      ],
    ];
    const got = await delayed(sc, parts, [200, 0, 0]).collectAsMap();
    expect(entries(got)).toEqual(entries(structuralMap(parts.flat() as Array<[unknown, unknown]>)));
  });
});
