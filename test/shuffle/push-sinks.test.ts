/**
 * The shuffle writer's record sink is an object of one class (`PairsInto`, see `PushSink` in core/many-sink.ts): a
 * pipeline's last step that holds it calls `push`, `pushMany` and `pushPair`, the same functions in every task, where
 * a step holding only the sink's function forms calls it, `manyOf(sink)` and `pairsOf(sink)`. Both, and every record
 * pushed one by one (the general path), must store exactly the same map output, for records of every key kind, with and without the worker's budget (the combine as an
 * ExternalCombiner or as a plain grouping) and spills, and fail the same way on a record that is not a pair. A second
 * task in the same thread gets its own sink object: nothing of the first task's records reaches its output.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HashPartitioner, RangePartitioner, type Partitioner } from '../../src/core/partitioner.js';
import { isPair } from '../../src/core/errors.js';
import { manyOf, pairsOf, pushOf } from '../../src/core/many-sink.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';
import { writeShuffleOutput, type RecordSource } from '../../src/shuffle/shuffle-writer.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { smallKey } from '../core/key-arbitraries.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-push-sinks-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => setWorkerMemoryBudget(undefined));

/** Deep equality that tells -0 from 0 and NaN from nothing. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime());
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** Keys of every kind (int32 most often, so the number table's columns are taken too) and number or other values. */
const key = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -20, max: 300 }) },
  { weight: 3, arbitrary: fc.constantFrom('a', 'ba', 'é', '') },
  { weight: 2, arbitrary: smallKey },
);
const value = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -9, max: 9 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, NaN, 0.5, 's', [1]) },
);
/** How a chunk of records reaches the sink: one by one, as one array, or each pair as its key and value. */
type Form = 'one' | 'many' | 'kv';
const chunk = fc.tuple(fc.constantFrom<Form>('one', 'many', 'kv'), fc.array(fc.tuple(key, value), { maxLength: 40 }));
/** Sometimes one record that is not a pair, anywhere. */
const chunks = fc.oneof(
  { weight: 8, arbitrary: fc.array(chunk, { maxLength: 30 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(chunk, { maxLength: 10 }), fc.constantFrom<unknown>(7, null, [1, 2, 3], 'x'))
      .map(([cs, bad]) => [...cs, ['one', [bad]], ...cs] as [Form, unknown[]][]),
  },
) as fc.Arbitrary<[Form, unknown[]][]>;

/** Every record through the sink itself, one call each: the general path. */
const oneByOne =
  (data: [Form, unknown[]][]): RecordSource =>
  (each) => {
    for (const [, xs] of data) for (const x of xs) each(x);
  };

/** Through the sink's function forms, as a step that holds only those does. */
const byFunctions =
  (data: [Form, unknown[]][]): RecordSource =>
  (each) => {
    const many = manyOf(each);
    const kv = pairsOf(each);
    for (const [form, xs] of data) {
      if (form === 'many' && many !== undefined) many(xs);
      else for (const x of xs) form === 'kv' && kv !== undefined && isPair(x) ? kv((x as Pair)[0], (x as Pair)[1]) : each(x);
    }
  };

/** Through the sink as an object, as MapStep / FlatMapStep holding it do. */
const byObject =
  (data: [Form, unknown[]][]): RecordSource =>
  (each) => {
    const target = pushOf(each)!;
    expect(target).toBeDefined();
    for (const [form, xs] of data) {
      if (form === 'many') target.pushMany!(xs);
      else for (const x of xs) form === 'kv' && isPair(x) ? target.pushPair!((x as Pair)[0], (x as Pair)[1]) : target.push(x);
    }
  };

const sum: Aggregator = {
  createCombiner: (v) => v,
  mergeValue: (a, b) => (typeof a === 'number' && typeof b === 'number' ? a + b : `${String(a)}+${String(b)}`),
  mergeCombiners: (a, b) => (typeof a === 'number' && typeof b === 'number' ? a + b : `${String(a)}+${String(b)}`),
};
const partitioners: Partitioner[] = [new HashPartitioner(1), new HashPartitioner(3), new RangePartitioner(2, [50], true)];

/** One map task's output (or its error's message) through a fresh manager. */
function written(source: RecordSource, partitioner: Partitioner, budget: number | undefined): { buckets: unknown[][] } | { error: string } {
  const dir = mkdtempSync(path.join(scratch, 'ps-'));
  const memory = budget === undefined ? undefined : new MemoryBudget(budget, dir);
  setWorkerMemoryBudget(memory);
  const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, budget: memory });
  try {
    const wire = { shuffleId: 0, partitioner: partitioner.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
    try {
      writeShuffleOutput(source, 'records', wire, sum, manager.writer(0, 0, partitioner.numPartitions), partitioner);
    } catch (e) {
      return { error: (e as Error).message };
    }
    const buckets: unknown[][] = [];
    for (let r = 0; r < partitioner.numPartitions; r++) buckets.push([...manager.fetchBuckets(0, [0], r)[0]!]);
    return { buckets };
  } finally {
    manager.close();
    setWorkerMemoryBudget(undefined);
  }
}

describe("the shuffle writer's record sink as an object", () => {
  it('stores what its function forms store, or fails alike, for records of every key kind (property)', () => {
    fc.assert(
      fc.property(chunks, fc.constantFrom(...partitioners), fc.constantFrom<number | undefined>(undefined, 1 << 30, 2048), (data, p, budget) => {
        const general = written(oneByOne(data), p, budget);
        expect(same(written(byFunctions(data), p, budget), general)).toBe(true);
        expect(same(written(byObject(data), p, budget), general)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("gives each task a sink of its own: a second task's output holds none of the first task's records", () => {
    const p = new HashPartitioner(2);
    for (const budget of [undefined, 1 << 30]) {
      const first: [Form, unknown[]][] = [['many', Array.from({ length: 500 }, (_, i) => [i, 1])]];
      // The first task fails half-way (a record that is not a pair) after its combine took records.
      const failing: [Form, unknown[]][] = [...first, ['one', [42]]];
      const second: [Form, unknown[]][] = [
        [
          'kv',
          [
            [1000, 5],
            [1001, 6],
            [3, 7],
          ],
        ],
      ];
      expect('error' in written(byObject(failing), p, budget)).toBe(true);
      expect(same(written(byObject(first), p, budget), written(oneByOne(first), p, budget))).toBe(true);
      const out = written(byObject(second), p, budget);
      expect('buckets' in out && out.buckets.flat().sort((x, y) => ((x as Pair)[0] as number) - ((y as Pair)[0] as number))).toEqual([
        [3, 7],
        [1000, 5],
        [1001, 6],
      ]);
    }
  });
});
