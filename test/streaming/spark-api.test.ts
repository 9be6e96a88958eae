/**
 * The DStream and StreamingContext methods a Spark Streaming user reaches for (DStream.scala,
 * PairDStreamFunctions.scala, StreamingContext.scala, pyspark/streaming), batch by batch on a manual clock against
 * results worked out by hand. The restart side of `getOrCreate` is in get-or-create.test.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IllegalStateError, InvalidArgumentError, ManualClock, StreamingContext, capture } from 'kindling';
import { collectBatches, manual, sortedPairs, useStreamingContext } from './helpers.js';

const byTime = <T>(batches: Array<[number, T[]]>) => batches.map(([t, xs]) => [t, sortedPairs(xs)]);

describe('DStream: per-batch operations Spark has', () => {
  const { sc, dir } = useStreamingContext();

  it('glom and mapPartitionsWithIndex see each batch partition by partition', async () => {
    const { ssc, tick } = manual(sc());
    const nums = ssc.queueStream([sc().parallelize([1, 2, 3, 4], 2), sc().parallelize([5], 1)]);
    const glommed = collectBatches(nums.glom());
    const indexed = collectBatches(
      nums.mapPartitionsWithIndex(function* (i, it) {
        for (const x of it) yield [i, x] as [number, number];
      }),
    );
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(glommed).toEqual([
      [
        1000,
        [
          [1, 2],
          [3, 4],
        ],
      ],
      [2000, [[5]]],
      [3000, []],
    ]);
    expect(byTime(indexed)).toEqual([
      [
        1000,
        [
          [0, 1],
          [0, 2],
          [1, 3],
          [1, 4],
        ],
      ],
      [2000, [[0, 5]]],
      [3000, []],
    ]);
  });

  it('flatMapValues, combineByKey, partitionBy and countByValue(numPartitions), per batch', async () => {
    const { ssc, tick } = manual(sc());
    const pairs = ssc.queueStream<[string, number]>([
      [
        ['a', 1],
        ['b', 2],
        ['a', 3],
      ],
      [['b', 4]],
    ]);
    const flat = collectBatches(pairs.flatMapValues((v) => Array.from({ length: v }, (_, i) => i)));
    const meanParts = collectBatches(
      pairs.combineByKey(
        (v: number): [number, number] => [v, 1],
        ([s, n], v): [number, number] => [s + v, n + 1],
        ([s, n], [t, m]): [number, number] => [s + t, n + m],
        3,
      ),
    );
    const partitioned: Array<[number, number]> = [];
    pairs.partitionBy(4).foreachRDD((rdd, t) => {
      partitioned.push([t.ms, rdd.getNumPartitions()]);
    });
    const keys = pairs.map(([k]) => k);
    const counted = collectBatches(keys.countByValue(5));
    const countParts: number[] = [];
    keys.countByValue(5).foreachRDD((rdd) => {
      countParts.push(rdd.getNumPartitions());
    });
    await ssc.start();
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(byTime(flat)).toEqual([
      [
        1000,
        sortedPairs([
          ['a', 0],
          ['b', 0],
          ['b', 1],
          ['a', 0],
          ['a', 1],
          ['a', 2],
        ]),
      ],
      [
        2000,
        [
          ['b', 0],
          ['b', 1],
          ['b', 2],
          ['b', 3],
        ],
      ],
    ]);
    expect(byTime(meanParts)).toEqual([
      [
        1000,
        [
          ['a', [4, 2]],
          ['b', [2, 1]],
        ],
      ],
      [2000, [['b', [4, 1]]]],
    ]);
    expect(partitioned).toEqual([
      [1000, 4],
      [2000, 4],
    ]);
    expect(byTime(counted)).toEqual([
      [
        1000,
        [
          ['a', 2],
          ['b', 1],
        ],
      ],
      [2000, [['b', 1]]],
    ]);
    expect(countParts).toEqual([5, 5]);
  });

  it('rightOuterJoin and fullOuterJoin with another stream, batch by batch (null on the side without the key)', async () => {
    const { ssc, tick } = manual(sc());
    const users = ssc.queueStream<[string, string]>([
      [
        ['u1', 'ann'],
        ['u2', 'bob'],
      ],
      [],
      [['u5', 'eve']],
    ]);
    const clicks = ssc.queueStream<[string, number]>([
      [
        ['u1', 10],
        ['u3', 30],
      ],
      [['u4', 40]],
      [],
    ]);
    const right = collectBatches(users.rightOuterJoin(clicks));
    const full = collectBatches(users.fullOuterJoin(clicks, 2));
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(byTime(right)).toEqual([
      [
        1000,
        [
          ['u1', ['ann', 10]],
          ['u3', [null, 30]],
        ],
      ],
      [2000, [['u4', [null, 40]]]],
      [3000, []],
    ]);
    expect(byTime(full)).toEqual([
      [
        1000,
        [
          ['u1', ['ann', 10]],
          ['u2', ['bob', null]],
          ['u3', [null, 30]],
        ],
      ],
      [2000, [['u4', [null, 40]]]],
      [3000, [['u5', ['eve', null]]]],
    ]);
  });

  it('groupByKeyAndWindow(window, slide) holds every value of the window, every slide', async () => {
    const { ssc, tick } = manual(sc());
    const pairs = ssc.queueStream<[string, number]>([
      [['a', 1]],
      [
        ['a', 2],
        ['b', 1],
      ],
      [['b', 2]],
      [['a', 3]],
    ]);
    const grouped = collectBatches(pairs.groupByKeyAndWindow(2000, 1000).mapValues((vs) => [...vs].sort((x, y) => x - y)));
    await ssc.start();
    await tick(5);
    await ssc.stop({ stopContext: false });
    // Window (t - 2s, t]: batches t - 1s and t.
    expect(byTime(grouped)).toEqual([
      [1000, [['a', [1]]]],
      [
        2000,
        [
          ['a', [1, 2]],
          ['b', [1]],
        ],
      ],
      [
        3000,
        [
          ['a', [2]],
          ['b', [1, 2]],
        ],
      ],
      [
        4000,
        [
          ['a', [3]],
          ['b', [2]],
        ],
      ],
      [5000, [['a', [3]]]],
    ]);
  });

  it("reduceByKeyAndWindow and reduceByWindow take Spark's positional arguments, with the options form's results", async () => {
    const { ssc, tick } = manual(sc());
    const pairs = ssc.queueStream<[string, number]>([
      [['a', 1]],
      [
        ['a', 2],
        ['b', 5],
      ],
      [['b', 1]],
      [],
      [['a', 4]],
    ]);
    const add = (a: number, b: number) => a + b;
    const sub = (a: number, b: number) => a - b;
    const byOptions = collectBatches(pairs.reduceByKeyAndWindow(add, { window: 3000, slide: 1000 }));
    const scalaForm = collectBatches(pairs.reduceByKeyAndWindow(add, 3000, 1000, 2));
    const defaultSlide = collectBatches(pairs.reduceByKeyAndWindow(add, '3s'));
    const withInverse = collectBatches(pairs.reduceByKeyAndWindow(add, sub, 3000, 1000, 2, ([, n]) => n > 0));
    const noneInverse = collectBatches(pairs.reduceByKeyAndWindow(add, null, 3000, 1000));
    const nums = pairs.map(([, v]) => v);
    const total = collectBatches(nums.reduceByWindow(add, 3000, 1000));
    const totalInverse = collectBatches(nums.reduceByWindow(add, sub, 3000, 1000));
    await ssc.start();
    await tick(6);
    await ssc.stop({ stopContext: false });
    const expected = [
      [1000, [['a', 1]]],
      [
        2000,
        [
          ['a', 3],
          ['b', 5],
        ],
      ],
      [
        3000,
        [
          ['a', 3],
          ['b', 6],
        ],
      ],
      [
        4000,
        [
          ['a', 2],
          ['b', 6],
        ],
      ],
      [
        5000,
        [
          ['a', 4],
          ['b', 1],
        ],
      ],
      [6000, [['a', 4]]],
    ];
    expect(byTime(byOptions)).toEqual(expected);
    expect(byTime(scalaForm)).toEqual(expected);
    expect(byTime(defaultSlide)).toEqual(expected);
    expect(byTime(withInverse)).toEqual(expected);
    expect(byTime(noneInverse)).toEqual(expected);
    // Sums of the windows above; a window with no element gives no element.
    const sums = [
      [1000, [1]],
      [2000, [8]],
      [3000, [9]],
      [4000, [8]],
      [5000, [5]],
      [6000, [4]],
    ];
    expect(total).toEqual(sums);
    expect(totalInverse).toEqual(sums);
  });

  it('the positional forms refuse what Spark would not compile', () => {
    const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock: new ManualClock(0) });
    const pairs = ssc.queueStream<[string, number]>([]);
    const add = (a: number, b: number) => a + b;
    expect(() => pairs.reduceByKeyAndWindow(add, null as never)).toThrow(
      /^reduceByKeyAndWindow expects options \{ window, slide\?, inverse\?, filter\? \}$/,
    );
    // What TypeScript refuses, as a JavaScript caller may write it.
    const untyped = (s: unknown) => s as { reduceByKeyAndWindow(...a: unknown[]): unknown; reduceByWindow(...a: unknown[]): unknown };
    expect(() => untyped(pairs).reduceByKeyAndWindow(add, 3000, 1000, 2, 9)).toThrow(/too many arguments/);
    expect(() => pairs.reduceByKeyAndWindow(add, add, 3000, 1000, 2, 'x' as never)).toThrow(/filter must be a function/);
    expect(() => pairs.reduceByKeyAndWindow(add, 2500)).toThrow(/window.*multiple/i);
    expect(() => untyped(pairs.map(([, v]) => v)).reduceByWindow(add, add, 3000, 1000, 2)).toThrow(/too many arguments/);
    expect(() => untyped(pairs.map(([, v]) => v)).reduceByWindow(add, 3000, 1000, 2)).toThrow(/too many arguments/);
  });

  it('saveAsObjectFiles writes <prefix>-<batch ms>.<suffix> per batch, read back by sc.objectFile', async () => {
    const { ssc, tick } = manual(sc());
    ssc.queueStream([[{ n: 1 }, { n: 2 }], [{ n: 3 }]]).saveAsObjectFiles(path.join(dir(), 'objs'), 'bin');
    await ssc.start();
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(await sc().objectFile<{ n: number }>(path.join(dir(), 'objs-1000.bin')).collect()).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await sc().objectFile<{ n: number }>(path.join(dir(), 'objs-2000.bin')).collect()).toEqual([{ n: 3 }]);
  });
});

describe('StreamingContext: remember and DStream.slice', () => {
  const { sc } = useStreamingContext();

  it('slice(from, to) gives the RDDs of the batches in [from, to], both included, as far as remember reaches', async () => {
    const { ssc, tick } = manual(sc());
    ssc.remember('3s');
    const nums = ssc.queueStream([[1], [2], [3], [4], [5], [6]]).map((x) => x * 10);
    const seen: Array<[number, number[][]]> = [];
    nums.foreachRDD(async (_rdd, t) => {
      const rdds = nums.slice(t.ms - 3000, t.ms);
      seen.push([t.ms, await Promise.all(rdds.map((r) => r.collect()))]);
    });
    await ssc.start();
    await tick(6);
    // After the stream: the last three batches, and times floored to the slide (Spark's alignment).
    const after = nums.slice(4500, 6999);
    expect(await Promise.all(after.map((r) => r.collect()))).toEqual([[40], [50], [60]]);
    await ssc.stop({ stopContext: false });
    expect(seen).toEqual([
      [1000, [[10]]],
      [2000, [[10], [20]]],
      [3000, [[10], [20], [30]]],
      [4000, [[10], [20], [30], [40]]],
      [5000, [[20], [30], [40], [50]]],
      [6000, [[30], [40], [50], [60]]],
    ]);
  });

  it('slice reaches no batch not cut yet: a later toTime stops at the newest batch, and that batch still gets its data', async () => {
    const { ssc, tick } = manual(sc());
    ssc.remember(5000);
    const nums = ssc.queueStream([[1], [2], [3]]);
    const sliced: number[][] = [];
    const seen = collectBatches(nums);
    nums.foreachRDD(async (_rdd, t) => {
      if (t.ms === 1000) sliced.push(...(await Promise.all(nums.slice(1000, 60_000).map((r) => r.collect()))));
    });
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(sliced).toEqual([[1]]);
    // Had slice computed batch 2000 before it was cut, that batch would have been an empty RDD for good.
    expect(seen).toEqual([
      [1000, [1]],
      [2000, [2]],
      [3000, [3]],
    ]);
  });

  it('without remember a stream keeps one batch: slicing further back fails naming the stream and remember', async () => {
    const { ssc, tick } = manual(sc());
    const nums = ssc.queueStream([[1], [2], [3]]);
    const errors: string[] = [];
    const lastOnly: number[][] = [];
    nums.foreachRDD(async (_rdd, t) => {
      lastOnly.push(...(await Promise.all(nums.slice(t.ms - 1000, t.ms).map((r) => r.collect()))));
      try {
        nums.slice(t.ms - 2000, t.ms);
      } catch (e) {
        errors.push((e as Error).message);
      }
    });
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(lastOnly).toEqual([[1], [1], [2], [2], [3]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^slice on queue-\d+: the batches up to 1000 ms are forgotten \(this stream remembers 1000 ms\); asked from 1000 ms: call ssc\.remember/,
    );
  });

  it('a window keeps its parent for the window: slice on the parent reaches back that far without remember', async () => {
    const { ssc, tick } = manual(sc());
    const nums = ssc.queueStream([[1], [2], [3], [4]]);
    collectBatches(nums.window(3000));
    const seen: number[][][] = [];
    nums.foreachRDD(async (_rdd, t) => {
      if (t.ms === 4000) seen.push(await Promise.all(nums.slice(2000, 4000).map((r) => r.collect())));
    });
    await ssc.start();
    await tick(4);
    await ssc.stop({ stopContext: false });
    expect(seen).toEqual([[[2], [3], [4]]]);
  });

  it('slice refuses a stream no output reads, a context not started, and reversed times', async () => {
    const { ssc, tick } = manual(sc());
    const nums = ssc.queueStream([[1]]);
    const unread = nums.map((x) => x + 1);
    expect(() => nums.slice(0, 1000)).toThrow(IllegalStateError);
    collectBatches(nums);
    await ssc.start();
    await tick(1);
    expect(() => unread.slice(0, 1000)).toThrow(/^slice on map: the stream is not initialized/);
    expect(() => nums.slice(1000, 0)).toThrow(InvalidArgumentError);
    expect(nums.slice(new Date(1000), { id: 0, ms: 1000 }).length).toBe(1);
    await ssc.stop({ stopContext: false });
  });

  it('remember after start() is refused, as any change to the graph', async () => {
    const { ssc, tick } = manual(sc());
    collectBatches(ssc.queueStream([[1]]));
    await ssc.start();
    await tick(1);
    expect(() => ssc.remember('1m')).toThrow(IllegalStateError);
    await ssc.stop({ stopContext: false });
  });
});

describe('StreamingContext: the rest of its Spark surface', () => {
  const { sc, dir } = useStreamingContext();

  it('ssc.transform(streams, fn) combines the same batch of several streams; a non-RDD fails the batch', async () => {
    const { ssc, tick } = manual(sc());
    const a = ssc.queueStream([[1], [2]]);
    const b = ssc.queueStream([[10], [20]]);
    const c = ssc.queueStream([[100], []]);
    const merged = collectBatches(
      ssc.transform([a, b, c], ([ra, rb, rc], time) => {
        const id = time.id;
        return ra
          .union(rb)
          .union(rc)
          .map(capture({ id }, (x) => x + id));
      }),
    );
    await ssc.start();
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(merged.map(([t, xs]) => [t, xs.sort((x, y) => x - y)])).toEqual([
      [1000, [1, 10, 100]],
      [2000, [3, 21]],
    ]);

    const other = manual(sc());
    const s1 = other.ssc.queueStream([[1]]);
    expect(() => other.ssc.transform([s1, s1.window(2000, 2000)], (rdds) => rdds[0]!)).toThrow(/every stream must have the same slide/);
    collectBatches(other.ssc.transform([s1], () => [1] as never));
    await other.ssc.start();
    other.clock.advance(1000);
    await expect(other.ssc.awaitTermination({ timeout: 20_000 })).rejects.toThrow(
      /^transform of 1 streams returned \[1\] for the batch at 1000 ms, not an RDD/,
    );
  });

  it('awaitTerminationOrTimeout, getState, sparkContext, context() and getActive', async () => {
    const { ssc, tick } = manual(sc());
    const s = ssc.queueStream([[1]]);
    collectBatches(s);
    expect(ssc.getState()).toBe('INITIALIZED');
    expect(ssc.sparkContext).toBe(sc());
    expect(s.context()).toBe(ssc);
    expect(StreamingContext.getActive()).toBeUndefined();
    await ssc.start();
    expect(ssc.getState()).toBe('ACTIVE');
    expect(StreamingContext.getActive()).toBe(ssc);
    expect(StreamingContext.getActiveOrCreate(() => new StreamingContext(sc(), { batchInterval: 1000 }))).toBe(ssc);
    await tick(1);
    expect(await ssc.awaitTerminationOrTimeout(50)).toBe(false);
    const stopped = ssc.stop({ stopContext: false });
    expect(await ssc.awaitTerminationOrTimeout('30s')).toBe(true);
    await stopped;
    expect(ssc.getState()).toBe('STOPPED');
    expect(StreamingContext.getActive()).toBeUndefined();
    let created = 0;
    const fresh = StreamingContext.getActiveOrCreate(() => {
      created++;
      return new StreamingContext(sc(), { batchInterval: 1000 });
    });
    expect(created).toBe(1);
    expect(fresh.getState()).toBe('INITIALIZED');
  });

  it('ssc.checkpoint(dir) before start() is the checkpoint option: the offset and commit logs are written there', async () => {
    const folder = path.join(dir(), 'ckpt-method');
    const { ssc, tick } = manual(sc());
    ssc.checkpoint(folder);
    collectBatches(ssc.queueStream([[1]]));
    await ssc.start();
    await tick(1);
    await ssc.stop({ stopContext: false });
    expect(existsSync(path.join(folder, 'offsets', '000000000.json'))).toBe(true);
    expect(existsSync(path.join(folder, 'commits', '000000000.json'))).toBe(true);
    expect(() => ssc.checkpoint(folder)).toThrow(IllegalStateError);
  });
});
