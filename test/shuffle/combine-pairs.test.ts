/**
 * A flatMap right before a map-side combine hands each array it returns to the shuffle writer in one call
 * (`ManySink.many`), and the combine adds its elements in one loop (`Grouping.addPairs`, `ExternalCombiner`'s
 * addPairs) instead of one call each through the writer's pair check, the combiner and the grouping. It must do
 * exactly what pushing each element does: the same groups in the same order, the same createCombiner/merge calls,
 * the same error for an element that is not a pair (after the same calls), the same measure and spill points, and
 * the same stored map output, for keys of every kind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HashPartitioner, RangePartitioner, type Partitioner } from '../../src/core/partitioner.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import { grouping, type ManySink, type Pair } from '../../src/shuffle/combine.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';
import { writeShuffleOutput } from '../../src/shuffle/shuffle-writer.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';

/** Deep equality that tells -0 from 0 and NaN from nothing (toEqual does not). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

/** Keys of every kind: dense and sparse int32 (negative too), -0, NaN, fractions, beyond int32, strings, rows. */
const key = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: -40, max: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, NaN, 0.5, -2.5, 2 ** 31, 2 ** 53, 'a', '', 'k7', [1, 2], [3, 4]) },
);
const value = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double(), fc.constantFrom(-0, NaN, Infinity, 0.1));
/** Arrays as a flatMap returns them; rarely with an element that is not a pair. */
const element = fc.oneof(
  { weight: 40, arbitrary: fc.tuple(key, value) as fc.Arbitrary<unknown> },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(7, 'x', [1], [1, 2, 3], null) },
);
const arrays = fc.array(fc.array(element, { maxLength: 40 }), { maxLength: 60 });
/** Enough elements (over 3,000) for the external combine to measure its table every 1,024 records and spill. */
const manyArrays = fc.array(fc.array(fc.tuple(key, value) as fc.Arbitrary<unknown>, { minLength: 30, maxLength: 60 }), {
  minLength: 60,
  maxLength: 90,
});

const aggregators: Record<string, Aggregator> = {
  sum: { createCombiner: (v) => v, mergeValue: (a, b) => (a as number) + (b as number), mergeCombiners: (a, b) => (a as number) + (b as number) },
  capped: {
    createCombiner: (v) => v,
    mergeValue: (a, b) => (typeof a === 'number' && Math.abs(a) > 3e3 ? `big ${a}` : typeof a === 'number' ? a + (b as number) : a),
    mergeCombiners: (a, b) => (typeof a === 'number' && typeof b === 'number' ? a + b : `${a}|${b}`),
  },
  list: {
    createCombiner: (v) => [v],
    mergeValue: (c, v) => [...(c as unknown[]), v],
    mergeCombiners: (a, b) => [...(a as unknown[]), ...(b as unknown[])],
  },
};

/** The aggregator with every call recorded. */
function counted(agg: Aggregator): { agg: Aggregator; calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    agg: {
      createCombiner: (v) => (calls.push(['first', v]), agg.createCombiner(v)),
      mergeValue: (c, v) => (calls.push(['merge', c, v]), agg.mergeValue(c, v)),
      mergeCombiners: (a, b) => (calls.push(['combine', a, b]), agg.mergeCombiners(a, b)),
    },
  };
}

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-cp-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => setWorkerMemoryBudget(undefined));

const partitioners: Partitioner[] = [new HashPartitioner(1), new HashPartitioner(2), new HashPartitioner(5), new RangePartitioner(3, [0, 100], true)];

/**
 * A map task whose flatMap returned `arrays`, written through a fresh manager: with `many`, each array goes to the
 * sink's `many` when it has one (as the flatMap step does), else each element to the sink. Returns the stored
 * buckets, the counts, the calls and the error, if any.
 */
function mapTask(arrays: readonly unknown[][], agg: Aggregator, p: Partitioner, many: boolean, budget: number | undefined) {
  const dir = mkdtempSync(path.join(scratch, 'task-'));
  const pool = budget === undefined ? undefined : new MemoryBudget(budget, dir);
  setWorkerMemoryBudget(pool);
  const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, budget: pool });
  const c = counted(agg);
  let usedMany = false;
  try {
    const w = manager.writer(0, 0, p.numPartitions);
    const wire = { shuffleId: 0, partitioner: p.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
    const source = (sink: ManySink): void => {
      for (const xs of arrays) {
        if (many && sink.many !== undefined) {
          usedMany = true;
          sink.many(xs);
        } else for (let i = 0; i < xs.length; i++) sink(xs[i]);
      }
    };
    let error: string | undefined;
    let sizes: readonly number[] = [];
    const buckets: unknown[] = [];
    try {
      sizes = writeShuffleOutput(source, 'flatMap', wire, c.agg, w, p).sizes;
      for (let r = 0; r < p.numPartitions; r++) buckets.push(manager.fetchBuckets(0, [0], r)[0]!);
    } catch (e) {
      error = `${(e as Error).name}: ${(e as Error).message}`;
    }
    return { sizes, buckets, calls: c.calls, error, usedMany, spills: pool?.spills ?? 0 };
  } finally {
    manager.close();
  }
}

describe("a flatMap's arrays added to the combine in one call", () => {
  it('grouping.addPairs does what adding each element does, errors included (property)', () => {
    fc.assert(
      fc.property(arrays, fc.constantFrom(...Object.keys(aggregators)), (xss, name) => {
        const run = (batch: boolean) => {
          const c = counted(aggregators[name]!);
          const g = grouping(c.agg.createCombiner, c.agg.mergeValue);
          const notPair = (x: unknown): never => {
            throw new Error(`not a pair: ${JSON.stringify(x)}`);
          };
          let error: string | undefined;
          try {
            for (const xs of xss) {
              if (batch) g.addPairs(xs, 0, xs.length, notPair);
              else
                for (const x of xs) {
                  if (!Array.isArray(x) || x.length !== 2) notPair(x);
                  g.add(x as Pair);
                }
            }
          } catch (e) {
            error = (e as Error).message;
          }
          return { groups: g.groups().map(([k, v]): Pair => [k, v]), calls: c.calls, error };
        };
        const a = run(true);
        const b = run(false);
        expect(a.error).toBe(b.error);
        expect(same(a.calls, b.calls)).toBe(true);
        expect(same(a.groups, b.groups)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the shuffle writer stores the same map output, counts and calls, and fails alike on a non-pair (property)', () => {
    let batched = 0;
    let failed = 0;
    fc.assert(
      fc.property(arrays, fc.constantFrom(...Object.keys(aggregators)), fc.constantFrom(...partitioners), (xss, name, p) => {
        const a = mapTask(xss, aggregators[name]!, p, true, undefined);
        const b = mapTask(xss, aggregators[name]!, p, false, undefined);
        if (a.usedMany) batched++;
        if (a.error !== undefined) failed++;
        expect(b.usedMany).toBe(false);
        expect(a.error).toBe(b.error);
        expect(a.sizes).toEqual(b.sizes);
        expect(same(a.calls, b.calls)).toBe(true);
        expect(same(a.buckets, b.buckets)).toBe(true);
      }),
      { numRuns: 200 },
    );
    // The writer's sink does take arrays (else this compares the element path with itself), and non-pairs were met.
    expect(batched).toBeGreaterThan(100);
    expect(failed).toBeGreaterThan(0);
  });

  it('measures and spills the combine table after the same records (property)', () => {
    let spilled = 0;
    fc.assert(
      fc.property(manyArrays, fc.constantFrom('sum', 'list'), fc.constantFrom(...partitioners), (xss, name, p) => {
        const a = mapTask(xss, aggregators[name]!, p, true, 3_000);
        const b = mapTask(xss, aggregators[name]!, p, false, 3_000);
        if (a.spills > 0) spilled++;
        expect(a.spills).toBe(b.spills);
        expect(a.sizes).toEqual(b.sizes);
        expect(same(a.buckets, b.buckets)).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect(spilled).toBeGreaterThan(0);
  });
});
