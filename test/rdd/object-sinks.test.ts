/**
 * Map and flatMap steps, stats()' sink and the shuffle writer's are objects of one class each (`PushSink` in
 * core/many-sink.ts), so that a loop holding one (a join's rows, a cached partition's values, the step before) calls
 * the same function in every task. Whether a step's sink is such an object or a plain function, it must see the same
 * elements in the same order and the same errors; each task's objects are its own (nothing of one task reaches the
 * next, on one worker, even after a task that failed half-way).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Context, capture, type RDD } from 'kindling';
import { withPush, type PushSink } from '../../src/core/many-sink.js';
import { MappedRDD, ParallelCollectionRDD, WORKER_RDD_CONTEXT, type TaskContext } from '../../src/rdd/index.js';
import { sameResult as same } from './helpers.js';
import { smallKey } from '../core/key-arbitraries.js';

let nextId = 1;
const id = (label: string) => ({ id: nextId++, label });
const tc = (rows: unknown[]): TaskContext => ({
  stageId: 0,
  partition: 0,
  attempt: 0,
  blocks: { get: () => undefined, put: () => undefined },
  shuffleInput: () => [],
  payload: () => rows,
});

/** What a step pushes, as elements: `pushMany(xs)` is each of xs, `pushPair(k, v)` is [k, v]. */
class Recorder implements PushSink<unknown> {
  readonly seen: unknown[] = [];
  push(x: unknown): void {
    this.seen.push(x);
  }
}
class ManyRecorder extends Recorder {
  pushMany(xs: readonly unknown[]): void {
    for (let i = 0; i < xs.length; i++) this.push(xs[i]);
  }
}
class PairRecorder extends Recorder {
  pushPair(k: unknown, v: unknown): void {
    this.push([k, v]);
  }
}
const RECORDERS = [Recorder, ManyRecorder, PairRecorder];

/** What the function of a row returns: the row (pairs or not), a Set of it, one of its elements, or no iterable. */
type Shape = 'array' | 'set' | 'first' | 'number' | 'throws';
const element = fc.oneof(fc.tuple(smallKey, fc.oneof(fc.integer(), fc.double())), smallKey);
const rows = fc.array(fc.tuple(fc.constantFrom<Shape>('array', 'set', 'first', 'number', 'throws'), fc.array(element, { maxLength: 6 })), {
  maxLength: 40,
});
const fn = (shape: Shape, row: unknown[]): unknown => {
  if (shape === 'throws') throw new Error(`row of ${row.length}`);
  return shape === 'array' ? row : shape === 'set' ? new Set(row) : shape === 'first' ? row[0] : row.length;
};

/** The elements the step pushes into a plain function and into an object sink of each class, or the error's message. */
function outputs(op: 'map' | 'flatMap', data: [Shape, unknown[]][], after: 'none' | 'map'): unknown[] {
  const leaf = new ParallelCollectionRDD<[Shape, unknown[]]>(WORKER_RDD_CONTEXT, 1, id('rows'));
  let rdd: MappedRDD<unknown, unknown> = new MappedRDD<unknown, unknown>(
    leaf as ParallelCollectionRDD<unknown>,
    op,
    ([shape, row]: [Shape, unknown[]]) => fn(shape, row),
    id(`${op} step`),
  );
  if (after === 'map') rdd = new MappedRDD(rdd, 'map', (x: unknown) => x, id('identity'));
  const run = (sink: (x: unknown) => void, seen: () => unknown[]): unknown => {
    try {
      rdd.forEach(0, tc(data), sink);
      return seen();
    } catch (e) {
      return `${(e as Error).message} after ${seen().length}`;
    }
  };
  const plain: unknown[] = [];
  const results = [
    run(
      (x) => void plain.push(x),
      () => plain,
    ),
  ];
  for (const R of RECORDERS) {
    const r = new R();
    results.push(
      run(
        withPush((x) => r.push(x), r),
        () => r.seen,
      ),
    );
  }
  return results;
}

describe('steps whose sink is an object (worker-side RDDs, one partition)', () => {
  it('push what they push into a plain function, and fail alike, for elements of every key kind (property)', () => {
    fc.assert(
      fc.property(rows, fc.constantFrom<'map' | 'flatMap'>('map', 'flatMap'), fc.constantFrom<'none' | 'map'>('none', 'map'), (data, op, after) => {
        const [plain, ...objects] = outputs(op, data, after);
        // Object.is on numbers (-0, NaN), Sets and errors' messages compared whole.
        for (const o of objects) expect(isDeepStrictEqual(o, plain)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('hand each task its own step objects: a second task pushes only its own elements into its own sink', () => {
    const leaf = new ParallelCollectionRDD<number>(WORKER_RDD_CONTEXT, 1, id('rows'));
    const step = new MappedRDD(
      leaf,
      'flatMap',
      (x: number) => {
        if (x < 0) throw new Error('negative');
        return [x, x];
      },
      id('twice'),
    );
    const first = new PairRecorder();
    expect(() =>
      step.forEach(
        0,
        tc([1, 2, -1, 3]),
        withPush((x) => first.push(x), first),
      ),
    ).toThrow(/negative/);
    expect(first.seen).toEqual([1, 1, 2, 2]);
    const second = new ManyRecorder();
    step.forEach(
      0,
      tc([5]),
      withPush((x) => second.push(x), second),
    );
    expect(second.seen).toEqual([5, 5]);
    expect(first.seen).toEqual([1, 1, 2, 2]);
  });
});

describe.each(['local', 'local[2]'] as const)('object sinks in a program (%s)', (master) => {
  it("a cached partition's values and keys into stats(), a join's values into a flatMap: what the general path gives (property)", async () => {
    const sc = new Context({ master, progress: false, hints: false });
    try {
      const pair = fc.tuple(fc.integer({ min: 0, max: 60 }), fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: false })));
      const lists = fc.tuple(fc.integer({ min: 0, max: 60 }), fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 4 }));
      await fc.assert(
        fc.asyncProperty(
          fc.array(pair, { maxLength: 300 }),
          fc.array(lists, { maxLength: 100 }),
          fc.integer({ min: 1, max: 4 }),
          async (ps, ls, n) => {
            const ranks = sc.parallelize(ps, n).partitionBy(n).cache() as RDD<[number, number]>;
            const links = sc.parallelize(ls, n).partitionBy(n).cache() as RDD<[number, number[]]>;
            try {
              // Cached as columns: values and keys go to stats()' object; uncached, through the step's function.
              const plainRanks = ranks.mapValues((v) => v);
              expect(same(await ranks.values().stats(), await plainRanks.values().stats())).toBe(true);
              expect(same(await ranks.keys().stats(), await plainRanks.keys().stats())).toBe(true);
              // A join of cached columns pushes its values into the flatMap's object; collect's sink is a function.
              const share = ([urls, r]: [number[], number]) => urls.map((u): [number, number] => [u, r / Math.max(1, urls.length)]);
              const joined = links.join(ranks).values();
              const flat = await joined.flatMap(share).collect();
              expect(same(flat, (await joined.collect()).flatMap(share))).toBe(true);
              const summed = new Map<number, number>();
              for (const [u, s] of flat) summed.set(u, (summed.get(u) ?? 0) + s);
              const reduced = await joined
                .flatMap(share)
                .reduceByKey((a, b) => a + b)
                .collectAsMap();
              expect(reduced.size).toBe(summed.size);
              for (const [u, s] of summed) expect(Math.abs(reduced.get(u)! - s)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(s)));
            } finally {
              ranks.unpersist();
              links.unpersist();
            }
          },
        ),
        { numRuns: master === 'local' ? 10 : 15 },
      );
    } finally {
      await sc.stop();
    }
  });

  it("each task's sink objects are its own: many tasks on the workers, one failing half-way, then exact counts", async () => {
    const sc = new Context({ master, progress: false, hints: false, maxTaskFailures: 1 });
    try {
      const n = 8;
      const ranks = sc
        .parallelize(
          Array.from({ length: 800 }, (_, i): [number, number] => [i, i % 7]),
          n,
        )
        .cache();
      await ranks.count();
      const s = await ranks.values().stats();
      expect([s.count, s.sum]).toEqual([800, Array.from({ length: 800 }, (_, i) => i % 7).reduce((a, b) => a + b)]);
      const bad = capture({}, (x: number) => {
        if (x === 450) throw new Error('half-way');
        return [[x % 10, 1] as [number, number]];
      });
      await expect(
        ranks
          .keys()
          .flatMap(bad)
          .reduceByKey((a, b) => a + b)
          .collect(),
      ).rejects.toThrow(/half-way/);
      const counts = await ranks
        .keys()
        .flatMap((x: number) => [[x % 10, 1] as [number, number]])
        .reduceByKey((a, b) => a + b)
        .collectAsMap();
      expect([...counts.entries()].sort((a, b) => a[0] - b[0])).toEqual(Array.from({ length: 10 }, (_, k) => [k, 80]));
      const again = await ranks.values().stats();
      expect(same(again, s)).toBe(true);
    } finally {
      await sc.stop();
    }
  });
});
