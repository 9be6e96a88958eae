import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { arrayOfLength, concatArrays } from '../../src/util/arrays.js';

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

describe('arrayOfLength', () => {
  it('is new Array(n): n holes, in holey fast elements', () => {
    for (const n of [0, 1, 7, 20_000]) {
      const a = arrayOfLength<number>(n);
      const b = new Array<number>(n);
      expect(a.length).toBe(n);
      expect(Object.keys(a)).toEqual([]);
      expect(a).toEqual(b);
      if (n > 0) {
        a[n - 1] = 3;
        expect(a[n - 1]).toBe(3);
        expect(0 in a).toBe(n === 1);
      }
    }
  });

  it("leaves V8's ArrayConstructor protector intact where a first-call new Array(n) of 50k breaks it", () => {
    // A fresh process, so that nothing before it broke the protector; the same first call with new Array(n) must
    // report the invalidation, or the check would prove nothing.
    const url = new URL('../../src/util/arrays.ts', import.meta.url).href;
    const run = (body: string): string =>
      execFileSync(process.execPath, ['--import', 'tsx', '--trace-protector-invalidation', '--input-type=module', '-e', body], {
        encoding: 'utf8',
      });
    expect(run(`const { arrayOfLength } = await import(${JSON.stringify(url)}); arrayOfLength(50000)[1] = 1;`)).not.toContain('ArrayConstructor');
    expect(run('function f(n) { return new Array(n); } f(50000)[1] = 1;')).toContain('ArrayConstructor');
  });
});
