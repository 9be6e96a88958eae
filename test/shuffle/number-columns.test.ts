/**
 * A reduce task combines fetched buckets of number values, with int32 keys or keys in a plain array (the words of a
 * word count), straight from their columns (FetchedInput's `read`, the grouping's `addNumbers`, ExternalCombiner's
 * `addNumbers`), without a pair per record. Adding columns must do exactly what adding their records as pairs does: the same groups in the same
 * order, the same combiners (every number, -0 and NaN included), the same calls of createCombiner and merge,
 * whatever came before (keys of other kinds, a combiner that stops being a number) and with spills.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/core/keys.js';
import { columnKey, encodeBucket, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import { grouping, type Pair } from '../../src/shuffle/combine.js';
import { combineCombinersExternally, combineValuesExternally } from '../../src/shuffle/external-combiner.js';
import { FetchedInput } from '../../src/shuffle/fetched-input.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';

/** Deep equality that tells -0 from 0 and NaN from nothing (toEqual does not). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

const zero = (k: unknown): unknown => (Object.is(k, -0) ? 0 : k);
const byKey = (xs: Pair[]): Pair[] => xs.map(([k, v]): Pair => [zero(k), v]).sort((a, b) => compareKeys(a[0], b[0]));

/**
 * A chunk of input: pairs of any keys, or columns of number values (doubles or int32) with int32 keys or keys in a
 * plain array (a fetched bucket's string keys, sometimes with keys of other kinds among them).
 */
type Chunk = { pairs: Pair[] } | { keys: Int32Array | unknown[]; values: Float64Array | Int32Array };

const intKey = fc.integer({ min: -20, max: 60 });
const anyKey = fc.oneof({ weight: 8, arbitrary: intKey }, { weight: 1, arbitrary: fc.constantFrom<unknown>(-0, NaN, 0.5, 2 ** 31, 'a', '', [1, 2]) });
const double = fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, 0.25));
/** Words of any UTF-16 code units (lone surrogates included), empty, short and long, from a small pool so that they repeat. */
const word = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'ba', 'b', '', 'é', '\ud800', '\udc00x', '😀', '\u0001a', 'a word over nine characters') },
  { weight: 1, arbitrary: fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 20 }) },
);
const strayKey = fc.constantFrom<unknown>(7, -0, NaN, 0.5, null, [1, 2], ['a']);
/** A plain-array key column: all words, or words with a stray key of another kind. */
const wordKeys = fc.oneof(
  fc.array(word, { maxLength: 60 }),
  fc.array(fc.oneof({ weight: 15, arbitrary: word }, { weight: 1, arbitrary: strayKey }), { maxLength: 60 }),
);
const wordColumns: fc.Arbitrary<Chunk> = fc.oneof(
  wordKeys.chain((ks) => fc.array(double, { minLength: ks.length, maxLength: ks.length }).map((vs) => ({ keys: ks, values: Float64Array.from(vs) }))),
  wordKeys.chain((ks) =>
    fc
      .array(fc.integer({ min: -1000, max: 1000 }), { minLength: ks.length, maxLength: ks.length })
      .map((vs) => ({ keys: ks, values: Int32Array.from(vs) })),
  ),
);
const chunk: fc.Arbitrary<Chunk> = fc.oneof(
  fc
    .array(fc.tuple(intKey, double), { maxLength: 80 })
    .map((xs) => ({ keys: Int32Array.from(xs.map(([k]) => k)), values: Float64Array.from(xs.map(([, v]) => v)) })),
  fc.array(fc.tuple(intKey, fc.integer({ min: -1000, max: 1000 })), { maxLength: 80 }).map((xs) => ({
    keys: Int32Array.from(xs.map(([k]) => k)),
    values: Int32Array.from(xs.map(([, v]) => v)),
  })),
  fc.array(fc.tuple(anyKey, double), { maxLength: 40 }).map((xs) => ({ pairs: xs as Pair[] })),
  wordColumns,
  fc
    .array(fc.tuple(fc.oneof({ weight: 8, arbitrary: word }, { weight: 1, arbitrary: anyKey }), double), { maxLength: 40 })
    .map((xs) => ({ pairs: xs as Pair[] })),
);
const chunks = fc.array(chunk, { maxLength: 8 });
/** Enough records (2k-5k) to measure the table several times (every 1,024 records) and spill under a small budget. */
const manyChunks = fc.array(
  fc.oneof(
    fc.array(fc.tuple(intKey, double), { minLength: 100, maxLength: 250 }).map(
      (xs): Chunk => ({
        keys: Int32Array.from(xs.map(([k]) => k)),
        values: Float64Array.from(xs.map(([, v]) => v)),
      }),
    ),
    fc.array(fc.tuple(anyKey, double), { minLength: 20, maxLength: 60 }).map((xs): Chunk => ({ pairs: xs as Pair[] })),
  ),
  { minLength: 15, maxLength: 25 },
);
/** As manyChunks, of word columns (many distinct words, so that the string table is measured and spills). */
const manyWordChunks = fc.array(
  fc.oneof(
    fc
      .array(fc.tuple(fc.oneof({ weight: 3, arbitrary: word }, { weight: 1, arbitrary: fc.nat(400).map((n) => `w${n}`) }), double), {
        minLength: 100,
        maxLength: 250,
      })
      .map((xs): Chunk => ({ keys: xs.map(([k]) => k), values: Float64Array.from(xs.map(([, v]) => v)) })),
    fc.array(fc.tuple(fc.oneof(word, anyKey), double), { minLength: 20, maxLength: 60 }).map((xs): Chunk => ({ pairs: xs as Pair[] })),
  ),
  { minLength: 15, maxLength: 25 },
);

/** The pairs of a chunk, as a decoded bucket holds them. */
const pairsOf = (c: Chunk): Pair[] => ('pairs' in c ? c.pairs : Array.from(c.keys as ArrayLike<unknown>, (k, i): Pair => [k, c.values[i]]));

/** Aggregators that keep numbers, stop keeping them (a string for a large sum), or never do (lists). */
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

/** Counts createCombiner and merge calls and the values they got, to compare the two ways of adding. */
function counted(agg: Aggregator): { agg: Aggregator; calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    agg: {
      createCombiner: (v) => {
        calls.push(['first', v]);
        return agg.createCombiner(v);
      },
      mergeValue: (c, v) => {
        calls.push(['merge', c, v]);
        return agg.mergeValue(c, v);
      },
      mergeCombiners: (a, b) => {
        calls.push(['combine', a, b]);
        return agg.mergeCombiners(a, b);
      },
    },
  };
}

// One scratch folder for the file's budgets (a property test makes hundreds), removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-nc-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => setWorkerMemoryBudget(undefined));

describe('combining number columns without pairs', () => {
  it('grouping.addNumbers does what adding each record as a pair does (property)', () => {
    fc.assert(
      fc.property(chunks, fc.constantFrom(...Object.keys(aggregators)), (cs, name) => {
        const a = counted(aggregators[name]!);
        const b = counted(aggregators[name]!);
        const byColumns = grouping(a.agg.createCombiner, a.agg.mergeValue);
        const byPairs = grouping(b.agg.createCombiner, b.agg.mergeValue);
        for (const c of cs) {
          if ('pairs' in c) for (const kv of c.pairs) byColumns.add(kv);
          else byColumns.addNumbers(c.keys, c.values, 0, c.keys.length);
          for (const kv of pairsOf(c)) byPairs.add(kv);
        }
        expect(same(byColumns.groups(), byPairs.groups())).toBe(true);
        expect(same(a.calls, b.calls)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('the external combine with spills gives what it gives for the same records as pairs (property)', () => {
    let spilled = 0;
    fc.assert(
      // Aggregators whose merges agree (a spill merges what the table held with mergeCombiners), and enough
      // records to measure the table several times (every 1,024 records) and spill under the small budget.
      fc.property(
        fc.oneof(manyChunks, manyWordChunks),
        fc.constantFrom('sum', 'list'),
        fc.constantFrom(2_000, 1 << 30),
        fc.boolean(),
        // The reduce's hint of how many groups come (fewer, or more than come): the columns' run takes it.
        fc.constantFrom(0, 40, 5_000),
        (cs, name, limit, combiners, expected) => {
          const run = (columns: boolean): Pair[] => {
            const budget = new MemoryBudget(limit, mkdtempSync(path.join(scratch, 'budget-')));
            setWorkerMemoryBudget(budget);
            const out: Pair[] = [];
            const source = (
              each: (kv: Pair) => void,
              numbers: (k: Int32Array | readonly unknown[], v: Float64Array | Int32Array, from: number, to: number) => void,
            ): void => {
              for (const c of cs) {
                if (columns && !('pairs' in c)) numbers(c.keys, c.values, 0, c.keys.length);
                else for (const kv of pairsOf(c)) each(kv);
              }
            };
            // Merging combiners of lists needs lists: the list aggregator combines values only.
            const combine = combiners && name !== 'list' ? combineCombinersExternally : combineValuesExternally;
            combine(source, aggregators[name]!, 1, 'reduceByKey', (kv) => out.push(kv), [], undefined, columns ? expected : 0);
            if (columns && budget.spills > 0) spilled++;
            return out;
          };
          // Whether the table spills depends on a random sample of combiners (so on the run, not on the way records
          // came): after a spill the groups come in key order, and of -0 and 0 (one key) either may be the key kept.
          expect(same(byKey(run(true)), byKey(run(false)))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
    // The small budget did make the column path spill.
    expect(spilled).toBeGreaterThan(0);
  });

  it("FetchedInput's read hands encoded buckets of number values over as columns and the rest as pairs, in the buckets' order", () => {
    fc.assert(
      fc.property(chunks, (cs) => {
        const input = new FetchedInput(undefined);
        // Some buckets arrive as arrays, the others encoded (as a peer's or this worker's stored output).
        const buckets = cs.map((c, i): Pair[] | EncodedBucket => (i % 3 === 2 ? pairsOf(c) : encodeBucket(pairsOf(c))));
        input.add(
          cs.map((_, i) => i),
          buckets,
        );
        const read: Pair[] = [];
        let columns = 0;
        const parts = input.parts();
        expect(parts.largestBucket).toBe(Math.max(0, ...cs.map((c) => pairsOf(c).length)));
        expect(parts.inMemoryRecords).toBe(cs.reduce((n, c) => n + pairsOf(c).length, 0));
        parts.read(
          (kv) => read.push(kv),
          (keys, values, from, to) => {
            columns++;
            for (let i = from; i < to; i++) read.push([columnKey(keys, i), values[i]]);
          },
        );
        const expected = cs.flatMap(pairsOf);
        expect(same(read, expected)).toBe(true);
        const numeric = buckets.filter(
          (b) =>
            !Array.isArray(b) &&
            b.length > 0 &&
            (b.keys.kind === 'i32' || b.keys.kind === 'any') &&
            (b.values.kind === 'f64' || b.values.kind === 'i32'),
        );
        expect(columns).toBe(numeric.length);
      }),
      { numRuns: 300 },
    );
  });
});
