/**
 * A number table can start at the size a previous combine with the same functions ended at (a capacity hint, see
 * `expectedGroups` in external-combiner.ts), so an iterative job's reduceByKey does not rehash its table as it
 * fills. The hint may change memory and speed only: the groups, their order, their combiners and every call of
 * createCombiner and merge are the same with any hint as with none, for keys of every kind and combiners that stop
 * being numbers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { grouping, type Pair } from '../../src/shuffle/combine.js';
import { combineValuesExternally, expectedGroups, type CombineFunctions } from '../../src/shuffle/external-combiner.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';
import { NumberTable } from '../../src/shuffle/number-table.js';

/** Deep equality that tells -0 from 0 and NaN from nothing (toEqual does not). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

const intKey = fc.integer({ min: -2000, max: 2000 });
/** Keys of every kind the combine tells apart: int32 (most), -0, NaN, fractions, beyond int32, strings, rows, objects. */
const anyKey = fc.oneof(
  { weight: 12, arbitrary: intKey },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(-0, NaN, 0.5, 2 ** 31, -(2 ** 31) - 1, Infinity, 'a', '', '0', [1, 2], [1, 2, 3], null, true, { k: 1 }, 10n),
  },
);
const double = fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, 0.25));
/** A chunk of input: pairs, or columns of int32 keys and numbers (as a reduce task reads fetched buckets). */
type Chunk = { pairs: Pair[] } | { keys: Int32Array; values: Float64Array };
const chunk: fc.Arbitrary<Chunk> = fc.oneof(
  fc.array(fc.tuple(anyKey, double), { maxLength: 300 }).map((xs) => ({ pairs: xs as Pair[] })),
  fc
    .array(fc.tuple(intKey, double), { maxLength: 300 })
    .map((xs) => ({ keys: Int32Array.from(xs.map(([k]) => k)), values: Float64Array.from(xs.map(([, v]) => v)) })),
);
const hint = fc.oneof(fc.constantFrom(0, 1, 31, 32, 33, 64, 1000, 1 << 19, (1 << 19) + 1, 2 ** 40, -5, NaN, 0.5), fc.nat(5000));

const aggregators: Record<string, Aggregator> = {
  sum: { createCombiner: (v) => v, mergeValue: (a, b) => (a as number) + (b as number), mergeCombiners: (a, b) => (a as number) + (b as number) },
  capped: {
    createCombiner: (v) => v,
    mergeValue: (a, b) => (typeof a === 'number' && Math.abs(a) > 5e2 ? `big ${a}` : typeof a === 'number' ? a + (b as number) : a),
    mergeCombiners: (a, b) => (typeof a === 'number' && typeof b === 'number' ? a + b : `${a}|${b}`),
  },
  list: {
    createCombiner: (v) => [v],
    mergeValue: (c, v) => [...(c as unknown[]), v],
    mergeCombiners: (a, b) => [...(a as unknown[]), ...(b as unknown[])],
  },
};

afterEach(() => setWorkerMemoryBudget(undefined));

describe('capacity hints of the number table', () => {
  it('a grouping gives the same groups, order and calls with any hint as with none (property)', () => {
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 6 }), fc.constantFrom(...Object.keys(aggregators)), hint, (cs, name, expected) => {
        const run = (h: number): { groups: Pair[]; calls: unknown[] } => {
          const agg = aggregators[name]!;
          const calls: unknown[] = [];
          const g = grouping(
            (v) => {
              calls.push(['first', v]);
              return agg.createCombiner(v);
            },
            (c, v) => {
              calls.push(['merge', c, v]);
              return agg.mergeValue(c, v);
            },
            h,
          );
          for (const c of cs) {
            if ('pairs' in c) for (const kv of c.pairs) g.add(kv);
            else g.addNumbers(c.keys, c.values, 0, c.keys.length);
          }
          return { groups: g.groups(), calls };
        };
        const without = run(0);
        const withHint = run(expected);
        expect(same(withHint.groups, without.groups)).toBe(true);
        expect(same(withHint.calls, without.calls)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a hinted table is allocated at once: no growth while it fills to the hint', () => {
    const hinted = new NumberTable(100_000);
    const slots = hinted.slotCount;
    expect(slots).toBeGreaterThanOrEqual(200_000);
    for (let k = 0; k < 100_000; k++)
      hinted.add(
        k * 7919,
        1,
        (v) => v,
        (a, b) => (a as number) + (b as number),
      );
    expect(hinted.slotCount).toBe(slots);
    // Without a hint the same keys grow it from its initial size.
    expect(new NumberTable().slotCount).toBeLessThan(1000);
    // Hints that are not a count of keys, or too large, are bounded.
    for (const h of [-1, NaN, 0.5, 2 ** 40]) expect(new NumberTable(h).slotCount).toBeLessThanOrEqual(1 << 20);
  });

  it("a combine records its table's size for the next with the same functions; a spill or another kind records none", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kindling-hint-'));
    const agg = aggregators.sum!;
    const fns: CombineFunctions = { first: agg.createCombiner, merge: agg.mergeValue, mergeCombiners: agg.mergeCombiners };
    const combine = (records: Pair[], limit: number): Pair[] => {
      setWorkerMemoryBudget(new MemoryBudget(limit, dir));
      const out: Pair[] = [];
      combineValuesExternally(
        (each) => records.forEach(each),
        agg,
        1,
        'reduceByKey',
        (kv) => out.push(kv),
      );
      return out;
    };
    const keys = (n: number): Pair[] => Array.from({ length: n }, (_, i): Pair => [i * 3, 0.5]);
    expect(expectedGroups(fns)).toBe(0);
    expect(combine(keys(5000), 1 << 30)).toHaveLength(5000);
    expect(expectedGroups(fns)).toBe(5000);
    // The next combine starts from that size and still gives its own groups.
    expect(combine(keys(300), 1 << 30)).toEqual(keys(300));
    expect(expectedGroups(fns)).toBe(300);
    // String keys: not a number table, no hint.
    expect(combine([['a', 1]], 1 << 30)).toEqual([['a', 1]]);
    expect(expectedGroups(fns)).toBe(0);
    combine(keys(5000), 1 << 30);
    // A budget too small for the table: it spills, and records no hint.
    const spilled = combine(keys(20_000), 2_000);
    expect(spilled).toHaveLength(20_000);
    expect(expectedGroups(fns)).toBe(0);
    // Other functions have their own hint.
    expect(expectedGroups({ ...fns, merge: (a, b) => (a as number) + (b as number) })).toBe(0);
  });
});
