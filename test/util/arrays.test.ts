import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatArrays } from '../../src/util/arrays.js';

describe('concatArrays', () => {
  it('gives the items of the parts in order, as flat() does for parts without holes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.anything(), { maxLength: 8 }), { maxLength: 30 }), (parts) => {
        const joined = concatArrays(parts);
        expect(joined).toEqual(parts.flat());
        expect(joined.length).toBe(parts.reduce((n, p) => n + p.length, 0));
        // Items are the same values (objects not copied), and the result is a new array.
        parts.flat().forEach((x, i) => expect(Object.is(joined[i], x)).toBe(true));
        if (parts.length > 0) expect(joined).not.toBe(parts[0]);
      }),
    );
  });

  it('does not flatten items that are arrays, and joins more parts than one call takes', () => {
    expect(concatArrays<unknown>([[1, 2], [], [[3]]])).toEqual([1, 2, [3]]);
    const parts = Array.from({ length: 10_000 }, (_, i): unknown[] => (i % 3 === 0 ? [] : [i, [i]]));
    expect(concatArrays(parts)).toEqual(parts.flat());
  });
});
