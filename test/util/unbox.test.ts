/**
 * unboxDeep rebuilds the arrays of numbers of a value a structured clone delivered (a captured value, a broadcast)
 * as packed unboxed arrays. It must give a value equal to the clone in every respect a program can see (items,
 * -0, NaN, holes, named properties, prototypes, sharing), and change nothing it is not allowed to rebuild.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unboxDeep } from '../../src/util/unbox.js';
import { v8Natives } from '../fixtures/v8-natives.js';

const natives = v8Natives();

/** Numbers of every kind an array of numbers may hold. */
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, 2 ** 31 - 1, -(2 ** 31), 2 ** 53));

class Point {
  constructor(readonly xs: number[]) {}
}

/** Values as programs capture them: models of nested arrays and objects, with things unboxDeep must leave alone. */
const value = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    number,
    fc.string(),
    fc.constant(null),
    fc.array(number, { maxLength: 12 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('v'), { maxKeys: 4 }),
    fc.array(number, { minLength: 1, maxLength: 6 }).map((xs) => {
      const holey = [...xs];
      delete holey[0];
      return holey;
    }),
    fc.array(number, { minLength: 1, maxLength: 6 }).map((xs) => Object.assign([...xs], { tag: 'named' })),
    fc.array(number, { maxLength: 6 }).map((xs) => new Float64Array(xs)),
    fc.array(number, { maxLength: 6 }).map((xs) => new Map([['xs', xs]])),
    fc.array(number, { maxLength: 6 }).map((xs) => new Point(xs)),
  ),
}));

/** Every plain array of numbers (no hole, no named property) reachable through arrays and plain objects. */
function plainNumberArrays(v: unknown, depth = 0, out: number[][] = []): number[][] {
  if (typeof v !== 'object' || v === null || depth > 6) return out;
  if (Array.isArray(v)) {
    const plain = v.length > 0 && Object.keys(v).length === v.length && v.every((x) => typeof x === 'number');
    if (plain) out.push(v as number[]);
    else for (const x of v) plainNumberArrays(x, depth + 1, out);
  } else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) plainNumberArrays(x, depth + 1, out);
  return out;
}

describe('unboxDeep', () => {
  it('gives a value equal to the clone, with its plain arrays of fractions unboxed', () => {
    fc.assert(
      fc.property(value.v, (v) => {
        const asCloned = structuredClone(v);
        const u = unboxDeep(structuredClone(v));
        expect(u).toStrictEqual(asCloned);
        for (const xs of plainNumberArrays(u)) {
          if (xs.some((x) => !Number.isInteger(x) || Object.is(x, -0))) expect(natives.hasDoubles(xs)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("unboxes k-means' centers and LR's weights, at the top and inside plain objects", () => {
    const centers = unboxDeep(structuredClone([natives.unboxed(0), natives.unboxed(1)])) as number[][];
    expect(centers.map((c) => natives.hasDoubles(c))).toEqual([true, true]);
    const weights = unboxDeep(natives.boxed(3)) as number[];
    expect(natives.hasDoubles(weights)).toBe(true);
    expect(weights).toEqual(natives.unboxed(3));
    const model = unboxDeep(structuredClone({ layers: [{ w: [natives.unboxed(0)], b: natives.unboxed(1) }] })) as {
      layers: Array<{ w: number[][]; b: number[] }>;
    };
    expect(natives.hasDoubles(model.layers[0]!.w[0])).toBe(true);
    expect(natives.hasDoubles(model.layers[0]!.b)).toBe(true);
  });

  it('keeps arrays shared within the value shared, and leaves other objects and what they hold as they are', () => {
    const shared = natives.unboxed(2);
    const cloned = structuredClone({ a: shared, b: [shared, shared] });
    const u = unboxDeep(cloned) as { a: number[]; b: number[][] };
    expect(u.a).toBe(u.b[0]);
    expect(u.b[0]).toBe(u.b[1]);
    expect(natives.hasDoubles(u.a)).toBe(true);

    const inMap = natives.boxed(1);
    const typed = new Float64Array([0.5]);
    const holder = { m: new Map([['xs', inMap]]), typed, point: new Point(inMap) };
    const v = unboxDeep(holder) as typeof holder;
    expect(v.m.get('xs')).toBe(inMap);
    expect(v.typed).toBe(typed);
    expect(v.point.xs).toBe(inMap);
    expect(natives.hasDoubles(inMap)).toBe(false);
  });

  it('returns primitives and an array of numbers itself as they are or as one copy', () => {
    expect(unboxDeep(3)).toBe(3);
    expect(unboxDeep('a')).toBe('a');
    expect(unboxDeep(null)).toBe(null);
    const top = unboxDeep(natives.boxed(0)) as number[];
    expect(natives.hasDoubles(top)).toBe(true);
  });

  it('stops at its depth: arrays deeper than six levels of containers stay as delivered', () => {
    let deep: unknown = natives.boxed(0);
    for (let i = 0; i < 10; i++) deep = [deep];
    const u = unboxDeep(deep);
    let inner: unknown = u;
    for (let i = 0; i < 10; i++) inner = (inner as unknown[])[0];
    expect(inner).toEqual(natives.unboxed(0));
    expect(natives.hasDoubles(inner)).toBe(false);
  });

  it('keeps one array one array whichever paths reach it, through plain containers, Maps and Sets (property)', () => {
    type How = 'plain' | 'nested' | 'map' | 'mapKey' | 'set' | 'inMapObject';
    const hows: How[] = ['plain', 'nested', 'map', 'mapKey', 'set', 'inMapObject'];
    const place = (a: number[], how: How): unknown => {
      switch (how) {
        case 'plain':
          return a;
        case 'nested':
          return { x: [a] };
        case 'map':
          return new Map([['k', a]]);
        case 'mapKey':
          return new Map([[a, 1]]);
        case 'set':
          return new Set([a]);
        case 'inMapObject':
          return new Map([['k', { deep: [a] }]]);
      }
    };
    const reach = (v: unknown, how: How): unknown => {
      switch (how) {
        case 'plain':
          return v;
        case 'nested':
          return (v as { x: unknown[] }).x[0];
        case 'map':
          return (v as Map<string, unknown>).get('k');
        case 'mapKey':
          return [...(v as Map<unknown, number>).keys()][0];
        case 'set':
          return [...(v as Set<unknown>)][0];
        case 'inMapObject':
          return (v as Map<string, { deep: unknown[] }>).get('k')!.deep[0];
      }
    };
    fc.assert(
      fc.property(
        fc.array(fc.array(number, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...hows)), { minLength: 1, maxLength: 8 }),
        (pool, refs) => {
          const placed = refs.map(([i, how]) => [i % pool.length, how] as const);
          const value = { refs: placed.map(([i, how]) => place(pool[i]!, how)) };
          const asCloned = structuredClone(value);
          const u = unboxDeep(structuredClone(value)) as typeof value;
          expect(u).toStrictEqual(asCloned);
          const first = new Map<number, unknown>();
          placed.forEach(([i, how], r) => {
            const a = reach(u.refs[r], how);
            if (!first.has(i)) first.set(i, a);
            expect(a).toBe(first.get(i));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives one copy of an array across calls that share a copies table', () => {
    const copies = new WeakMap<unknown[], number[]>();
    const delivered = natives.boxed(1);
    const a = unboxDeep(delivered, copies);
    const b = unboxDeep({ again: delivered }, copies) as { again: unknown };
    expect(natives.hasDoubles(a)).toBe(true);
    expect(b.again).toBe(a);
  });
});
