/**
 * The by-key grouping of every aggregating shuffle (combine.ts) keeps int32 keys in a typed-array table, short
 * strings and structural keys in a KeyTable and the other keys in a Map, and while all keys are int32 rows of
 * one width, a RowTable without group objects. Whatever mix of keys arrives, its groups must be those of the
 * plain definition: one per structurally equal key (-0 and 0 one key, NaN one key), holding the first-seen key
 * object (for int32 rows: an equal array), combined in arrival order, listed in first-seen order. While every key
 * is a string, a StringTable holds the groups, with number combiners in a Float64Array: the same must hold there,
 * with combiners that stop being numbers midway and keys of another kind arriving at any point.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keysEqual } from '../../src/core/keys.js';
import { isIntRow } from '../../src/shuffle/key-table.js';
import { grouping, type Grouping, type Pair } from '../../src/shuffle/combine.js';
import { smallKey, wideKey } from '../core/key-arbitraries.js';

/** The definition, by linear search: slow, and independent of the tables. */
function reference(records: readonly Pair[]): Array<[unknown, unknown[]]> {
  const groups: Array<[unknown, unknown[]]> = [];
  for (const [k, v] of records) {
    const g = groups.find(([gk]) => keysEqual(gk, k));
    if (g === undefined) groups.push([k, [v]]);
    else g[1].push(v);
  }
  return groups;
}

/**
 * Adds `records` to `g` and checks its groups against the definition: streamed and listed alike, one per key in
 * first-seen order, each holding the very key object seen first (Object.is: -0 stays -0 if it came first; an int32
 * row may be a copy); `checkCombiner` compares a group's combiner with the values of its key, in arrival order.
 */
function checkGroups(g: Grouping, records: readonly Pair[], checkCombiner: (c: unknown, values: unknown[]) => void): void {
  for (const kv of records) g.add(kv);
  const got = g.groups();
  const streamed: Pair[] = [];
  g.each((kv) => streamed.push(kv));
  expect(streamed).toEqual(got);
  const expected = reference(records);
  expect(got.length).toBe(expected.length);
  got.forEach(([k, c], i) => {
    if (isIntRow(expected[i]![0])) expect(k).toEqual(expected[i]![0]);
    else expect(Object.is(k, expected[i]![0])).toBe(true);
    checkCombiner(c, expected[i]![1]);
  });
}

const int32 = fc.oneof(fc.integer({ min: -40, max: 40 }), fc.constantFrom(-0, 2 ** 31 - 1, -(2 ** 31), 1 << 20, 3 << 20, 5 << 20));
const nearInt = fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 0.5, NaN, Infinity, 1e-300);
const row = fc.oneof(
  fc.tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0, max: 3 })),
  fc.tuple(int32, int32, int32),
  fc.tuple(fc.integer({ min: -2, max: 2 })),
  fc.tuple(fc.integer({ min: 0, max: 1 }), int32, fc.integer({ min: 0, max: 1 }), fc.integer({ min: -1, max: 0 })),
  fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 6, maxLength: 6 }),
);
const key = fc.oneof(int32, nearInt, row, fc.constantFrom('a', 'b', 'a long string key', [1, -0], [1.5, 2]), smallKey, wideKey);

describe('grouping', () => {
  it('groups like the definition, over keys of every kind mixed in any order', () => {
    // Often all rows for a while (the RowTable), then anything (which moves them to the KeyTable).
    const recordLists = fc
      .tuple(fc.array(fc.tuple(row, fc.integer()), { maxLength: 40 }), fc.array(fc.tuple(fc.oneof(int32, key), fc.integer()), { maxLength: 60 }))
      .map(([a, b]) => [...a, ...b]);
    fc.assert(
      fc.property(recordLists, (records) => {
        const g = grouping(
          (v) => [v],
          (c, v) => {
            (c as unknown[]).push(v);
            return c;
          },
        );
        checkGroups(g, records as Pair[], (vs, values) => expect(vs).toEqual(values));
      }),
      { numRuns: 1000 },
    );
  });

  it('groups rows whose combiners are all null (distinct) like the definition, also when a combiner that is not null comes', () => {
    // The RowTable stores no combiner while all are null; a first value or a merge giving something else must find
    // every earlier group still null, and that one holding its value.
    const value = fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(0, 'x', undefined, [1]) });
    // Rows of one width from a small domain (so keys repeat), as long as the RowTable holds them; then anything.
    const oneWidth = fc.constantFrom<fc.Arbitrary<number[]>>(
      fc.tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0, max: 3 })),
      fc.tuple(fc.integer({ min: 0, max: 2 })),
      fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.constant(7), fc.integer({ min: -1, max: 0 })),
    );
    const recordLists = oneWidth.chain((r) =>
      fc
        .tuple(fc.array(fc.tuple(r, value), { maxLength: 60 }), fc.array(fc.tuple(fc.oneof(r, key), value), { maxLength: 10 }))
        .map(([a, b]) => [...a, ...b]),
    );
    const keepFirstNotNull = (c: unknown, v: unknown): unknown => (c === null ? v : c);
    fc.assert(
      fc.property(recordLists, (records) => {
        checkGroups(
          grouping((v) => v, keepFirstNotNull),
          records as Pair[],
          (c, vs) => expect(Object.is(c, vs.slice(1).reduce(keepFirstNotNull, vs[0]))).toBe(true),
        );
      }),
      { numRuns: 1000 },
    );
    // Many groups through the table growing, all null, then one merge that is not.
    const g = grouping((v) => v, keepFirstNotNull);
    for (let i = 0; i < 70_000; i++) g.add([[i, i * 3], null]);
    g.add([[5, 15], 'x']);
    const groups = g.groups();
    expect(groups.length).toBe(70_000);
    expect(groups.every(([k, c], i) => (k as number[])[0] === i && (k as number[])[1] === i * 3 && c === (i === 5 ? 'x' : null))).toBe(true);
  });

  it('holds many int keys, spread or multiples of a power of two, through the table growing', () => {
    // Strides whose 50k multiples stay int32: the worst case of a table indexed by the low bits of the key.
    for (const stride of [1, 1024, 1 << 14, -7]) {
      const g = grouping(
        (v) => v,
        (c, v) => (c as number) + (v as number),
      );
      for (let r = 0; r < 3; r++) for (let i = 0; i < 50_000; i++) g.add([i * stride, 1]);
      const groups = g.groups();
      expect(groups.length).toBe(50_000);
      expect(groups.every(([k, n], i) => k === i * stride && n === 3)).toBe(true);
    }
  });

  it('holds many int32 rows through the row table growing, then moves them to the key table in order', () => {
    const g = grouping(
      (v) => v,
      (c, v) => (c as number) + (v as number),
    );
    for (let r = 0; r < 2; r++) for (let i = 0; i < 60_000; i++) g.add([[i % 300, Math.floor(i / 300) << 12], 1]);
    g.add(['not a row', 5]);
    g.add([[7, 0], 1]);
    const groups = g.groups();
    expect(groups.length).toBe(60_001);
    expect(
      groups
        .slice(0, 60_000)
        .every(([k, n], i) => (k as number[])[0] === i % 300 && (k as number[])[1] === Math.floor(i / 300) << 12 && n === (i === 7 ? 3 : 2)),
    ).toBe(true);
    expect(groups[60_000]).toEqual(['not a row', 5]);
  });

  it('holds string keys with number combiners like the definition, also when a combiner or a key stops fitting', () => {
    // Words of any length (the KeyTable holds up to 8 characters, a Map the rest) and unicode; values are mostly
    // numbers, sometimes a string (a combiner that is no number) or a -0, NaN or fraction; now and then a key of
    // another kind, which moves every group out of the StringTable.
    const word = fc.oneof(fc.constantFrom('', 'a', 'b', 'ab', 'a long string key', 'ünï', '\u{1F600}'), fc.string({ maxLength: 12 }));
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: -5, max: 5 }) },
      { weight: 1, arbitrary: fc.constantFrom(-0, NaN, 0.25, 1e300, 'x') },
    );
    const recordLists = fc.array(fc.tuple(fc.oneof({ weight: 20, arbitrary: word }, { weight: 1, arbitrary: key }), value), { maxLength: 80 });
    // Addition keeps numbers numbers (and turns a number plus 'x' into a string); a sum is checked against the
    // definition's values folded the same way, in arrival order.
    const plus = (c: unknown, v: unknown): unknown => (c as number) + (v as number);
    // A table sized in advance (a reduce task's hint: fewer, as many or more groups than come) changes nothing.
    fc.assert(
      fc.property(recordLists, fc.constantFrom(0, 1, 31, 33, 200), (records, expectedGroups) => {
        checkGroups(
          grouping((v) => v, plus, expectedGroups),
          records as Pair[],
          (c, vs) => expect(Object.is(c, vs.slice(1).reduce(plus, vs[0]))).toBe(true),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('holds many string keys through the string table growing, then moves them out in order when a number key comes', () => {
    const g = grouping(
      (v) => v,
      (c, v) => (c as number) + (v as number),
    );
    // Short and long words alternate, so that leaving the StringTable fills both the KeyTable and the Map.
    const word = (i: number): string => (i % 2 === 0 ? `w${i}` : `a longer word number ${i}`);
    for (let r = 0; r < 3; r++) for (let i = 0; i < 50_000; i++) g.add([word(i), 1]);
    g.add([7, 5]);
    g.add([word(3), 1]);
    g.add(['new', 2]);
    const groups = g.groups();
    expect(groups.length).toBe(50_002);
    expect(groups.slice(0, 50_000).every(([k, n], i) => k === word(i) && n === (i === 3 ? 4 : 3))).toBe(true);
    expect(groups.slice(50_000)).toEqual([
      [7, 5],
      ['new', 2],
    ]);
  });
});

describe("grouping's records given as key and value (addKV: a map step's pairs, as k-means' map hands them on)", () => {
  // k-means' values: a point, a count and a distance; its merge makes new arrays (a cached point must not change).
  const point = fc.array(fc.double({ noNaN: true, min: -10, max: 10 }), { minLength: 3, maxLength: 3 });
  const kmValue = fc.tuple(point, fc.constant(1), fc.double({ noNaN: true, min: 0, max: 10 }));
  type Sums = [number[], number, number];
  const sums = (a: unknown, b: unknown): unknown => {
    const [s1, n1, d1] = a as Sums;
    const [s2, n2, d2] = b as Sums;
    const s = s1.slice();
    for (let j = 0; j < s.length; j++) s[j]! += s2[j]!;
    return [s, n1 + n2, d1 + d2];
  };
  const identity = (v: unknown): unknown => v;

  it('groups like add of the same records, and like the definition: cluster numbers, then int32 keys of every spread and keys of every kind', () => {
    const clusters = fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), kmValue), { maxLength: 60 });
    const later = fc.array(fc.tuple(fc.oneof(int32, int32, nearInt, key), kmValue), { maxLength: 40 });
    fc.assert(
      fc.property(clusters, later, fc.boolean(), (a, b, firstAsPair) => {
        // Frozen points: a grouping (or a merge) that changed one would throw.
        const records = [...a, ...b].map(([k, [p, n, d]]) => [k, [Object.freeze(p), n, d]]) as Pair[];
        const byKV = grouping(identity, sums);
        const byPair = grouping(identity, sums);
        records.forEach(([k, v], i) => {
          // The first record may come as a pair (it chooses the grouping's way) and the rest as key and value.
          if (i === 0 && firstAsPair) byKV.add([k, v]);
          else byKV.addKV(k, v);
          byPair.add([k, v]);
        });
        const got = byKV.groups();
        expect(got).toEqual(byPair.groups());
        const expected = reference(records);
        expect(got.length).toBe(expected.length);
        got.forEach(([k, c], i) => {
          if (isIntRow(expected[i]![0])) expect(k).toEqual(expected[i]![0]);
          else expect(Object.is(k, expected[i]![0])).toBe(true);
          expect(c).toEqual(expected[i]![1].reduce((acc, v) => sums(acc, v)));
        });
      }),
      { numRuns: 50 },
    );
  });
});

describe('grouping with number combiners (int32 keys and combiners in typed arrays while they last)', () => {
  /**
   * The definition of a fold by key: createCombiner once per key, merge once per later record, in arrival order,
   * groups in first-seen order with the first-seen key object.
   */
  function foldReference(records: readonly Pair[], first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): Pair[] {
    const groups: Pair[] = [];
    for (const [k, v] of records) {
      const g = groups.find(([gk]) => keysEqual(gk, k));
      if (g === undefined) groups.push([k, first(v)]);
      else g[1] = merge(g[1], v);
    }
    return groups;
  }

  // Values that keep a sum a number, and a few that make createCombiner or merge return something else (a
  // string, an array, undefined) at a random moment: the table must hand over to the general one without
  // losing, repeating or reordering a group, and without calling either function twice for one record.
  const value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: false }), fc.constantFrom(-0, 'text', [1], undefined));
  const numberKeys = fc.array(fc.tuple(int32, value), { maxLength: 60 });
  const anyKeys = fc.array(fc.tuple(fc.oneof(int32, int32, key), value), { maxLength: 60 });

  it('folds like the definition, over number keys then keys of every kind, and calls each function once per record', () => {
    fc.assert(
      fc.property(numberKeys, anyKeys, (a, b) => {
        const records = [...a, ...b] as Pair[];
        const calls = { first: 0, merge: 0 };
        const first = (v: unknown): unknown => {
          calls.first++;
          return typeof v === 'number' ? v * 2 : [v];
        };
        const merge = (c: unknown, v: unknown): unknown => {
          calls.merge++;
          return typeof c === 'number' && typeof v === 'number' ? c + v : `${String(c)}|${String(v)}`;
        };
        const g = grouping(first, merge);
        for (const kv of records) g.add(kv);
        const got = g.groups();
        const streamed: Pair[] = [];
        g.each((kv) => streamed.push(kv));
        expect(streamed).toEqual(got);
        const expected = foldReference(records, first, merge);
        expect(calls).toEqual({ first: 2 * expected.length, merge: 2 * (records.length - expected.length) });
        expect(got.length).toBe(expected.length);
        got.forEach(([k, c], i) => {
          if (isIntRow(expected[i]![0])) expect(k).toEqual(expected[i]![0]);
          else expect(Object.is(k, expected[i]![0])).toBe(true);
          // Object.is: -0 and NaN combiners come back as they were made.
          if (typeof c === 'number') expect(Object.is(c, expected[i]![1])).toBe(true);
          else expect(c).toEqual(expected[i]![1]);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('sums 100k int32 keys exactly, keys of any spread, through the table growing', () => {
    for (const stride of [1, 1 << 14, -7]) {
      const g = grouping(
        (v) => v,
        (c, v) => (c as number) + (v as number),
      );
      for (let r = 0; r < 3; r++) for (let i = 0; i < 100_000; i++) g.add([i * stride, 0.25 * r]);
      const groups = g.groups();
      expect(groups.length).toBe(100_000);
      expect(groups.every(([k, n], i) => k === i * stride && n === 0.75)).toBe(true);
    }
  });
});
