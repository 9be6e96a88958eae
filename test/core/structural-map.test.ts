import { describe, expect, test } from 'vitest';
import { structuralMap } from '../../src/core/structural-map.js';

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
});
