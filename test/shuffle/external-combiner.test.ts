/**
 * Aggregating shuffles under the worker's shuffle memory budget (Spark's ExternalAppendOnlyMap and the spill
 * of its map-side combine): when the table of keys outgrows the pool it is written as a sorted run, and the
 * runs are merged with mergeCombiners in the engine's key order. Results equal a plain in-process computation.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compareKeys, keysEqual } from '../../src/core/keys.js';
import { combineCombinersExternally, combineValuesExternally } from '../../src/shuffle/external-combiner.js';
import { FetchedInput } from '../../src/shuffle/fetched-input.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';
import { writeShuffleOutput } from '../../src/shuffle/shuffle-writer.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import type { Pair } from '../../src/shuffle/combine.js';
import type { MapOutputWriter } from '../../src/shuffle/shuffle-manager.js';

const sum: Aggregator = {
  createCombiner: (v) => v,
  mergeValue: (a, b) => (a as number) + (b as number),
  mergeCombiners: (a, b) => (a as number) + (b as number),
};
const group: Aggregator = {
  createCombiner: (v) => [v],
  mergeValue: (c, v) => {
    (c as unknown[]).push(v);
    return c;
  },
  mergeCombiners: (a, b) => {
    (a as unknown[]).push(...(b as unknown[]));
    return a;
  },
};

/** The reference: a list of [key, values] found by linear search with the engine's equality. */
function plainGroups(records: readonly Pair[]): Array<[unknown, unknown[]]> {
  const out: Array<[unknown, unknown[]]> = [];
  for (const [k, v] of records) {
    const g = out.find((o) => keysEqual(o[0], k));
    if (g) g[1].push(v);
    else out.push([k, [v]]);
  }
  return out;
}

/**
 * Sorted by key, with -0 written as 0: the two are one key to the engine, and which of them a group keeps as
 * its key object depends on which record the merge meets first.
 */
const byKey = <T extends [unknown, unknown]>(xs: T[]): T[] => xs.map(([k, v]) => [zero(k), v] as T).sort((a, b) => compareKeys(a[0], b[0]));
const zero = (k: unknown): unknown => (Object.is(k, -0) ? 0 : Array.isArray(k) ? k.map(zero) : k);
const numbers = (xs: unknown) => [...(xs as number[])].sort((a, b) => a - b);

/** Keys of mixed kinds from a small pool, so keys repeat: numbers (with -0), strings, arrays of both. */
const key = fc.oneof(
  fc.integer({ min: -20, max: 20 }),
  fc.constantFrom(-0, 0.5, 1e21),
  fc.string({ maxLength: 3 }),
  fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'b')), { maxLength: 3 }),
);
const records = fc.array(fc.tuple(key, fc.integer({ min: -1000, max: 1000 })), { minLength: 2100, maxLength: 3000 }) as fc.Arbitrary<Pair[]>;

let budget: MemoryBudget;
const newBudget = (limit: number): MemoryBudget => (budget = new MemoryBudget(limit, mkdtempSync(path.join(scratch, 'budget-'))));
// One scratch folder for the file's budgets (a property test makes hundreds), removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-xc-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => setWorkerMemoryBudget(undefined));

describe('reduce-side combine under the worker budget', () => {
  it('reduceByKey and groupByKey spill sorted runs and merge them to the plain result (property)', () => {
    fc.assert(
      fc.property(records, fc.integer({ min: 0, max: 3 }), fc.constantFrom(Number.POSITIVE_INFINITY, 1), (recs, split, runBytes) => {
        // A pool of one byte: every size check spills, so each case merges several runs.
        setWorkerMemoryBudget(newBudget(1));
        const expected = plainGroups(recs);

        const summed: Pair[] = [];
        combineValuesExternally(
          (each) => recs.forEach(each),
          sum,
          1,
          'reduceByKey',
          (kv) => summed.push(kv),
        );
        expect(budget.spills).toBeGreaterThan(0);
        expect(byKey(summed)).toEqual(byKey(expected.map(([k, vs]): Pair => [k, vs.reduce((a, b) => (a as number) + (b as number), 0)])));

        // groupByKey, part of the input arriving as fetched input that spilled to runs before the task ran.
        const cut = Math.floor((recs.length * split) / 4);
        // Two map outputs' buckets; with `runBytes` 1 each is spilled to a run of its own.
        const fetched = new FetchedInput(budget, 'a shuffle', runBytes);
        fetched.add([0, 1], [recs.slice(0, cut >> 1), recs.slice(cut >> 1, cut)]);
        fetched.spill();
        const { runs } = fetched.parts();
        // Bounded runs: each non-empty bucket in a run of its own.
        if (runBytes === 1) expect(runs.length).toBe((cut >> 1 > 0 ? 1 : 0) + (cut - (cut >> 1) > 0 ? 1 : 0));
        const grouped: Pair[] = [];
        combineValuesExternally(
          (each) => recs.slice(cut).forEach(each),
          group,
          1,
          'groupByKey',
          (kv) => grouped.push(kv),
          runs,
        );
        fetched.dispose();
        const got = byKey(grouped).map(([k, vs]) => [k, numbers(vs)]);
        expect(got).toEqual(byKey(expected.map(([k, vs]): Pair => [k, vs])).map(([k, vs]) => [k, numbers(vs)]));
        expect(budget.used).toBe(0);
      }),
      { numRuns: 25 },
    );
  });

  it("counts a number table's arrays, not only its groups: a few keys spread over 120k integers hold about 1 MB", () => {
    // 40 int32 keys over 0..120,000 make the number table address them directly (about 1.2 MB of combiners);
    // by groups alone they would be estimated at a few KB and never spill under a 200 KB pool.
    const keys = Array.from({ length: 40 }, (_, i) => i * 3000);
    const recs: Pair[] = [];
    for (let i = 0; i < 4096; i++) recs.push([keys[i % keys.length]!, 1]);
    setWorkerMemoryBudget(newBudget(200_000));
    const out: Pair[] = [];
    combineValuesExternally(
      (each) => recs.forEach(each),
      sum,
      1,
      'reduceByKey',
      (kv) => out.push(kv),
    );
    expect(budget.spills).toBeGreaterThan(0);
    expect(byKey(out)).toEqual(keys.map((k): Pair => [k, Math.floor(4096 / 40) + (keys.indexOf(k) < 4096 % 40 ? 1 : 0)]));
    expect(budget.used).toBe(0);
  });

  it('merging combiners copies nothing it may not change and spills like merging values', () => {
    setWorkerMemoryBudget(newBudget(1024));
    // Map outputs' combiners (arrays) that later jobs read again must survive mergeCombiners unchanged.
    const stored: Pair[] = Array.from({ length: 5000 }, (_, i) => [i % 1500, [i]]);
    const snapshot = structuredClone(stored);
    const out: Pair[] = [];
    combineCombinersExternally(
      (each) => stored.forEach(each),
      group,
      1,
      'groupByKey',
      (kv) => out.push(kv),
    );
    expect(budget.spills).toBeGreaterThan(0);
    expect(stored).toEqual(snapshot);
    expect(out.length).toBe(1500);
    for (const [k, vs] of out)
      expect(numbers(vs)).toEqual([
        k as number,
        (k as number) + 1500,
        (k as number) + 3000,
        ...((k as number) + 4500 < 5000 ? [(k as number) + 4500] : []),
      ]);
    expect(readdirSync(budget.dir)).toEqual([]);
  });
});

describe('records given as key and value (a map step over cached points hands its pairs on so)', () => {
  it('measure the table every 1,024 records as pairs do: the same spills, the same groups (property)', () => {
    const arrays: Aggregator = {
      createCombiner: (v) => v,
      mergeValue: (a, b) => [(a as number[])[0]! + (b as number[])[0]!],
      mergeCombiners: (a, b) => [(a as number[])[0]! + (b as number[])[0]!],
    };
    const pairs = fc.array(
      fc.tuple(
        key,
        fc.integer({ min: -1000, max: 1000 }).map((v) => [v]),
      ),
      { minLength: 1100, maxLength: 3000 },
    );
    fc.assert(
      fc.property(pairs, (recs) => {
        const run = (asKV: boolean): { out: Pair[]; spills: number } => {
          // A pool of one byte: every measurement spills.
          const b = newBudget(1);
          setWorkerMemoryBudget(b);
          const out: Pair[] = [];
          combineValuesExternally(
            (each, _numbers, _pairs, kv) => {
              for (const [k, v] of recs as Pair[]) {
                if (asKV) kv(k, v);
                else each([k, v]);
              }
            },
            arrays,
            1,
            'reduceByKey',
            (kv) => out.push(kv),
          );
          return { out, spills: b.spills };
        };
        const asPairs = run(false);
        const asKV = run(true);
        // One spill per 1,024 records (and the rest's, when the output merges the runs).
        expect(asKV.spills).toBeGreaterThanOrEqual(Math.floor(recs.length / 1024));
        expect(asKV.spills).toBe(asPairs.spills);
        expect(byKey(asKV.out)).toEqual(byKey(asPairs.out));
        const expected = plainGroups(recs as Pair[]).map(([k, vs]): Pair => [k, [vs.reduce((s: number, v) => s + (v as number[])[0]!, 0)]]);
        expect(byKey(asKV.out)).toEqual(byKey(expected));
      }),
      { numRuns: 25 },
    );
  });
});

describe('map-side combine under the worker budget', () => {
  it('spills the partial combine table of a high-cardinality partition as sorted runs; each key still leaves the map task once', () => {
    setWorkerMemoryBudget(newBudget(64 * 1024));
    const data: Pair[] = Array.from({ length: 60_000 }, (_, i) => [`w${(i * 7) % 20_000}`, 1]);
    const source = (f: (x: unknown) => void): void => data.forEach(f);
    const written: Array<[number, Pair]> = [];
    const out: MapOutputWriter = { add: (r, kv) => void written.push([r, kv]), close: () => ({ sizes: [] }) };
    const wire = { shuffleId: 0, partitioner: { kind: 'hash', numPartitions: 3 }, mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
    writeShuffleOutput(source, 'words', wire, sum, out);

    expect(budget.spills).toBeGreaterThan(0);
    expect(budget.used).toBe(0);
    expect(written.length).toBe(20_000);
    const counts = new Map(written.map(([, [k, n]]) => [k as string, n as number]));
    expect(counts.size).toBe(20_000);
    for (let k = 0; k < 20_000; k++) expect(counts.get(`w${k}`)).toBe(3);
    expect(readdirSync(budget.dir)).toEqual([]);
  });
});
