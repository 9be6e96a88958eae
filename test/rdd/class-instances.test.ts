/**
 * Instances of classes with methods in the data. Elements cross between threads by structured clone, which
 * keeps an object's own fields and drops its prototype: a Point would arrive as `{ x, y }` and `p.norm()` would
 * fail far from the cause (or a getter would read undefined). `capture` already refuses such values; elements
 * follow the same rule wherever they cross, and fail at the first such element naming the class, the RDD and
 * the crossing: `parallelize` (at the call, on the driver), a shuffle (on every master, so that one worker and
 * many behave alike), a result on its way to the driver, and a broadcast value (at the call). Inside a worker,
 * a pipeline of narrow steps may pass class instances along freely: nothing crosses there.
 *
 * The look is bounded (it runs per record): the element and its direct items or fields, so a pair's key and
 * value. Built-ins the structured clone copies as what they are stay plain data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context, JobFailedError, StorageLevel, UnclonableDataError, type RDD } from 'kindling';
import { MODES } from './helpers.js';
import { Point } from '../fixtures/point.js';

/** A class with fields only: its copy lacks nothing a function could call, so it is plain data. */
class Row {
  constructor(readonly id: number) {}
}

async function failure(run: () => Promise<unknown>): Promise<Error> {
  const outcome = await run().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

describe.each(MODES)('class instances in the data (%s)', (master) => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master, progress: false });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('parallelize refuses one at the call, naming the class, a method, the element and the RDD', () => {
    let error: unknown;
    try {
      sc.parallelize([new Point(0, 0), new Point(3, 4)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnclonableDataError);
    expect((error as Error).message).toMatch(
      /^In RDD \d+ \(parallelize at class-instances\.test\.ts:\d+\), element 0 is an instance of Point, which would reach the workers without its methods \(such as norm\)/,
    );
    // Inside a pair, and in a field of a plain object.
    expect(() => sc.parallelize([['a', new Point(1, 2)]])).toThrow(/element 0 holds at \[1\] an instance of Point/);
    expect(() => sc.parallelize([1, 2, { at: new Point(1, 2) }])).toThrow(/element 2 holds at \.at an instance of Point/);
  });

  it('built-ins the structured clone copies, null-prototype objects and classes without methods stay plain data, through parallelize, a shuffle and a result', async () => {
    const bare = Object.assign(Object.create(null) as Record<string, number>, { n: 1 });
    const values: unknown[] = [
      new Date(0),
      new Map([['k', 1]]),
      new Set([1, 2]),
      /ab+c/g,
      new Uint8Array([1, 2]),
      new ArrayBuffer(4),
      new Error('kept'),
      10n,
      Object(5),
      bare,
      new Row(7),
    ];
    const pairs = values.map((v, i): [number, unknown] => [i % 3, v]);
    const back = await sc.parallelize(pairs, 2).collect();
    expect(back).toHaveLength(values.length);
    expect(back[0]![1]).toBeInstanceOf(Date);
    expect(back[1]![1]).toEqual(new Map([['k', 1]]));
    const grouped = await sc.parallelize(pairs, 2).groupByKey(2).collect();
    expect(grouped.flatMap(([, vs]) => vs)).toHaveLength(values.length);
    expect(grouped.flatMap(([, vs]) => vs).some((v) => v instanceof Set)).toBe(true);
    // A Row arrives as a plain object with its fields (nothing to call was lost).
    expect(back[10]![1]).toEqual({ id: 7 });
  });

  it('a shuffle refuses a class instance made in a worker, naming the class, both RDDs and where in the record', async () => {
    const made = sc.parallelize([1, 2, 3, 4], 2).map((x): [number, unknown] => {
      class Celsius {
        constructor(readonly degrees: number) {}
        get fahrenheit(): number {
          return this.degrees * 1.8 + 32;
        }
      }
      return [x % 2, new Celsius(x)];
    });
    const grouped = made.groupByKey();
    const e = await failure(() => grouped.collect());
    expect(e).toBeInstanceOf(JobFailedError);
    expect(e.message).toContain(
      `UnclonableDataError: A record [key, value] of the shuffle from ${made.label} to ${grouped.label} holds at [1] an instance of Celsius, which would be shuffled without its methods (such as fahrenheit)`,
    );
    // The same in a key, in a combining shuffle, and in a combiner made by the user's function.
    const keyed = sc.parallelize([1, 2], 2).map((x): [unknown, number] => {
      class Id {
        constructor(readonly n: number) {}
        toString(): string {
          return `#${this.n}`;
        }
      }
      return [new Id(x), 1];
    });
    expect((await failure(() => keyed.reduceByKey((a, b) => a + b).collect())).message).toMatch(/holds at \[0\] an instance of Id/);
    const combined = sc.parallelize<[string, number]>([['a', 1]], 1).combineByKey(
      (v) => {
        class Sum {
          constructor(public total: number) {}
          add(x: number): Sum {
            this.total += x;
            return this;
          }
        }
        return new Sum(v);
      },
      (c, v) => c.add(v),
      (a, b) => a.add(b.total),
    );
    expect((await failure(() => combined.collect())).message).toMatch(
      /holds at \[1\] an instance of Sum, which would be shuffled without its methods \(such as add\)/,
    );
    // The context keeps working.
    expect(
      await sc
        .parallelize([1, 2, 3], 2)
        .map((x): [number, number] => [x % 2, x])
        .reduceByKey((a, b) => a + b)
        .collectAsMap(),
    ).toEqual(
      new Map([
        [1, 4],
        [0, 2],
      ]),
    );
  });

  it('a result refuses a class instance on its way to the driver, naming the action, the RDD and where in the result', async () => {
    const made = sc.parallelize([1, 2], 1).map((x) => {
      class Vec {
        constructor(readonly v: number) {}
        len(): number {
          return Math.abs(this.v);
        }
      }
      return ['k', new Vec(x)] as [string, unknown];
    });
    const e = await failure(() => made.collect());
    expect(e).toBeInstanceOf(JobFailedError);
    expect(e.message).toContain(
      `UnclonableDataError: The result of collect on ${made.label} for partition 0 holds at [0][1] an instance of Vec, which would reach the driver without its methods (such as len)`,
    );
    expect((await failure(() => made.values().reduce((a) => a))).message).toMatch(
      /The result of reduce on RDD \d+ .* holds at \.value an instance of Vec/,
    );
  });

  it('inside a worker, class instances pass freely along narrow steps (nothing crosses)', async () => {
    const norms = sc
      .parallelize([3, 6], 2)
      .map((x) => {
        class P {
          constructor(readonly x: number) {}
          norm(): number {
            return Math.hypot(this.x, this.x * (4 / 3));
          }
        }
        return new P(x);
      })
      .filter((p) => p.norm() > 0)
      .map((p) => p.norm());
    expect(await norms.collect()).toEqual([5, 10]);
  });

  it('partitions written to disk (a disk storage level, a checkpoint) refuse class instances; MEMORY_ONLY keeps them', async () => {
    const points = (): RDD<{ norm(): number }> =>
      sc.parallelize([3, 4], 1).map((x) => {
        class P {
          constructor(readonly x: number) {}
          norm(): number {
            return this.x;
          }
        }
        return new P(x);
      });
    for (const level of [StorageLevel.DISK_ONLY, StorageLevel.MEMORY_AND_DISK]) {
      const persisted = points().persist(level);
      const e = await failure(() => persisted.map((p) => p.norm()).collect());
      expect(e.message).toContain(
        `UnclonableDataError: Element 0 of a partition of ${persisted.label}, persisted ${level.name}, is an instance of P, which would be read back from disk without its methods (such as norm)`,
      );
    }
    const cached = points().cache();
    expect(await cached.map((p) => p.norm()).collect()).toEqual([3, 4]);
    expect(await cached.map((p) => p.norm()).collect()).toEqual([3, 4]);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-class-instances-'));
    try {
      sc.setCheckpointDir(dir);
      const marked = points();
      marked.checkpoint();
      const e = await failure(() => marked.map((p) => p.norm()).collect());
      expect(e.message).toContain(
        `Element 0 of a partition of ${marked.label}, checkpointed, is an instance of P, which would be read back from the checkpoint`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a zero value (aggregateByKey, foldByKey, fold, aggregate) refuses a class instance at the call, as capture does', async () => {
    const pairs = sc.parallelize<[string, number]>([['a', 3]], 1);
    expect(() =>
      pairs.aggregateByKey(
        new Point(0, 0),
        (p) => p,
        (p) => p,
      ),
    ).toThrow(UnclonableDataError);
    expect(() =>
      pairs.aggregateByKey(
        new Point(0, 0),
        (p) => p,
        (p) => p,
      ),
    ).toThrow(/^aggregateByKey: the zero value is an instance of Point; .* \(such as norm\)/);
    expect(() => pairs.foldByKey({ at: new Point(0, 0) } as unknown as number, (a, b) => a + b)).toThrow(
      /^foldByKey: the zero value's \.at is an instance of Point/,
    );
    await expect(sc.parallelize([1], 1).fold(new Point(0, 0) as unknown as number, (a) => a)).rejects.toThrow(
      /^fold: the zero value is an instance of Point/,
    );
    await expect(
      sc.parallelize([1], 1).aggregate(
        new Point(0, 0),
        (p) => p,
        (p) => p,
      ),
    ).rejects.toThrow(/^aggregate: the zero value is an instance of Point/);
    // Plain zero values work as before.
    expect(
      await pairs
        .aggregateByKey(
          { n: 0 },
          (acc, v) => ({ n: acc.n + v }),
          (x, y) => ({ n: x.n + y.n }),
        )
        .collect(),
    ).toEqual([['a', { n: 3 }]]);
  });

  it('a broadcast refuses a class instance at the call, as capture does', async () => {
    expect(() => sc.broadcast(new Point(1, 2))).toThrow(UnclonableDataError);
    expect(() => sc.broadcast(new Point(1, 2))).toThrow(/^broadcast\(value\): value is an instance of Point; .* \(such as norm\)/);
    expect(() => sc.broadcast({ origin: new Point(0, 0) })).toThrow(/value\.origin is an instance of Point/);
    expect(() => sc.broadcast(new Map([['p', new Point(0, 0)]]))).toThrow(/value\.get\("p"\) is an instance of Point/);
    const fine = sc.broadcast({ when: new Date(0), ids: new Set([1]) });
    expect(fine.value.ids.has(1)).toBe(true);
  });
});
