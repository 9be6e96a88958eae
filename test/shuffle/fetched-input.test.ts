import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeBucket } from '../../src/shuffle/bucket-codec.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { mergeFramedRuns } from '../../src/shuffle/external-combiner.js';
import { FetchedInput } from '../../src/shuffle/fetched-input.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-fetched-input-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const scratchDir = (): string => mkdtempSync(path.join(scratch, `d${dirs++}-`));

/** Each key's values in the order they come. */
function valuesByKey(pairs: Iterable<Pair>): Map<unknown, unknown[]> {
  const out = new Map<unknown, unknown[]>();
  for (const [k, v] of pairs) {
    const list = out.get(k);
    if (list === undefined) out.set(k, [v]);
    else list.push(v);
  }
  return out;
}

// A fetch: buckets of map outputs arriving in parts, each part as pairs or encoded (as a peer sends it), with a
// spill asked for after some of them. Values number the records in fetch order.
const fetchPlan = fc.record({
  keys: fc.constantFrom<unknown[]>([1, 2, 3], ['a', 'b'], [0, 'x', 2.5], [7]),
  parts: fc.array(
    fc.record({
      map: fc.integer({ min: 0, max: 3 }),
      length: fc.integer({ min: 0, max: 5_000 }),
      encoded: fc.boolean(),
      spillAfter: fc.boolean(),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  runBytes: fc.constantFrom(1, 5_000, 60_000, Number.POSITIVE_INFINITY),
});

describe('FetchedInput spilling', () => {
  it("writes bounded runs and keeps each key's records in fetch order, read whole or merged (property)", () => {
    fc.assert(
      fc.property(fetchPlan, ({ keys, parts, runBytes }) => {
        const dir = mkdtempSync(path.join(scratch, 'pool-'));
        // A pool large enough never to spill by itself: the plan says when.
        const budget = new MemoryBudget(1 << 30, dir);
        const input = new FetchedInput(budget, 'a shuffle', runBytes);
        let n = 0;
        const expected: Pair[] = [];
        // A map output's parts must arrive in order and before the next map's (as the fetcher asks), so the plan's
        // parts are ordered by map.
        const ordered = [...parts].sort((a, b) => a.map - b.map);
        let spills = 0;
        for (const p of ordered) {
          const records: Pair[] = [];
          for (let i = 0; i < p.length; i++) records.push([keys[(i * 7 + n) % keys.length], n + i]);
          n += p.length;
          expected.push(...records);
          input.add([p.map], [p.encoded && records.length > 0 ? encodeBucket(records) : records]);
          if (p.spillAfter) {
            input.spill();
            spills++;
          }
        }
        const { runs } = input.parts();
        if (runBytes === 1) {
          // One run per slice of 4,096 records of each part spilled.
          let want = 0;
          let pending = 0;
          for (const p of ordered) {
            pending += Math.ceil(p.length / 4096);
            if (p.spillAfter) {
              want += pending;
              pending = 0;
            }
          }
          expect(runs.length).toBe(want);
        } else if (runBytes === Number.POSITIVE_INFINITY) {
          expect(runs.length).toBeLessThanOrEqual(spills);
        }
        // A merge of the runs gives equal keys in run order: with what is in memory after, each key's values
        // are in fetch order.
        const merged: Pair[] = [];
        mergeFramedRuns(
          runs,
          () => 'runs',
          (kv) => merged.push(kv),
        );
        const whole: Pair[] = [];
        for (const b of input.all()) whole.push(...(b as Pair[]));
        const spilledCount = merged.length;
        const wholeSpilled = valuesByKey(whole.slice(0, spilledCount));
        expect(valuesByKey(merged)).toEqual(wholeSpilled);
        expect(valuesByKey(whole)).toEqual(valuesByKey(expected));
        input.dispose();
        expect(readdirSync(dir)).toEqual([]);
        // The pool's account is kept in floating point: what this input took is given back to within rounding.
        expect(Math.abs(budget.used)).toBeLessThan(1e-3);
      }),
      { numRuns: 40 },
    );
  });
});

describe('FetchedInput and buckets read from shared memory', () => {
  it("counts shared buckets' records as in memory (a reduce sizes its table from them) but not their bytes in its own pool", () => {
    const budget = new MemoryBudget(1 << 30, scratchDir());
    const input = new FetchedInput(budget);
    const shared = encodeBucket(Array.from({ length: 700 }, (_, i): Pair => [i, i]));
    const fetched = encodeBucket(Array.from({ length: 300 }, (_, i): Pair => [i, 1]));
    input.add([0], [shared], true);
    expect(input.bytes).toBe(0);
    input.add([1], [fetched]);
    expect(input.bytes).toBeGreaterThan(0);
    const parts = input.parts();
    expect(parts.inMemoryRecords).toBe(1000);
    expect(parts.largestBucket).toBe(700);
    input.dispose();
  });

  it('once disposed, takes nothing more: a late answer is neither counted in the pool nor spilled to a run', () => {
    const dir = scratchDir();
    const budget = new MemoryBudget(1, dir);
    const input = new FetchedInput(budget);
    input.add([0], [encodeBucket(Array.from({ length: 1000 }, (_, i): Pair => [i, i]))]);
    input.dispose();
    expect(readdirSync(dir)).toEqual([]);
    input.add([1], [encodeBucket(Array.from({ length: 1000 }, (_, i): Pair => [i, i]))]);
    input.spill();
    budget.spillAll();
    expect(readdirSync(dir)).toEqual([]);
    expect(Math.abs(budget.used)).toBeLessThan(1e-3);
  });

  it('after a spill, nothing is in memory, shared or not', () => {
    const budget = new MemoryBudget(1 << 30, scratchDir());
    const input = new FetchedInput(budget);
    input.add([0, 1], [encodeBucket([[1, 2]]), encodeBucket([[3, 4]])], true);
    input.add([2], [encodeBucket([[5, 6]])]);
    input.spill();
    expect(input.parts().inMemoryRecords).toBe(0);
    input.dispose();
  });
});

describe('FetchedInput of a few map outputs out of many (a wide shuffle of little data)', () => {
  it('reads the buckets in map id order, whatever order they arrived in (each worker answers for its own maps)', () => {
    const input = new FetchedInput(undefined);
    // Worker 1's maps arrive before worker 0's, and map 3's bucket in two parts.
    input.add([5, 3], [[[5, 'a']], encodeBucket([[3, 'b']])]);
    input.add([1, 3], [encodeBucket([[1, 'c']]), [[3, 'd']]]);
    input.add([4], [[[4, 'e']]]);
    expect([...input.all()].flat()).toEqual([
      [1, 'c'],
      [3, 'b'],
      [3, 'd'],
      [4, 'e'],
      [5, 'a'],
    ]);
    input.dispose();
  });

  it('reading three buckets of maps 0, 20,000 and 40,000 looks at no map id in between', () => {
    // A reducer of SparkTC's last round reads a few of 32,768 map outputs: looking at every map id up to the last one
    // it read was M x R per shuffle. A look at a map id it holds nothing for, in a structure indexed by map id, reads
    // a hole: it goes up to Array.prototype, where this getter counts it.
    let holesRead = 0;
    const probes = [10_000, 30_000];
    const budget = new MemoryBudget(1 << 30, scratchDir());
    for (const at of probes) {
      Object.defineProperty(Array.prototype, at, {
        configurable: true,
        get() {
          holesRead++;
          return undefined;
        },
        // Any other array given this index while the probe is up holds it as its own.
        set(value: unknown) {
          Object.defineProperty(this, at, { value, writable: true, enumerable: true, configurable: true });
        },
      });
    }
    try {
      const input = new FetchedInput(budget);
      input.add([40_000, 0], [encodeBucket([[2, 40_000]]), encodeBucket([[0, 0]])]);
      input.add([20_000], [[[1, 20_000]]]);
      const parts = input.parts();
      expect(parts.largestBucket).toBe(1);
      const numbers: number[] = [];
      parts.read(
        (kv) => numbers.push(kv[1] as number),
        (_keys, values, from, to) => {
          for (let i = from; i < to; i++) numbers.push(values[i]!);
        },
      );
      expect(numbers).toEqual([0, 20_000, 40_000]);
      input.dispose();
    } finally {
      for (const at of probes) delete (Array.prototype as unknown as Record<number, unknown>)[at];
    }
    expect(holesRead).toBe(0);
  });
});
