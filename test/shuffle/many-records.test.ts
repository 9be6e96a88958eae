/**
 * A flatMap's result array handed to the shuffle writer whole (core/many-sink.ts): the writer's sink takes an array
 * through `manyOf(sink)`, and the combine (`Grouping.addPairs`, `ExternalCombiner.addPairs`) or the plain bucketing
 * loops over it instead of being called per record. Whatever arrives as arrays must give exactly what the same
 * records give one by one: the same buckets, counts, createCombiner/merge calls, spills and errors, for keys of
 * every kind (int32, -0, NaN, fractions, beyond int32, strings, rows, objects), combiners that stop being numbers,
 * elements that are not pairs (and holes), empty arrays, with and without a combine, spills and disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { manyOf } from '../../src/core/many-sink.js';
import { HashPartitioner, RangePartitioner, type Partitioner } from '../../src/core/partitioner.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import { grouping, type Pair } from '../../src/shuffle/combine.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';
import { writeShuffleOutput } from '../../src/shuffle/shuffle-writer.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { denseSizes } from '../../src/shuffle/sparse-buckets.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-many-records-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => setWorkerMemoryBudget(undefined));

/** Deep equality that tells -0 from 0 and NaN from nothing (toEqual does not). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

const intKey = fc.integer({ min: -50, max: 400 });
const otherKey = fc.constantFrom<unknown>(-0, NaN, 0.5, 2 ** 31, -(2 ** 31) - 1, 'a', '', 'é', [1, 2], { o: 1 }, null);
const value = fc.oneof(fc.integer({ min: -9, max: 9 }), fc.double(), fc.constantFrom(-0, NaN, Infinity, 0.1));
/** A record: mostly a pair with an int32 key, at times another key, at times not a pair at all. */
const record = fc.oneof(
  { weight: 60, arbitrary: fc.tuple(intKey, value) },
  { weight: 3, arbitrary: fc.tuple(otherKey, value) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(7, 'x', undefined, [1, 2, 3], [1]) },
);
/** Records as a flatMap would return them: arrays of 0..40 records (an array may have a hole). */
const chunks = fc.array(fc.tuple(fc.array(record, { maxLength: 40 }), fc.nat(60)), { maxLength: 120 }).map((cs) =>
  cs.map(([xs, hole]) => {
    const ys = [...xs] as unknown[];
    // One in ~60 arrays has a hole, which reads as undefined.
    if (hole === 0 && ys.length > 1) delete ys[ys.length >> 1];
    return ys;
  }),
);
/** Only pairs with int32 keys: the number table all the way (most of PageRank's path). */
const intChunks = fc.array(fc.array(fc.tuple(intKey, value), { maxLength: 40 }), { maxLength: 150 }) as fc.Arbitrary<unknown[][]>;

/** Aggregators that log every call: a sum, one that stops returning numbers for a large sum, and a list (groupByKey). */
function aggregators(log: unknown[]): Record<string, Aggregator> {
  /** `f`, logging its arguments (tagged `what`) before each call. */
  const logged =
    <A extends unknown[], R>(what: string, f: (...a: A) => R) =>
    (...a: A): R => {
      log.push([what, ...a]);
      return f(...a);
    };
  return {
    sum: {
      createCombiner: logged('c', (v) => v),
      mergeValue: logged('m', (a, b) => (a as number) + (b as number)),
      mergeCombiners: (a, b) => (a as number) + (b as number),
    },
    capped: {
      createCombiner: logged('c', (v) => v),
      mergeValue: logged('m', (a, b) => (typeof a === 'number' && a > 20 ? `big ${a}` : typeof a === 'number' ? a + (b as number) : a)),
      mergeCombiners: (a) => a,
    },
    list: {
      createCombiner: logged('c', (v) => [v]),
      mergeValue: logged('m', (a, b) => [...(a as unknown[]), b]),
      mergeCombiners: (a, b) => [...(a as unknown[]), ...(b as unknown[])],
    },
  };
}

const partitioners: Partitioner[] = [new HashPartitioner(1), new HashPartitioner(3), new RangePartitioner(3, [0, 100], true)];

interface Written {
  sizes?: readonly number[];
  buckets?: unknown[];
  error?: string;
  log: unknown[];
  spills: number;
}

/** Writes the chunks through a fresh manager, as arrays (`many`) or one record at a time. */
function written(
  data: readonly unknown[][],
  aggName: string | undefined,
  partitioner: Partitioner,
  many: boolean,
  opts: { writeAllToDisk: boolean; budget: number | undefined },
): Written {
  const dir = mkdtempSync(path.join(scratch, 'mr-'));
  const budget = opts.budget === undefined ? undefined : new MemoryBudget(opts.budget, dir);
  setWorkerMemoryBudget(budget);
  const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: opts.writeAllToDisk, budget });
  const log: unknown[] = [];
  const agg = aggName === undefined ? undefined : aggregators(log)[aggName]!;
  let spills = 0;
  try {
    const w = manager.writer(0, 0, partitioner.numPartitions);
    const wire = { shuffleId: 0, partitioner: partitioner.toWire(), mapSideCombine: agg !== undefined, rddId: 2, rddLabel: 'reduceByKey' } as const;
    const source = (each: (x: unknown) => void): void => {
      const all = manyOf(each);
      // The writer always offers arrays: without that this spec would compare the per-record path with itself.
      expect(all).toBeDefined();
      for (const xs of data) {
        if (many) all!(xs);
        else for (let i = 0; i < xs.length; i++) each(xs[i]);
      }
    };
    try {
      const status = writeShuffleOutput(source, 'RDD 1 (contributions)', wire, agg, w, partitioner);
      const buckets: unknown[] = [];
      for (let r = 0; r < partitioner.numPartitions; r++) buckets.push(manager.fetchBuckets(0, [0], r)[0]!);
      spills = budget?.spills ?? 0;
      return { sizes: denseSizes(status.sizes), buckets, log, spills };
    } catch (e) {
      return { error: `${(e as Error).name}: ${(e as Error).message}`, log, spills };
    }
  } finally {
    manager.close();
  }
}

/** What the two paths must agree on: the error, counts, buckets, aggregator calls and spills. */
function expectSame(a: Written, b: Written): void {
  expect(a.error).toBe(b.error);
  expect(a.sizes).toEqual(b.sizes);
  expect(same(a.buckets, b.buckets)).toBe(true);
  expect(same(a.log, b.log)).toBe(true);
  expect(a.spills).toBe(b.spills);
}

describe('records handed over as arrays (a flatMap into a shuffle)', () => {
  it('store exactly what the same records one by one store, with and without a combine (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(chunks, intChunks),
        fc.constantFrom(...partitioners),
        fc.constantFrom(undefined, 'sum', 'capped', 'list'),
        (data, p, agg) => {
          const opts = { writeAllToDisk: false, budget: undefined };
          const a = written(data, agg, p, true, opts);
          expectSame(a, written(data, agg, p, false, opts));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('store exactly what the same records one by one store when the combine spills, and on disk (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(chunks, intChunks),
        fc.constantFrom(...partitioners),
        fc.constantFrom(undefined, 'sum', 'capped'),
        fc.record({ writeAllToDisk: fc.boolean(), budget: fc.constantFrom(undefined, 3_000, 1 << 30) }),
        (data, p, agg, opts) => {
          const a = written(data, agg, p, true, opts);
          expectSame(a, written(data, agg, p, false, opts));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('spill after the same records as one by one, under a small pool', () => {
    // 10k distinct keys in arrays of 7 against a ~30 KB pool: the table is measured every 1,024 records either way.
    const data = Array.from({ length: 1_500 }, (_, i) => Array.from({ length: 7 }, (_, j): Pair => [(i * 7 + j) * 13, j / 4]));
    const p = new HashPartitioner(2);
    const a = written(data, 'sum', p, true, { writeAllToDisk: false, budget: 30_000 });
    const b = written(data, 'sum', p, false, { writeAllToDisk: false, budget: 30_000 });
    expect(a.spills).toBeGreaterThan(0);
    expect(a.spills).toBe(b.spills);
    expect(same(a.buckets, b.buckets)).toBe(true);
  });

  it('fail on the first element that is not a pair, naming both RDDs, after the records before it', () => {
    const p = new HashPartitioner(1);
    for (const bad of [undefined, 3, [1, 2, 3]]) {
      const data = [
        [
          [1, 1],
          [2, 2],
        ],
        [[1, 5], bad, [3, 3]],
      ];
      const a = written(data, 'sum', p, true, { writeAllToDisk: false, budget: undefined });
      const b = written(data, 'sum', p, false, { writeAllToDisk: false, budget: undefined });
      expect(a.error).toMatch(/^NotAPairError: reduceByKey needs pairs \[key, value\], but RDD 1 \(contributions\) produced/);
      expect(a.error).toBe(b.error);
      expect(same(a.log, b.log)).toBe(true);
      expect(a.log).toEqual([
        ['c', 1],
        ['c', 2],
        ['m', 1, 5],
      ]);
    }
  });
});

describe('Grouping.addPairs', () => {
  it('gives the groups, order and calls of `add` for each record, from any offset (property)', () => {
    fc.assert(
      fc.property(fc.oneof(chunks, intChunks), fc.constantFrom('sum', 'capped', 'list'), fc.nat(3), (data, aggName, skip) => {
        const run = (many: boolean) => {
          const log: unknown[] = [];
          const agg = aggregators(log)[aggName]!;
          const g = grouping(agg.createCombiner, agg.mergeValue);
          let error: string | undefined;
          const notAPair = (x: unknown): never => {
            throw new Error(`not a pair: ${String(x)}`);
          };
          try {
            for (const xs of data) {
              // From an offset into the array, as a slice cut at a measurement starts.
              const from = Math.min(skip, xs.length);
              if (many) g.addPairs(xs, from, xs.length, notAPair);
              else
                for (let i = from; i < xs.length; i++) {
                  const kv = xs[i];
                  if (!Array.isArray(kv) || kv.length !== 2) notAPair(kv);
                  g.add(kv as Pair);
                }
            }
          } catch (e) {
            error = (e as Error).message;
          }
          const groups = g.groups().map((kv) => [kv[0], kv[1]]);
          const numbers = g.numbers();
          return { error, log, groups, numbers: numbers && [[...numbers.keys], [...numbers.combiners]] };
        };
        const a = run(true);
        const b = run(false);
        expect(a.error).toBe(b.error);
        expect(same(a.groups, b.groups)).toBe(true);
        expect(same(a.log, b.log)).toBe(true);
        expect(same(a.numbers, b.numbers)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
