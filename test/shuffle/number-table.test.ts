/**
 * The number table addresses dense int32 keys directly (a Float64Array by `key - base` and a bitmap) instead of
 * hashing them, moving between the two layouts as keys arrive. Which layout holds the groups must not show: the
 * same groups in the same first-seen order, the same combiners (-0 and NaN included), the same refusals and the
 * same createCombiner/merge calls as the hashed table alone, for keys dense, sparse, negative, near the ends of
 * int32, arriving in any order, and through the grouping with keys of every other kind mixed in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/core/keys.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import { grouping, type Pair } from '../../src/shuffle/combine.js';
import { combineValuesExternally } from '../../src/shuffle/external-combiner.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';
import { DENSE_SPAN_FLOOR, NumberTable, setDenseNumberKeys } from '../../src/shuffle/number-table.js';
import { MIN_POOLED_BYTES, setMinPooledBytes } from '../../src/util/scratch-arrays.js';

/** Deep equality that tells -0 from 0 and NaN from nothing (toEqual does not). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

/** `f` with the direct layout for dense keys on or off for the tables it creates. */
function withDense<T>(on: boolean, f: () => T): T {
  const was = setDenseNumberKeys(on);
  try {
    return f();
  } finally {
    setDenseNumberKeys(was);
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Int32 keys in runs of several shapes: a dense block at a random base (negative, near either end of int32), a
 * strided block (every k-th id, as a reduce partition of a hash partitioner sees them), keys spread over all of
 * int32 (sparse), and single far outliers that push a direct layout back to hashing.
 */
const base = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: INT32_MIN, max: INT32_MIN + 500 }),
  fc.integer({ min: INT32_MAX - 3000, max: INT32_MAX - 100 }),
  fc.integer({ min: INT32_MIN, max: INT32_MAX - 4000 }),
);
const keyRun: fc.Arbitrary<number[]> = fc.oneof(
  fc
    .tuple(base, fc.integer({ min: 1, max: 400 }), fc.array(fc.nat(), { minLength: 20, maxLength: 300 }))
    .map(([b, width, xs]) => xs.map((x) => Math.min(INT32_MAX, b + (x % width)))),
  fc
    .tuple(base, fc.integer({ min: 2, max: 9 }), fc.array(fc.nat(300), { minLength: 20, maxLength: 300 }))
    .map(([b, stride, xs]) => xs.map((x) => Math.min(INT32_MAX, b + x * stride))),
  fc.array(fc.integer({ min: INT32_MIN, max: INT32_MAX }), { maxLength: 40 }),
  fc.constantFrom<number[]>([INT32_MIN], [INT32_MAX], [0], [-1], [DENSE_SPAN_FLOOR * 3], [-DENSE_SPAN_FLOOR * 5]),
);
const value = fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 0.25), fc.integer({ min: -9, max: 9 }));
const recordsOf = (runs: fc.Arbitrary<number[][]>): fc.Arbitrary<Array<[number, number]>> =>
  runs
    .map((rs) => rs.flat())
    .chain((ks) => fc.array(value, { minLength: ks.length, maxLength: ks.length }).map((vs) => ks.map((k, i): [number, number] => [k, vs[i]!])));
const records = recordsOf(fc.array(keyRun, { maxLength: 8 }));
/**
 * Enough records (at least 2,500: the generated ones repeated, each copy's values scaled) for the external combine
 * to measure its table (every 1,024 records) and spill.
 */
const manyRecords = recordsOf(fc.array(keyRun, { minLength: 1, maxLength: 8 }))
  .filter((rs) => rs.length > 0)
  .map((rs) => {
    const out: Array<[number, number]> = [];
    for (let copy = 1; out.length < 2500; copy++) for (const [k, v] of rs) out.push([k, v * copy]);
    return out;
  });

/** Combine functions that keep numbers, or stop keeping them at some point (refused, so the caller moves on). */
const aggregators: Record<string, Aggregator> = {
  sum: { createCombiner: (v) => v, mergeValue: (a, b) => (a as number) + (b as number), mergeCombiners: (a, b) => (a as number) + (b as number) },
  last: { createCombiner: (v) => v, mergeValue: (_a, b) => b, mergeCombiners: (_a, b) => b },
  capped: {
    createCombiner: (v) => (typeof v === 'number' && v > 1e300 ? `huge ${v}` : v),
    mergeValue: (a, b) => (typeof a === 'number' && Math.abs(a) > 1e3 ? `big ${a}` : (a as number) + (b as number)),
    mergeCombiners: (a, b) => `${a}|${b}`,
  },
};

/** Every createCombiner and merge call with its arguments, and its result. */
function counted(agg: Aggregator): { first: (v: unknown) => unknown; merge: (c: unknown, v: unknown) => unknown; calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    first: (v) => {
      const r = agg.createCombiner(v);
      calls.push(['first', v, r]);
      return r;
    },
    merge: (c, v) => {
      const r = agg.mergeValue(c, v);
      calls.push(['merge', c, v, r]);
      return r;
    },
  };
}

/** What a table does with `rs` until its first refusal: each add's answer, the refused combiner, groups and calls. */
function runTable(dense: boolean, rs: ReadonlyArray<[number, number]>, agg: Aggregator) {
  return withDense(dense, () => {
    const fns = counted(agg);
    const t = new NumberTable();
    const answers: boolean[] = [];
    let wasDense = false;
    let refused: unknown;
    for (const [k, v] of rs) {
      const ok = t.add(k, v, fns.first, fns.merge);
      answers.push(ok);
      wasDense ||= t.dense;
      if (!ok) {
        refused = t.refused;
        break;
      }
    }
    const columns = t.columns();
    const each: Array<[unknown, unknown]> = [];
    t.each((kv) => each.push(kv));
    return {
      answers,
      refused,
      size: t.size,
      keys: Array.from(columns.keys),
      combiners: Array.from(columns.combiners),
      each,
      calls: fns.calls,
      wasDense,
    };
  });
}

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-nt-'));

/** A reduceByKey of `rs` by sum through the external combine under a pool of `limit` bytes, and its spill count. */
function externalSum(rs: ReadonlyArray<[number, number]>, limit: number): { out: Pair[]; spills: number } {
  const budget = new MemoryBudget(limit, mkdtempSync(path.join(scratch, 'budget-')));
  setWorkerMemoryBudget(budget);
  const out: Pair[] = [];
  combineValuesExternally(
    (each) => {
      for (const [k, v] of rs) each([k, v]);
    },
    aggregators.sum!,
    1,
    'reduceByKey',
    (kv) => out.push(kv),
  );
  return { out, spills: budget.spills };
}

/** A spill's output is in key order; whether the table spills depends on a random sample of combiners. */
const sorted = (xs: Pair[]): Pair[] => [...xs].sort((x, y) => compareKeys(x[0], y[0]));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => setWorkerMemoryBudget(undefined));

describe('NumberTable: dense keys addressed directly', () => {
  it('gives what the hashed table gives: groups, order, combiners, refusals and calls (property)', () => {
    let direct = 0;
    let both = 0;
    fc.assert(
      fc.property(records, fc.constantFrom(...Object.keys(aggregators)), (rs, name) => {
        const hashed = runTable(false, rs, aggregators[name]!);
        const dense = runTable(true, rs, aggregators[name]!);
        expect(hashed.wasDense).toBe(false);
        if (dense.wasDense) direct++;
        const { wasDense: _a, ...h } = hashed;
        const { wasDense: _b, ...d } = dense;
        expect(same(d.keys, h.keys)).toBe(true);
        expect(same(d.combiners, h.combiners)).toBe(true);
        expect(same(d.each, h.each)).toBe(true);
        expect(same(d.calls, h.calls)).toBe(true);
        expect(same(d.answers, h.answers)).toBe(true);
        expect(same(d.refused, h.refused)).toBe(true);
        expect(d.size).toBe(h.size);
        if (dense.wasDense && h.size > 0) both++;
      }),
      // 1,500 runs: about one in seven reaches the direct layout, and at 500 runs the count below ranged 46–96
      // (CI once drew 46): the check below must hold on every seed, not on most.
      { numRuns: 1500 },
    );
    // The generator does reach the direct layout (else this compares the hashed table with itself).
    expect(direct).toBeGreaterThan(50);
    expect(both).toBeGreaterThan(50);
  });

  it('moves to the direct layout for dense keys, widens it, and goes back to hashing for a far key', () => {
    const t = new NumberTable();
    const add = (k: number, v: number): boolean =>
      t.add(
        k,
        v,
        (x) => x,
        (a, b) => (a as number) + (b as number),
      );
    for (let k = 0; k < 1000; k++) add(k, 1);
    expect(t.dense).toBe(true);
    // Below the range and beyond it: the range widens.
    add(-500, 2);
    add(2000, 3);
    expect(t.dense).toBe(true);
    for (let k = 0; k < 1000; k++) add(k, 1);
    // A key so far away that the keys would span more than the limit: back to hashing, nothing lost.
    add(1_000_000_000, 4);
    expect(t.dense).toBe(false);
    add(7, 10);
    const { keys, combiners } = t.columns();
    expect(keys.length).toBe(1003);
    expect(Array.from(keys.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(Array.from(keys.subarray(1000))).toEqual([-500, 2000, 1_000_000_000]);
    expect(combiners[7]).toBe(12);
    expect(combiners[999]).toBe(2);
    expect(Array.from(combiners.subarray(1000))).toEqual([2, 3, 4]);
  });

  it('keeps sparse keys hashed', () => {
    const t = new NumberTable();
    for (let i = 0; i < 5000; i++)
      t.add(
        Math.imul(i, 0x9e3779b1),
        i,
        (x) => x,
        (a) => a,
      );
    expect(t.dense).toBe(false);
    expect(t.size).toBe(5000);
  });

  it('through the grouping, with keys of every kind mixed in (-0, NaN, fractions, beyond int32, strings, rows), the groups are the same (property)', () => {
    const other = fc.constantFrom<unknown>(-0, NaN, 0.5, -1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e300, 'a', '', '7', [1, 2], [3]);
    const mixed = fc.tuple(records, fc.array(fc.tuple(fc.nat(), other, value), { maxLength: 4 })).map(([rs, extra]) => {
      const out: Pair[] = rs.map(([k, v]): Pair => [k, v]);
      for (const [at, k, v] of extra) out.splice(out.length === 0 ? 0 : at % (out.length + 1), 0, [k, v]);
      return out;
    });
    fc.assert(
      fc.property(mixed, fc.constantFrom(...Object.keys(aggregators)), (rs, name) => {
        const run = (dense: boolean): { groups: Pair[]; calls: unknown[] } =>
          withDense(dense, () => {
            const fns = counted(aggregators[name]!);
            const g = grouping(fns.first, fns.merge);
            for (const kv of rs) g.add(kv);
            return { groups: g.groups().map(([k, c]): Pair => [k, c]), calls: fns.calls };
          });
        const a = run(true);
        const b = run(false);
        expect(same(a.groups, b.groups)).toBe(true);
        expect(same(a.calls, b.calls)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the external combine spilling under a small budget gives the same output (property)', () => {
    let spilled = 0;
    fc.assert(
      fc.property(manyRecords, fc.constantFrom(2_000, 1 << 30), (rs, limit) => {
        const run = (dense: boolean): Pair[] =>
          withDense(dense, () => {
            const { out, spills } = externalSum(rs, limit);
            if (spills > 0) spilled++;
            return out;
          });
        expect(same(sorted(run(true)), sorted(run(false)))).toBe(true);
      }),
      { numRuns: 60 },
    );
    expect(spilled).toBeGreaterThan(0);
  });
});

/** Records as a flatMap returns them, among the table's keys: other numbers, other kinds, and elements that are no pair. */
const stray = fc.constantFrom<unknown>([-0, 1], [NaN, 2], [0.5, 3], [2 ** 31, 4], ['7', 5], [[1, 2], 6], 7, [1, 2, 3], undefined, [1]);
const flatMapped = records.chain((rs) =>
  fc.array(fc.tuple(fc.nat(rs.length), stray), { maxLength: 3 }).map((inserts) => {
    const xs: unknown[] = [...rs];
    for (const [at, x] of inserts) xs.splice(at, 0, x);
    return xs;
  }),
);

/**
 * What `add` per record does with `xs[from..]` until a record it cannot take: the same checks the grouping makes
 * before each `add` (a pair, a table key), the error of `notAPair`, and where it stopped (as `addPairs` answers).
 */
function addOneByOne(t: NumberTable, xs: readonly unknown[], from: number, fns: ReturnType<typeof counted>): { stop: number; error?: string } {
  for (let i = from; i < xs.length; i++) {
    const kv = xs[i];
    if (!Array.isArray(kv) || kv.length !== 2) return { stop: i, error: `not a pair: ${String(kv)}` };
    const k = kv[0];
    if (typeof k !== 'number' || (k | 0) !== k || Object.is(k, -0)) return { stop: i };
    if (!t.add(k, kv[1], fns.first, fns.merge)) return { stop: ~i };
  }
  return { stop: xs.length };
}

/** Two runs of the same records (one call, or add per record) ended alike: where, what was refused, groups and calls. */
function expectSameEnd(
  a: { refused: unknown; keys: number[]; combiners: number[]; calls: unknown[] },
  b: { refused: unknown; keys: number[]; combiners: number[]; calls: unknown[] },
): void {
  expect(same(a.refused, b.refused)).toBe(true);
  expect(same(a.keys, b.keys)).toBe(true);
  expect(same(a.combiners, b.combiners)).toBe(true);
  expect(same(a.calls, b.calls)).toBe(true);
}

describe("NumberTable#addPairs: a flatMap's array of records in one call", () => {
  it('does what add per record does: groups, order, combiners, calls, where it stops, refusals and the error (property)', () => {
    let refusals = 0;
    let strays = 0;
    let hashedAgain = 0;
    fc.assert(
      fc.property(flatMapped, fc.constantFrom(...Object.keys(aggregators)), fc.boolean(), fc.nat(5), (xs, name, dense, from0) => {
        const from = Math.min(from0, xs.length);
        const run = (many: boolean) =>
          withDense(dense, () => {
            const fns = counted(aggregators[name]!);
            const t = new NumberTable();
            const notAPair = (x: unknown): never => {
              throw new Error(`not a pair: ${String(x)}`);
            };
            let out: { stop: number; error?: string };
            if (many) {
              try {
                out = { stop: t.addPairs(xs, from, xs.length, fns.first, fns.merge, notAPair) };
              } catch (e) {
                out = { stop: -1, error: (e as Error).message };
              }
            } else {
              out = addOneByOne(t, xs, from, fns);
              if (out.error !== undefined) out.stop = -1;
            }
            const sawDense = t.dense;
            const refusal = out.error === undefined && out.stop < 0;
            const columns = t.columns();
            return {
              out,
              refused: refusal ? t.refused : undefined,
              // One by one, the refused record's key is the caller's to read; addPairs reports it.
              refusedKey: !refusal ? undefined : many ? t.refusedKey : (xs[~out.stop] as [number, unknown])[0],
              keys: Array.from(columns.keys),
              combiners: Array.from(columns.combiners),
              calls: fns.calls,
              sawDense,
            };
          });
        const a = run(true);
        const b = run(false);
        expect(a.out).toEqual(b.out);
        expect(same(a.refusedKey, b.refusedKey)).toBe(true);
        expectSameEnd(a, b);
        if (b.out.stop < 0 && b.out.error === undefined) refusals++;
        if (b.out.stop >= 0 && b.out.stop < xs.length) strays++;
        if (dense && !a.sawDense && a.keys.length > 64) hashedAgain++;
      }),
      { numRuns: 600 },
    );
    // The generator reaches each way out of the loop, and tables that left the direct layout again.
    expect(refusals).toBeGreaterThan(20);
    expect(strays).toBeGreaterThan(20);
    expect(hashedAgain).toBeGreaterThan(0);
  });

  it('addColumns does what add per record does for a key column and a value column (property)', () => {
    let refusals = 0;
    fc.assert(
      fc.property(records, fc.constantFrom(...Object.keys(aggregators)), fc.boolean(), fc.nat(5), fc.boolean(), (rs, name, dense, from0, ints) => {
        const keys = Int32Array.from(rs, ([k]) => k);
        // Int32 values as a fetched bucket of int32 numbers holds them, else doubles (-0 and NaN included).
        const vs = ints ? Int32Array.from(rs, ([, v]) => v | 0) : Float64Array.from(rs, ([, v]) => v);
        const from = Math.min(from0, rs.length);
        const run = (columns: boolean) =>
          withDense(dense, () => {
            const fns = counted(aggregators[name]!);
            const t = new NumberTable();
            let stop = rs.length;
            if (columns) stop = t.addColumns(keys, vs, from, rs.length, fns.first, fns.merge);
            else
              for (let i = from; i < rs.length; i++) {
                if (t.add(keys[i]!, vs[i], fns.first, fns.merge)) continue;
                stop = ~i;
                break;
              }
            const refused = stop < 0 ? t.refused : undefined;
            // The refused record left the table as it was: the same records then go on alike, the refused one first
            // (a key left marked present without its group would be merged into, not created).
            const goOn = counted(aggregators.sum!);
            if (stop < 0) for (let i = ~stop; i < rs.length; i++) t.add(keys[i]!, vs[i], goOn.first, goOn.merge);
            const c = t.columns();
            return {
              stop,
              refused,
              keys: Array.from(c.keys),
              combiners: Array.from(c.combiners),
              calls: [...fns.calls, ...goOn.calls],
            };
          });
        const a = run(true);
        const b = run(false);
        expect(a.stop).toBe(b.stop);
        expectSameEnd(a, b);
        if (b.stop < 0) refusals++;
      }),
      { numRuns: 500 },
    );
    expect(refusals).toBeGreaterThan(20);
  });

  it("addColumns over fetched buckets (distinct keys, mostly new: a reduce task's input) does what add per record does (property)", () => {
    let refusedNew = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: -5000, max: 5000 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 100, max: 3000 }),
        fc.array(fc.nat(), { minLength: 2, maxLength: 3 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.boolean(),
        (base, stride, span, seeds, refuseAt0, dense) => {
          // Each bucket: distinct keys of a strided dense range (as a hash partition sees them), in its own order,
          // about three in four of the range; the buckets overlap, so later ones merge as well as add.
          const range = Array.from({ length: span }, (_, i) => base + i * stride);
          const buckets = seeds.map((seed) => {
            let x = seed | 1;
            const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
            const ks = range.filter(() => next() % 4 !== 0);
            for (let i = ks.length - 1; i > 0; i--) {
              const j = next() % (i + 1);
              [ks[i], ks[j]] = [ks[j]!, ks[i]!];
            }
            return ks;
          });
          const keys = Int32Array.from(buckets.flat());
          const vs = Float64Array.from(keys, (k, i) => (k % 7) + i / 8);
          // Optionally one record whose first combiner is refused (a string), wherever it falls.
          // Spread over the records by a hash of the generated number (fast-check favours small numbers, which would
          // put most refusals among the first keys, before the table moves to the direct layout).
          const refuseAt = refuseAt0 === undefined || keys.length === 0 ? -1 : (Math.imul(refuseAt0 + 1, 0x9e3779b1) >>> 0) % keys.length;
          const agg: Aggregator = {
            createCombiner: (v) => (v === vs[refuseAt] ? `refused ${v}` : v),
            mergeValue: (a, b) => (a as number) + (b as number),
            mergeCombiners: (a, b) => (a as number) + (b as number),
          };
          const run = (columns: boolean) =>
            withDense(dense, () => {
              const fns = counted(agg);
              const t = new NumberTable();
              let stop = keys.length;
              // Bucket by bucket, as a reducer adds its fetched inputs.
              let at = 0;
              for (const b of buckets) {
                const to = at + b.length;
                if (columns) stop = t.addColumns(keys, vs, at, to, fns.first, fns.merge);
                else {
                  stop = to;
                  for (let i = at; i < to; i++) {
                    if (t.add(keys[i]!, vs[i], fns.first, fns.merge)) continue;
                    stop = ~i;
                    break;
                  }
                }
                if (stop < 0) break;
                at = to;
              }
              const refused = stop < 0 ? t.refused : undefined;
              const wasDense = t.dense;
              // The table is as it was before the refused record: the rest goes on alike, the refused one first.
              const goOn = counted(aggregators.sum!);
              if (stop < 0) for (let i = ~stop; i < keys.length; i++) t.add(keys[i]!, vs[i], goOn.first, goOn.merge);
              const c = t.columns();
              return { stop, refused, wasDense, keys: Array.from(c.keys), combiners: Array.from(c.combiners), calls: [...fns.calls, ...goOn.calls] };
            });
          const a = run(true);
          const b = run(false);
          expect(a.stop).toBe(b.stop);
          expectSameEnd(a, b);
          if (a.stop < 0 && a.wasDense && !keys.subarray(0, ~a.stop).includes(keys[~a.stop]!)) refusedNew++;
        },
      ),
      { numRuns: 50 },
    );
    // The generator reaches a new key refused in the direct layout.
    expect(refusedNew).toBeGreaterThan(2);
  });

  it('widens the direct layout and goes back to hashing in the middle of one array', () => {
    const t = new NumberTable();
    const sum = (a: unknown, b: unknown): unknown => (a as number) + (b as number);
    const notAPair = (x: unknown): never => {
      throw new Error(`not a pair: ${String(x)}`);
    };
    const xs: Array<[number, number]> = [];
    for (let k = 0; k < 200; k++) xs.push([k, 1]);
    // Below the range (widens it), the dense keys again (merges through the widened arrays), then a far key.
    xs.push([-300, 1]);
    for (let k = 0; k < 200; k++) xs.push([k, 2]);
    xs.push([DENSE_SPAN_FLOOR * 40, 5]);
    for (let k = 0; k < 200; k++) xs.push([k, 4]);
    expect(t.addPairs(xs, 0, xs.length, (v) => v, sum, notAPair)).toBe(xs.length);
    expect(t.dense).toBe(false);
    const { keys, combiners } = t.columns();
    expect(keys.length).toBe(202);
    expect(Array.from(keys.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(Array.from(combiners.subarray(0, 3))).toEqual([7, 7, 7]);
    expect(Array.from(keys.subarray(200))).toEqual([-300, DENSE_SPAN_FLOOR * 40]);
    expect(Array.from(combiners.subarray(200))).toEqual([1, 5]);
  });
});

describe('NumberTable: arrays from the thread pool (util/scratch-arrays.ts)', () => {
  afterEach(() => setMinPooledBytes(MIN_POOLED_BYTES));

  it('tables living side by side and released at any point give what unpooled tables give (property)', () => {
    // Steps on up to three tables at once: records into one (created at first use), or one released (its groups
    // read first, as the combine reads them) and replaced by a new one later. Every array is pooled, so released
    // arrays go straight to the next table that grows: a table still reading an array it gave back, or two tables
    // handed the same one, changes the groups.
    const step = fc.oneof(fc.record({ table: fc.nat(2), records }), fc.record({ release: fc.nat(2) }));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), fc.boolean(), (steps, dense) => {
        const run = (minBytes: number): unknown[] =>
          withDense(dense, () => {
            const was = setMinPooledBytes(minBytes);
            try {
              const tables: Array<NumberTable | undefined> = [];
              const read: unknown[] = [];
              const done = (i: number): void => {
                const t = tables[i];
                if (t === undefined) return;
                const { keys, combiners } = t.columns();
                const each: Array<[unknown, unknown]> = [];
                t.each((kv) => each.push(kv));
                read.push([i, Array.from(keys), Array.from(combiners), each]);
                t.release();
                expect(t.size).toBe(0);
                tables[i] = undefined;
              };
              for (const s of steps) {
                if ('release' in s) done(s.release);
                else {
                  const t = (tables[s.table] ??= new NumberTable());
                  for (const [k, v] of s.records)
                    t.add(
                      k,
                      v,
                      (x) => x,
                      (a, b) => (a as number) + (b as number),
                    );
                }
              }
              for (let i = 0; i < 3; i++) done(i);
              return read;
            } finally {
              setMinPooledBytes(was);
            }
          });
        expect(same(run(1), run(Number.POSITIVE_INFINITY))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the external combine, spilling or not, gives the same output with every array pooled (property)', () => {
    // Spills release a grouping in the middle of the input and the output releases the last one: the next
    // grouping (here the next run's) takes their arrays.
    fc.assert(
      fc.property(manyRecords, fc.constantFrom(2_000, 1 << 30), (rs, limit) => {
        const run = (minBytes: number): Pair[] => {
          const was = setMinPooledBytes(minBytes);
          try {
            return externalSum(rs, limit).out;
          } finally {
            setMinPooledBytes(was);
          }
        };
        const a = run(1);
        expect(same(sorted(a), sorted(run(1)))).toBe(true);
        expect(same(sorted(a), sorted(run(Number.POSITIVE_INFINITY)))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('a released table is empty and takes new groups', () => {
    const t = new NumberTable();
    const sum = (a: unknown, b: unknown): unknown => (a as number) + (b as number);
    for (let k = 0; k < 50_000; k++) t.add(k, 1, (x) => x, sum);
    expect(t.dense).toBe(true);
    t.release();
    expect(t.size).toBe(0);
    expect(Array.from(t.columns().keys)).toEqual([]);
    t.add(-5, 2, (x) => x, sum);
    t.add(-5, 3, (x) => x, sum);
    expect(Array.from(t.columns().combiners)).toEqual([5]);
  });
});
