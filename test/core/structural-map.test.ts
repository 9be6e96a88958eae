import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { structuralMap } from '../../src/core/structural-map.js';
import { canonical, smallKey, twin } from './key-arbitraries.js';

describe('structuralMap', () => {
  test('finds entries by an equal new key, keeps the first-seen key object, and is a Map', () => {
    const first = [1, 'a'] as [number, string];
    const m = structuralMap<[number, string] | { a: number; b: number }, number>([[first, 1]]);
    m.set([1, 'a'], 2);
    m.set({ a: 1, b: 2 }, 3);
    expect(m).toBeInstanceOf(Map);
    expect(m.get([1, 'a'])).toBe(2);
    expect(m.get({ b: 2, a: 1 })).toBe(3);
    expect(m.has([1, 'b'])).toBe(false);
    expect(m.size).toBe(2);
    expect([...m.keys()][0]).toBe(first);
    expect([...m.entries()]).toEqual([
      [[1, 'a'], 2],
      [{ a: 1, b: 2 }, 3],
    ]);
    const seen: unknown[] = [];
    m.forEach((v, k) => seen.push([k, v]));
    expect(seen).toEqual([...m]);
    expect(m.delete([1, 'a'])).toBe(true);
    expect(m.delete([1, 'a'])).toBe(false);
    expect(m.size).toBe(1);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.has({ a: 1, b: 2 })).toBe(false);
  });

  test('compares equal to a plain Map with the same entries (deep equality sees a Map)', () => {
    const m = structuralMap<number, string>([
      [2, 'b'],
      [1, 'a'],
    ]);
    expect(m.constructor).toBe(Map);
    expect(m).toEqual(
      new Map([
        [1, 'a'],
        [2, 'b'],
      ]),
    );
    expect(m).toStrictEqual(
      new Map([
        [2, 'b'],
        [1, 'a'],
      ]),
    );
  });

  test('number keys stay numbers and differ from strings', () => {
    const m = structuralMap<number | string, string>();
    m.set(1, 'number').set('1', 'string').set(NaN, 'nan');
    expect(m.get(1)).toBe('number');
    expect(m.get('1')).toBe('string');
    expect(m.get(NaN)).toBe('nan');
    expect([...m.keys()]).toEqual([1, '1', NaN]);
    expect(typeof [...m.keys()][0]).toBe('number');
  });

  test('set, get, has and delete agree with a reference keyed by structural identity, over keys of every kind', () => {
    // Primitive keys are their own Map keys and the others go through ids: mixing both kinds, with equal copies
    // (twin) of earlier keys, checks that each key finds its own entry and no other.
    const op = fc.tuple(fc.constantFrom('set', 'get', 'has', 'delete'), smallKey, fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const m = structuralMap<unknown, number>();
        const ref = new Map<string, [unknown, number]>();
        ops.forEach(([what, key0, n], i) => {
          const key = n === 0 ? key0 : twin(key0, i);
          const id = canonical(key);
          if (what === 'set') {
            m.set(key, i);
            const cur = ref.get(id);
            if (cur === undefined) ref.set(id, [key, i]);
            else cur[1] = i;
          } else if (what === 'get') expect(m.get(key)).toBe(ref.get(id)?.[1]);
          else if (what === 'has') expect(m.has(key)).toBe(ref.has(id));
          else expect(m.delete(key)).toBe(ref.delete(id));
        });
        expect(m.size).toBe(ref.size);
        // Same entries in the same (first-set) order; the first-seen key object stands for each (Map turns -0 into 0).
        expect([...m].map(([k, v]) => [canonical(k === 0 ? 0 : k), v])).toEqual([...ref.values()].map(([k, v]) => [canonical(k === 0 ? 0 : k), v]));
      }),
      { numRuns: 1000 },
    );
  });
});
