/**
 * `Grouping.directKV`: once a grouping adds its records to the general structures (numeric keys with tuple values,
 * k-means' `[center, [point, 1, distance]]`; keys of mixed kinds), the combine table's per-record path calls the
 * function that adds them there, one call fewer than `addKV`. Records given so must group exactly as the same records
 * given to `addKV` (or as pairs to `add`): same groups, same first-seen key objects, same combiners, same order, with
 * keys and values of every kind, before and after the switch, with and without spills.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { grouping, type Pair } from '../../src/shuffle/combine.js';
import { combineExternally } from '../../src/shuffle/external-combiner.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import { smallKey, wideKey } from '../core/key-arbitraries.js';

// Each property's own count unless FUZZ_RUNS asks for another (a search, or a quick replay).
const RUNS = process.env.FUZZ_RUNS === undefined ? undefined : Number(process.env.FUZZ_RUNS);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const params = (numRuns: number) => ({ numRuns: RUNS ?? numRuns, seed: SEED });
console.log(`direct-kv: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS ?? 'default'}`);

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-direct-kv-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Keys of every kind the engine takes: int32 (with -0), other numbers, short and long strings, rows, nested keys. */
const key = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }) },
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: -40, max: 40 }), fc.constantFrom(-0, 2 ** 31 - 1, -(2 ** 31), 5 << 20)) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 31, 0.5, NaN, Infinity, 1e-300) },
  { weight: 1, arbitrary: fc.constantFrom('a', 'b', '', 'a long string key', 'ünï') },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: -2, max: 2 }), fc.integer({ min: 0, max: 2 })) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, true, false, [1, -0], [1.5, 2], { a: 1 }) },
  { weight: 1, arbitrary: smallKey },
  { weight: 1, arbitrary: wideKey },
);
/** Keys of the k-means shape only (the switch to the general structures with one kind of key). */
const center = fc.integer({ min: 0, max: 4 });
const point = fc.array(fc.double({ noNaN: true, min: -10, max: 10 }), { minLength: 3, maxLength: 3 });
/** Values of every kind; merged by `merge` into a new value that keeps every input (so an order or a loss shows). */
const value = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(point, fc.constant(1), fc.double({ noNaN: true, min: 0, max: 10 })) },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double(), fc.constantFrom(-0, NaN)) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('x', '', null, undefined, [1, 'two'], { n: 3 }) },
);
const merge = (c: unknown, v: unknown): unknown => ['merged', c, v];
const first = (v: unknown): unknown => ['first', v];
/** Numbers added while both are numbers (a number table's way, which the first other value leaves), else as `merge`. */
const sum = (c: unknown, v: unknown): unknown => (typeof c === 'number' && typeof v === 'number' ? c + v : merge(c, v));
const identity = (v: unknown): unknown => v;
/** Records that choose each of the grouping's other ways first (strings, rows, int32 keys with numbers). */
const leading = fc.oneof(
  fc.array(fc.tuple(fc.constantFrom('a', 'b', 'ab', 'a long string key'), value), { minLength: 1, maxLength: 20 }),
  fc.array(fc.tuple(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), value), { minLength: 1, maxLength: 20 }),
  fc.array(fc.tuple(center, fc.integer({ min: -5, max: 5 })), { minLength: 1, maxLength: 20 }),
);

/** How many records went through a function other than `addKV` (the fast path was taken): the spec must see some. */
let direct = 0;

describe('Grouping.directKV', () => {
  it('groups records exactly as addKV and add do, asked again at any point, with keys and values of every kind', () => {
    const records = fc.oneof(
      fc.array(fc.tuple(center, value), { maxLength: 80 }),
      fc.array(fc.tuple(key, value), { maxLength: 80 }),
      fc.tuple(fc.array(fc.tuple(center, value), { maxLength: 40 }), fc.array(fc.tuple(key, value), { maxLength: 40 })).map(([a, b]) => [...a, ...b]),
      fc.tuple(leading, fc.array(fc.tuple(key, value), { maxLength: 40 })).map(([a, b]): Array<[unknown, unknown]> => [...a, ...b]),
    );
    // Where the caller asks for the function again (ExternalCombiner asks at each measurement).
    const asks = fc.array(fc.nat(60), { maxLength: 8 });
    fc.assert(
      fc.property(records, asks, fc.boolean(), fc.boolean(), (rs, at, firstAsPair, numbers) => {
        // Tagged combiners (every record kept, in order), or numbers summed (the number table's way while it lasts).
        const [f, m] = numbers ? [identity, sum] : [first, merge];
        const byKV = grouping(f, m);
        const byPair = grouping(f, m);
        const byDirect = grouping(f, m);
        let fn = byDirect.addKV;
        rs.forEach(([k, v], i) => {
          if (i === 0 && firstAsPair) byDirect.add([k, v]);
          else fn(k, v);
          if (fn !== byDirect.addKV) direct++;
          if (at.includes(i)) fn = byDirect.directKV();
          byKV.addKV(k, v);
          byPair.add([k, v]);
        });
        const want = byPair.groups();
        for (const got of [byDirect.groups(), byKV.groups()]) {
          expect(got.length).toBe(want.length);
          got.forEach(([k, c], i) => {
            // The first-seen key object itself, as add keeps it (rows come back as equal new arrays).
            if (Array.isArray(k)) expect(k).toEqual(want[i]![0]);
            else expect(Object.is(k, want[i]![0])).toBe(true);
            expect(c).toEqual(want[i]![1]);
          });
        }
      }),
      params(50),
    );
    expect(direct).toBeGreaterThan(0);
  });

  it('is addKV itself while the grouping may still change its way (no records, string keys, number combiners, rows)', () => {
    const g = grouping(first, merge);
    expect(g.directKV()).toBe(g.addKV);
    const words = grouping(identity, sum);
    words.addKV('a', 1);
    expect(words.directKV()).toBe(words.addKV);
    const numbers = grouping(identity, sum);
    numbers.addKV(3, 1);
    expect(numbers.directKV()).toBe(numbers.addKV);
    const rows = grouping(first, merge);
    rows.addKV([1, 2], 'x');
    expect(rows.directKV()).toBe(rows.addKV);
    // k-means' first record: an int32 key and a tuple, which a number table refuses: the general structures, for good.
    const kmeans = grouping(first, merge);
    kmeans.addKV(0, [[1, 2], 1, 0.5]);
    expect(kmeans.directKV()).not.toBe(kmeans.addKV);
  });
});

describe('the combine table under a memory budget (ExternalCombiner.addKV, which switches to directKV)', () => {
  it('gives the same groups, in the same order, as the same records given as pairs, spilling or not', () => {
    // More than 1,024 records (the table is measured, and the function asked again, every 1,024), a few keys mostly.
    const records = fc.oneof(
      fc.array(fc.tuple(center, value), { minLength: 1025, maxLength: 3000 }),
      fc
        .tuple(fc.array(fc.tuple(center, value), { minLength: 1025, maxLength: 2500 }), fc.array(fc.tuple(key, value), { maxLength: 300 }))
        .map(([a, b]) => [...a, ...b]),
    );
    const limit = fc.constantFrom(1 << 30, 64 << 10, 8 << 10);
    let spilled = 0;
    fc.assert(
      fc.property(records, limit, (rs, bytes) => {
        const run = (asPairs: boolean): Pair[] => {
          const budget = new MemoryBudget(bytes, mkdtempSync(path.join(scratch, 'budget-')));
          const out: Pair[] = [];
          // A groupByKey's lists, grown in place (the table's size estimate sees them grow), so that small budgets spill.
          const fns = {
            first: (v: unknown): unknown => [v],
            merge: (c: unknown, v: unknown): unknown => {
              (c as unknown[]).push(v);
              return c;
            },
            mergeCombiners: (a: unknown, b: unknown): unknown => {
              (a as unknown[]).push(...(b as unknown[]));
              return a;
            },
          };
          combineExternally(
            (each, _numbers, _pairs, kv) => {
              for (const [k, v] of rs) {
                if (asPairs) each([k, v]);
                else kv(k, v);
              }
            },
            fns,
            1,
            'direct-kv',
            (g) => out.push(g),
            budget,
          );
          if (budget.spills > 0) spilled++;
          return out;
        };
        const want = run(true);
        const got = run(false);
        expect(got.length).toBe(want.length);
        got.forEach(([k, c], i) => {
          // Spilled keys come back from their run files as copies: equal objects, and the same primitives (-0 kept).
          if (typeof k === 'object' && k !== null) expect(k).toEqual(want[i]![0]);
          else expect(Object.is(k, want[i]![0])).toBe(true);
          expect(c).toEqual(want[i]![1]);
        });
      }),
      params(12),
    );
    expect(spilled).toBeGreaterThan(0);
  });
});
