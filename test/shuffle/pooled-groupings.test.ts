/**
 * Groupings take their number table's large arrays from the thread's pool (util/scratch-arrays.ts) and give them
 * back when released, when the groups move to the IntTable (another kind of key or combiner) and as the table
 * grows. With every array pooled, groupings of every key kind living side by side and released at any point must
 * hold exactly the groups, in the same order, that a fold by the engine's key equality gives, pooled or not: a
 * table still using an array it gave back, or two tables handed the same one, would change them.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { keysEqual } from '../../src/core/keys.js';
import { grouping, type Grouping, type Pair } from '../../src/shuffle/combine.js';
import { MIN_POOLED_BYTES, setMinPooledBytes } from '../../src/util/scratch-arrays.js';

afterEach(() => setMinPooledBytes(MIN_POOLED_BYTES));

/** Deep equality that tells -0 from 0 and NaN from nothing. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

const int = fc.integer({ min: -300, max: 300 });
/** Runs of one key kind (rows of widths 1 to 3, int32 numbers, wide ints), with an odd other key now and then. */
const keyRun = fc.oneof(
  fc.integer({ min: 1, max: 3 }).chain((w) => fc.array(fc.array(int, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 200, size: 'max' })),
  fc.array(int, { minLength: 1, maxLength: 300, size: 'max' }),
  fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 100, size: 'max' }),
  fc.array(fc.constantFrom<unknown>('a', 0.5, -0, [1, 2, 3, 4, 5], null), { minLength: 1, maxLength: 2 }),
);
const value = fc.oneof(fc.integer({ min: -9, max: 9 }), fc.constant(null), fc.double({ noNaN: true }));
const step = fc.oneof(
  fc.record({ into: fc.nat(2), keys: keyRun, values: fc.array(value, { minLength: 1, maxLength: 5 }) }),
  fc.record({ release: fc.nat(2) }),
);

describe('groupings with every array pooled', () => {
  it('hold the groups unpooled groupings hold, side by side and released at any point (property)', () => {
    const sum = (a: unknown, b: unknown): unknown => (typeof a === 'number' && typeof b === 'number' ? a + b : [a, b]);
    fc.assert(
      fc.property(fc.array(step, { maxLength: 10 }), (steps) => {
        const run = (minBytes: number): unknown[] => {
          setMinPooledBytes(minBytes);
          const gs: Array<Grouping | undefined> = [];
          const read: unknown[] = [];
          const done = (i: number): void => {
            const g = gs[i];
            if (g === undefined) return;
            read.push([i, g.groups().map(([k, c]): Pair => [k, c])]);
            g.release();
            gs[i] = undefined;
          };
          for (const s of steps) {
            if ('release' in s) {
              done(s.release);
              continue;
            }
            const g = (gs[s.into] ??= grouping((v) => v, sum));
            s.keys.forEach((k, i) => g.add([k, s.values[i % s.values.length]]));
          }
          for (let i = 0; i < 3; i++) done(i);
          return read;
        };
        // The definition: each grouping's records folded by key (the engine's equality), keys in first-seen order.
        const reference: Array<Pair[] | undefined> = [];
        const expected: unknown[] = [];
        const finish = (i: number): void => {
          if (reference[i] !== undefined) expected.push([i, reference[i]]);
          reference[i] = undefined;
        };
        for (const s of steps) {
          if ('release' in s) {
            finish(s.release);
            continue;
          }
          const groups = (reference[s.into] ??= []);
          s.keys.forEach((k, i) => {
            const v = s.values[i % s.values.length];
            const g = groups.find(([gk]) => keysEqual(gk, k));
            if (g === undefined) groups.push([k, v]);
            else g[1] = sum(g[1], v);
          });
        }
        for (let i = 0; i < 3; i++) finish(i);
        const pooled = run(1);
        expect(same(pooled, expected)).toBe(true);
        expect(same(run(Number.POSITIVE_INFINITY), expected)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
