/**
 * findClassInstance (closure/clonable.ts) looks into every record of a shuffle, every element of a partition
 * persisted to disk and every task result (take, collect) for class instances the structured clone would strip.
 * It must find the same instance at the same path as a plain walk does, and it must leave the arrays it reads as
 * V8 stored them: an optimized element load that has seen arrays of boxed numbers (any structured clone) and of
 * unboxed doubles converts each unboxed array it then reads to boxed numbers in place, and a converted cached
 * point makes the user's own functions convert the rest of the cache (session 6, docs/benchmarks.md).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findClassInstance } from '../../src/closure/clonable.js';
import { v8Natives } from '../fixtures/v8-natives.js';
import { Point } from '../fixtures/point.js';

/** The walk as written before it skipped arrays without objects through a builtin. */
function reference(x: unknown, levels: number): { path: string; className: string } | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  if (x instanceof Point) return { path: '', className: 'Point' };
  if (levels === 0) return undefined;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const found = reference(x[i], levels - 1);
      if (found !== undefined) return { ...found, path: `[${i}]${found.path}` };
    }
    return undefined;
  }
  for (const key in x) {
    if (!Object.hasOwn(x, key)) continue;
    const found = reference((x as Record<string, unknown>)[key], levels - 1);
    if (found !== undefined) return { ...found, path: `.${key}${found.path}` };
  }
  return undefined;
}

const leaf = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 3 }),
  fc.constantFrom(null, undefined, -0, NaN, true),
  fc.tuple(fc.double(), fc.double()).map(([x, y]) => new Point(x, y)),
  fc.array(fc.double(), { maxLength: 5 }),
);
const value = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('v'), { maxLength: 5 }),
    fc.sparseArray(tie('v'), { maxLength: 6 }),
    fc.dictionary(fc.string({ maxLength: 2 }), tie('v'), { maxKeys: 3 }),
  ),
})).v;

describe('findClassInstance', () => {
  // First in the file: the property test below gives the walk feedback of so many kinds that its loads go
  // generic (megamorphic), which converts nothing; the conversion needs feedback of a few kinds, as a worker's is.
  it('leaves arrays of unboxed doubles unboxed, even once optimized after reading boxed ones', () => {
    const { hasDoubles, prepare, optimizeNext, isTurbofanned, unboxed, boxed } = v8Natives();
    expect(hasDoubles(boxed(1))).toBe(false); // what a clone delivers
    prepare(findClassInstance);
    for (let i = 0; i < 20; i++) {
      findClassInstance([boxed(i), [i, 'a']], 2);
      findClassInstance([unboxed(i)], 2);
      findClassInstance([[1, { a: 1 }]], 2);
    }
    optimizeNext(findClassInstance);
    findClassInstance([boxed(0), unboxed(0)], 2);
    // TurboFan code (bit 6 of the status) read the points below: a take(5) of cached points, a partition on disk.
    expect(isTurbofanned(findClassInstance)).toBe(true);
    const points = Array.from({ length: 50 }, (_, i) => unboxed(i));
    for (let i = 0; i < 10; i++) expect(findClassInstance(points.slice(i * 5, i * 5 + 5), 2)).toBeUndefined();
    for (const p of points) expect(findClassInstance(p, 1)).toBeUndefined();
    expect(points.filter((p) => !hasDoubles(p))).toEqual([]);
  });

  it('finds the instance a plain walk finds, at the same path, at every depth', () => {
    let found = 0;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 3 }), (v, levels) => {
        const expected = reference(v, levels);
        const got = findClassInstance(v, levels);
        expect(got === undefined ? undefined : { path: got.path, className: got.className }).toEqual(expected);
        if (expected !== undefined) found++;
      }),
      { numRuns: 1000 },
    );
    expect(found).toBeGreaterThan(100);
  });
});
