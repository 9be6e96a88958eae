/**
 * The reduce side of sortByKey under the worker's shuffle memory budget (Spark's ExternalSorter): a buffer that
 * outgrows the pool is written as sorted runs, merge-read at the end. With a pool small enough to force several
 * runs, the output equals the in-memory stable sort exactly, for keys of every kind, in both directions, with a
 * key function, and for empty input; and the runs are gone afterwards.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compareKeys } from '../../src/core/keys.js';
import { sortExternally, type SortOrder } from '../../src/shuffle/external-sorter.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import type { Pair } from '../../src/shuffle/combine.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-external-sorter-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What the reduce side did before it could spill: a stable in-memory sort by the (transformed) key. */
function reference(records: readonly Pair[], order: SortOrder): Pair[] {
  const sign = order.ascending ? 1 : -1;
  const f = order.sortKey ?? ((k: unknown) => k);
  const keys = order.compare ?? compareKeys;
  return records
    .map((kv, i) => ({ k: f(kv[0]), i, kv }))
    .sort((a, b) => sign * keys(a.k, b.k) || a.i - b.i)
    .map((x) => x.kv);
}

/** Keys of every kind the engine orders, from small pools so that keys repeat (ties test stability). */
const key = fc.oneof(
  fc.integer({ min: -30, max: 30 }),
  fc.constantFrom(-0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5, -1e21, 2 ** 53),
  fc.string({ maxLength: 3 }),
  fc.constantFrom('\uD800', '\uDFFF', '\uD83D\uDE00', 'é', '', 'a\u0000'),
  fc.constantFrom(null, undefined, true, false, 10n, -(2n ** 70n)),
  fc.constantFrom(new Date(0), new Date(1e12)),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('x', 'y')),
);

/** A key function with many ties: numbers by their negation, anything else by its kind. */
const keyfunc = (k: unknown): unknown => (typeof k === 'number' ? -k : typeof k);
/** A user's comparator with many ties (sortByKey's `compare`): by the length of the key as text. */
const byTextLength = (a: unknown, b: unknown): number => String(a).length - String(b).length;

const sortIn = (records: Pair[], order: SortOrder, budget: MemoryBudget | undefined): { out: Pair[]; runs: number } => {
  const out: Pair[] = [];
  const { runs } = sortExternally(
    (add) => records.forEach(add),
    order,
    'RDD 1 (sortByKey at test)',
    (kv) => out.push(kv),
    budget,
  );
  return { out, runs };
};

describe('ExternalSorter', () => {
  it('with a pool forcing several runs, sorts exactly as in memory (stable, every key kind, both ways, keyfunc, compare)', () => {
    fc.assert(
      fc.property(
        fc.array(key, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 3_000, max: 9_000 }),
        fc.boolean(),
        fc.constantFrom('engine', 'keyfunc', 'compare'),
        fc.integer(),
        (pool, n, ascending, how, seed) => {
          const dir = mkdtempSync(path.join(scratch, 'runs-'));
          // The value is the arrival index, so stability shows in the output; keys are drawn from the pool.
          let s = seed >>> 0;
          const records: Pair[] = [];
          for (let i = 0; i < n; i++) {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            records.push([pool[s % pool.length], i]);
          }
          const order: SortOrder =
            how === 'keyfunc' ? { ascending, sortKey: keyfunc } : how === 'compare' ? { ascending, compare: byTextLength } : { ascending };
          const budget = new MemoryBudget(4_000, dir);
          const { out, runs } = sortIn(records, order, budget);
          expect(runs).toBeGreaterThanOrEqual(2);
          expect(budget.spills).toBe(runs);
          expect(budget.diskBytesSpilled).toBeGreaterThan(0);
          expect(out).toStrictEqual(reference(records, order));
          // The in-memory path (no pool) gives the same.
          expect(sortIn(records, order, undefined).out).toStrictEqual(out);
          expect(readdirSync(dir)).toEqual([]);
          expect(budget.used).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('an empty partition gives nothing and writes nothing; a small one stays in memory', () => {
    const dir = mkdtempSync(path.join(scratch, 'empty-'));
    const budget = new MemoryBudget(1_000_000, dir);
    expect(sortIn([], { ascending: true }, budget)).toEqual({ out: [], runs: 0 });
    const small: Pair[] = [
      ['b', 1],
      ['a', 2],
      ['b', 3],
    ];
    expect(sortIn(small, { ascending: false }, budget)).toEqual({ out: [small[0], small[2], small[1]], runs: 0 });
    expect(budget.spills).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('the pool spills the buffer when another consumer needs room, and the heap guard can too', () => {
    const dir = mkdtempSync(path.join(scratch, 'relief-'));
    const budget = new MemoryBudget(10_000_000, dir);
    const records: Pair[] = Array.from({ length: 5_000 }, (_, i) => [(i * 7919) % 1000, i]);
    const out: Pair[] = [];
    sortExternally(
      (add) => {
        records.slice(0, 2_500).forEach(add);
        // As the heap guard's relief does: every consumer of the pool spills what it holds.
        budget.spillAll();
        records.slice(2_500).forEach(add);
      },
      { ascending: true },
      'RDD 2',
      (kv) => out.push(kv),
      budget,
    );
    expect(budget.spills).toBe(1);
    expect(out).toStrictEqual(reference(records, { ascending: true }));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes its runs when the sink fails midway', () => {
    const dir = mkdtempSync(path.join(scratch, 'fail-'));
    const budget = new MemoryBudget(4_000, dir);
    const records: Pair[] = Array.from({ length: 5_000 }, (_, i) => [i % 97, i]);
    let seen = 0;
    expect(() =>
      sortExternally(
        (add) => records.forEach(add),
        { ascending: true },
        'RDD 3',
        () => {
          if (++seen === 100) throw new Error('downstream failed');
        },
        budget,
      ),
    ).toThrow('downstream failed');
    expect(budget.spills).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});
