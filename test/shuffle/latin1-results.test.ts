/**
 * A reduce task whose groups end in the string table (string keys, number combiners) hands them to collect as
 * chars where it can (`StringTable.stringColumns`: one byte a char while every char is below 256, `latin1`, else one
 * UTF-16 code unit a char, `utf16`, and the strings' ends; a packed key's chars come from its ints, no string made),
 * and the driver makes each key's string as it merges (`eachPair` of the column). The chars must decode to exactly
 * the keys `columns()` gives (lone surrogates and astral chars included), in the same order, with the same
 * combiners; a combiner that is not a number keeps the plain form; fewer than LATIN1_FROM groups go as strings. End
 * to end, collectAsMap of such a reduceByKey is the map of each partition's own pairs (as `glom().collect()`, which
 * never travels as chars, lists them), on every backend.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LATIN1_FROM, stringKeysOf, type StringColumn } from '../../src/shuffle/bucket-codec.js';
import { StringTable } from '../../src/shuffle/key-table.js';
import { combineValuesExternally, type NumberGroupsSink } from '../../src/shuffle/external-combiner.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { MODES, useContext } from '../rdd/helpers.js';
import { expectPartitionsInSomeOrder } from '../rdd/map-order.js';
import { wideWord as wideWordOfEveryShape } from '../fixtures/column-arbitraries.js';

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
/** Keys the bytes carry: empty, `__proto__`, every char below 256, packed (up to 8 chars) and longer. */
const latin1Word = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', 'a', 'é', '\u0000', '\u0001x', '\u00ff\u0080', '__proto__', 'constructor', 'eight ch', 'nine char') },
  { weight: 3, arbitrary: fc.string({ unit: latin1Char, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: latin1Char, minLength: 9, maxLength: 40 }) },
  { weight: 3, arbitrary: fc.nat(2000).map((n) => `w${n}`) },
);
/** String keys bytes cannot carry (utf16 code units do): a char above 255, lone surrogates, an astral char, short and long. */
const wideWord = fc.oneof(
  fc.constantFrom('\u0100', '\ud800', 'x\udc00', '😀', 'ā long word over eight', 'long word with a lone \udfff'),
  wideWordOfEveryShape,
);
// Each property's own count unless FUZZ_RUNS asks for another (a search, or a quick replay).
const RUNS = process.env.FUZZ_RUNS === undefined ? undefined : Number(process.env.FUZZ_RUNS);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const params = (numRuns: number) => ({ numRuns: RUNS ?? numRuns, seed: SEED });
console.log(`latin1-results: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS ?? 'default'}`);
const number = fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, 1, 0.25));

const sum = (a: unknown, b: unknown): unknown => (typeof a === 'number' && typeof b === 'number' ? a + b : `${String(a)}${String(b)}`);

describe('StringTable.stringColumns', () => {
  it('gives the keys of columns() as chars (latin1 bytes, or utf16 code units once a key has a wider char), in order, with the same combiners; undefined for a combiner that is not a number (property)', () => {
    const records = fc.array(
      fc.tuple(
        fc.oneof({ weight: 30, arbitrary: latin1Word }, { weight: 1, arbitrary: wideWord }),
        fc.oneof({ weight: 40, arbitrary: number }, { weight: 1, arbitrary: fc.constant<unknown>('x') }),
      ),
      { maxLength: 700 },
    );
    fc.assert(
      fc.property(records, (rs) => {
        const t = new StringTable();
        for (const [k, v] of rs) t.add(k, v, (x) => x, sum);
        const got = t.stringColumns();
        const wide = rs.some(([k]) => [...k].some((c) => c.charCodeAt(0) > 255));
        const cols = t.columns();
        if (cols === undefined) {
          expect(got).toBeUndefined();
          return;
        }
        expect(got).toBeDefined();
        expect(got!.keys.kind).toBe(wide ? 'utf16' : 'latin1');
        const keys = stringKeysOf(got!.keys);
        expect(keys.length).toBe(cols.keys.length);
        for (let i = 0; i < cols.keys.length; i++) {
          expect(keys.key(i)).toBe(cols.keys[i]);
          expect(Object.is(got!.combiners[i], cols.combiners[i])).toBe(true);
        }
        expect(got!.keys.data.length).toBe(cols.keys.reduce((n, k) => n + k.length, 0));
      }),
      params(300),
    );
  });
});

describe('the combine hands string groups to a sink that takes bytes', () => {
  /** Combines `records` into a sink that takes bytes; returns how it was called and the groups it got. */
  function combined(records: readonly Pair[]): { how: string; groups: Array<[unknown, unknown]> } {
    let how = 'pairs';
    const groups: Array<[unknown, unknown]> = [];
    const sink: NumberGroupsSink = Object.assign(
      (keys: Int32Array | string[], combiners: Float64Array): void => {
        how = keys instanceof Int32Array ? 'ints' : 'strings';
        for (let i = 0; i < keys.length; i++) groups.push([keys[i], combiners[i]]);
      },
      {
        stringColumns: (column: StringColumn, combiners: Float64Array): void => {
          how = column.kind;
          const keys = stringKeysOf(column);
          for (let i = 0; i < keys.length; i++) groups.push([keys.key(i), combiners[i]]);
        },
      },
    );
    combineValuesExternally(
      (add) => {
        for (const kv of records) add(kv);
      },
      { createCombiner: (v) => v, mergeValue: sum, mergeCombiners: sum },
      1,
      'RDD 1',
      (kv) => groups.push(kv),
      undefined,
      sink,
    );
    return { how, groups };
  }
  /** The groups in first-seen order, as a Map of the same records gives them. */
  const expected = (records: readonly Pair[]): Array<[unknown, unknown]> => {
    const m = new Map<unknown, unknown>();
    for (const [k, v] of records) m.set(k, m.has(k) ? sum(m.get(k), v) : v);
    return [...m];
  };

  it('as latin1 bytes from LATIN1_FROM groups of latin1 keys on, as utf16 code units with a wide key, as strings below LATIN1_FROM, the same groups every way (property)', () => {
    const seen = { latin1: 0, utf16: 0, strings: 0 };
    fc.assert(
      fc.property(
        fc.array(latin1Word, { maxLength: 600 }),
        fc.constantFrom(0, 200, 255, 256, 400),
        fc.option(wideWord, { freq: 3 }),
        fc.nat(),
        (some, distinct, wide, at) => {
          // `distinct` more keys (packed, 2-5 chars) around LATIN1_FROM groups.
          const ws = [...some, ...Array.from({ length: distinct }, (_, i) => `v${i}`)];
          const keys = wide === null ? ws : [...ws.slice(0, at % (ws.length + 1)), wide, ...ws.slice(at % (ws.length + 1))];
          const records = keys.map((k, i): Pair => [k, i % 7]);
          const { how, groups } = combined(records);
          const want = expected(records);
          expect(groups).toEqual(want);
          // No record, no table: nothing is handed over as columns.
          expect(how).toBe(want.length === 0 ? 'pairs' : want.length < LATIN1_FROM ? 'strings' : wide === null ? 'latin1' : 'utf16');
          if (how === 'latin1' || how === 'utf16' || how === 'strings') seen[how]++;
        },
      ),
      params(150),
    );
    // Every way was taken (the property says nothing of a way never taken).
    expect(seen.latin1).toBeGreaterThan(2);
    expect(seen.utf16).toBeGreaterThan(2);
    expect(seen.strings).toBeGreaterThan(2);
  });

  it('keeps int32 keys as ints and anything else as pairs', () => {
    const ints = Array.from({ length: 600 }, (_, i): Pair => [i % 300, 1]);
    expect(combined(ints)).toEqual({ how: 'ints', groups: expected(ints) });
    const mixed = Array.from({ length: 600 }, (_, i): Pair => [i % 2 === 0 ? `k${i}` : i, 1]);
    expect(combined(mixed)).toEqual({ how: 'pairs', groups: expected(mixed) });
  });
});

describe.each(MODES)('collectAsMap of a reduceByKey whose result travels as bytes (%s)', (master) => {
  const ctx = useContext(master);

  it('is the map of each partition, for keys of every kind (property)', async () => {
    const words = fc.array(fc.oneof({ weight: 40, arbitrary: latin1Word }, { weight: 1, arbitrary: wideWord }), { minLength: 500, maxLength: 3000 });
    await fc.assert(
      fc.asyncProperty(words, fc.integer({ min: 1, max: 3 }), async (ws, parts) => {
        // Many distinct words, so that each reduce partition holds LATIN1_FROM or more groups.
        const all = [...ws, ...Array.from({ length: 1500 }, (_, i) => `u${i}`)];
        const counts = ctx()
          .parallelize(all, 2)
          .map((w): [string, number] => [w, 1])
          .reduceByKey((a, b) => a + b, parts);
        const got = await counts.collectAsMap();
        const perPartition = (await counts.glom().collect()) as Array<Array<[unknown, unknown]>>;
        expectPartitionsInSomeOrder(got, perPartition);
        const plain = new Map<string, number>();
        for (const w of all) plain.set(w, (plain.get(w) ?? 0) + 1);
        expect(got.size).toBe(plain.size);
        for (const [w, n] of plain) expect(got.get(w)).toBe(n);
      }),
      { numRuns: 8 },
    );
  });
});
