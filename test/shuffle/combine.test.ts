/**
 * The by-key grouping of every aggregating shuffle (combine.ts) keeps int32 keys in a typed-array table, short
 * strings and structural keys in a KeyTable and the other keys in a Map. Whatever mix of keys arrives, its
 * groups must be those of the plain definition: one per structurally equal key (-0 and 0 one key, NaN one key),
 * holding the first-seen key object, combined in arrival order, listed in first-seen order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keysEqual } from '../../src/core/keys.js';
import { grouping, type Pair } from '../../src/shuffle/combine.js';
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

const int32 = fc.oneof(fc.integer({ min: -40, max: 40 }), fc.constantFrom(-0, 2 ** 31 - 1, -(2 ** 31), 1 << 20, 3 << 20, 5 << 20));
const nearInt = fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 0.5, NaN, Infinity, 1e-300);
const key = fc.oneof(int32, nearInt, fc.constantFrom('a', 'b', 'a long string key'), smallKey, wideKey);

describe('grouping', () => {
  it('groups like the definition, over keys of every kind mixed in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(int32, key), fc.integer()), { maxLength: 80 }), (records) => {
        const g = grouping(
          (v) => [v],
          (c, v) => {
            (c as unknown[]).push(v);
            return c;
          },
        );
        for (const kv of records) g.add(kv as Pair);
        const got = g.groups();
        const expected = reference(records as Pair[]);
        expect(got.length).toBe(expected.length);
        got.forEach(([k, vs], i) => {
          // The very key object seen first (Object.is: -0 stays -0 if it came first).
          expect(Object.is(k, expected[i]![0]) || k === expected[i]![0]).toBe(true);
          expect(vs).toEqual(expected[i]![1]);
        });
      }),
      { numRuns: 1000 },
    );
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
});
