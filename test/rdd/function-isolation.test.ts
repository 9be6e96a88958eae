/**
 * A worker compiles a function that captures nothing and cannot reach itself once, and hands every stage that
 * object (ShippedFunction.shared). Specified here on a real context: results are those of a function compiled
 * for each stage, and a function that keeps state on itself (or on a captured helper) still starts each stage
 * afresh, on one worker as on two.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capture } from 'kindling';
import { useContext } from './helpers.js';

/** A function whose source text is exactly `src`, whatever the test runner does to this file. */
const fromSource = <F>(src: string): F => new Function(`return (${src}\n)`)() as F;

for (const master of ['local', 'local[2]'] as const) {
  describe(`functions across stages on ${master}`, () => {
    const sc = useContext(master);

    it('a named function that counts its calls on itself counts from 1 in every stage', async () => {
      const counted = fromSource<(x: number) => number>('function counted(x) { counted.calls = (counted.calls ?? 0) + 1; return counted.calls; }');
      for (let job = 0; job < 4; job++) {
        // One partition: its one task sees the function object the stage compiled, from its first call.
        expect(await sc().parallelize([10, 20, 30], 1).map(counted).collect()).toEqual([1, 2, 3]);
      }
    });

    it('a helper that keeps state on itself starts afresh in every stage', async () => {
      const helper = fromSource<(x: number) => number>('function helper(x) { helper.n = (helper.n ?? 0) + x; return helper.n; }');
      const f = capture({ helper }, (x: number) => helper(x));
      for (let job = 0; job < 3; job++) {
        expect(await sc().parallelize([1, 2, 3], 1).map(f).collect()).toEqual([1, 3, 6]);
      }
    });

    it('property: reduceByKey and mapValues with shared functions give what functions compiled per stage give', async () => {
      const key = fc.oneof(fc.integer({ min: -50, max: 50 }), fc.string({ maxLength: 3 }), fc.constantFrom(null, 0.5, -0));
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(key, fc.integer({ min: -1000, max: 1000 })), { maxLength: 80 }),
          fc.integer({ min: 1, max: 4 }),
          async (pairs, parts) => {
            const zero = 0;
            // The same work, once with functions that capture nothing (shared) and once with ones that capture `zero`.
            const shared = await sc()
              .parallelize(pairs, parts)
              .reduceByKey((a: number, b: number) => a + b)
              .mapValues((v: number) => v * 2 + 1)
              .collect();
            const perStage = await sc()
              .parallelize(pairs, parts)
              .reduceByKey(capture({ zero }, (a: number, b: number) => a + b + zero))
              .mapValues(capture({ zero }, (v: number) => v * 2 + 1 + zero))
              .collect();
            const order = (xs: Array<[unknown, number]>) => xs.map(([k, v]) => `${typeof k}:${String(Object.is(k, -0) ? 0 : k)}=${v}`).sort();
            expect(order(shared as Array<[unknown, number]>)).toEqual(order(perStage as Array<[unknown, number]>));
          },
        ),
        { numRuns: 15 },
      );
    });
  });
}
