/**
 * The cache's and the shuffle's size estimate (size-estimator.ts) walks user values: cached elements, combiners
 * a map-side combine keeps as samples (for reduceByKey, the user's own values: k-means' cached points). It must
 * read them without changing them, and that includes how V8 stores them: an optimized element load that has seen
 * arrays of boxed numbers (any structured clone) and arrays of unboxed doubles makes itself monomorphic by
 * converting each unboxed array it then reads to boxed numbers in place. Before the estimator read through a
 * copy, that converted the first point of each key in every map task, and from there the user's functions
 * converted the whole cache (session 6, docs/benchmarks.md).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateSize, sizeOf } from '../../src/storage/size-estimator.js';
import { v8Natives } from '../fixtures/v8-natives.js';

/** The estimate as defined before the estimator read arrays through a copy: the figures must not move. */
function referenceSizeOf(v: unknown, depth: number): number {
  switch (typeof v) {
    case 'number':
      return 8;
    case 'boolean':
      return 4;
    case 'string':
      return 12 + 2 * v.length;
    case 'bigint':
      return 16;
    case 'object': {
      if (v === null) return 4;
      if (depth > 4) return 64;
      if (ArrayBuffer.isView(v)) return 64 + v.byteLength;
      if (Array.isArray(v)) {
        const m = Math.min(v.length, 32);
        let inner = 0;
        for (let i = 0; i < m; i++) inner += referenceSizeOf(v[i], depth + 1);
        return 16 + 8 * v.length + (m > 0 ? (inner / m) * v.length : 0);
      }
      if (v instanceof Map || v instanceof Set) return 64 + 48 * v.size;
      let s = 24;
      for (const k in v as Record<string, unknown>) s += 8 + referenceSizeOf((v as Record<string, unknown>)[k], depth + 1);
      return s;
    }
    default:
      return 8;
  }
}

function referenceEstimate(values: readonly unknown[]): number {
  const n = values.length;
  if (n === 0) return 16;
  const step = Math.max(1, Math.floor(n / 64));
  let sampled = 0;
  let bytes = 0;
  for (let i = 0; i < n && sampled < 64; i += step, sampled++) bytes += referenceSizeOf(values[i], 0);
  return 16 + 8 * n + Math.ceil((bytes / sampled) * n);
}

/** Values of every kind a partition or a combiner holds, arrays with holes and of more than 32 items included. */
const value = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.double(),
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constantFrom(null, undefined, -0, NaN),
    fc.bigInt(),
    fc.array(fc.double(), { maxLength: 40 }),
    fc.sparseArray(fc.integer(), { maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 6 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('v'), { maxKeys: 4 }),
    fc.tuple(fc.array(fc.double(), { minLength: 1, maxLength: 12 }), fc.integer(), fc.double()),
    fc.array(fc.double(), { maxLength: 8 }).map((xs) => new Map(xs.map((x, i) => [i, x]))),
    fc.array(fc.double(), { maxLength: 8 }).map((xs) => Float64Array.from(xs)),
  ),
})).v;

describe('size estimator', () => {
  // First in the file: the property test below gives sizeOf feedback of so many kinds that its loads go generic
  // (megamorphic), which converts nothing; the conversion needs feedback of a few kinds, as a worker's is.
  it('leaves arrays of unboxed doubles unboxed, even once optimized after reading boxed ones', () => {
    const { hasDoubles, prepare, optimizeNext, isTurbofanned, unboxed, boxed } = v8Natives();
    expect(hasDoubles(unboxed(1))).toBe(true);
    expect(hasDoubles(boxed(1))).toBe(false); // what a clone delivers
    prepare(sizeOf);
    for (let i = 0; i < 20; i++) {
      sizeOf(boxed(i), 0);
      sizeOf([i, unboxed(i), 'a'], 0);
      sizeOf(unboxed(i), 0);
    }
    optimizeNext(sizeOf);
    sizeOf([boxed(0), unboxed(0)], 0);
    // TurboFan code (bit 6 of the status: optimized by TurboFan) read the points below.
    expect(isTurbofanned(sizeOf)).toBe(true);
    const points = Array.from({ length: 50 }, (_, i) => unboxed(i));
    for (const p of points) expect(sizeOf([p, 1, 0.5], 0)).toBe(referenceSizeOf([p, 1, 0.5], 0));
    expect(points.filter((p) => !hasDoubles(p))).toEqual([]);
  });

  it('estimates every value as the definition does', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 150 }), (values) => {
        expect(estimateSize(values)).toBe(referenceEstimate(values));
        for (const v of values) expect(sizeOf(v, 0)).toBe(referenceSizeOf(v, 0));
      }),
      { numRuns: 300 },
    );
  });

  // The external combiner counts a number combiner as 8 bytes without calling estimateSize (external-combiner.ts).
  it('estimates one number alone as 8 bytes over a one-element array', () => {
    for (const n of [0, -0, 1, -1, 0.5, NaN, Infinity, 2 ** 31, -(2 ** 53)]) expect(estimateSize([n]) - 24).toBe(8);
  });
});
