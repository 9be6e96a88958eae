/**
 * Captured values and broadcasts reach a worker through a structured clone, which stores every number of an array
 * boxed (a pointer to a heap number). A user function reading a captured model per record (k-means' centers, LR's
 * weights) then paid a load more per number: k-means' map ran ~30 % slower on boxed centers (session 20,
 * docs/benchmarks.md). A worker unboxes them once: the function sees the same values, in packed arrays of doubles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, capture } from 'kindling';
import { v8Natives } from '../fixtures/v8-natives.js';

describe('captured values and broadcasts in a worker', () => {
  let sc: Context;
  // The flag is process-wide: worker threads started afterwards compile `%` calls too.
  v8Natives();
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it("reads captured arrays of numbers unboxed, with the driver's values, in every task", async () => {
    const centers = [
      [0.5, -1.25, 3],
      [-0, NaN, Infinity],
    ];
    const model = { layers: [{ w: [0.1, 0.2], b: [0.3] }], name: 'm' };
    const out = await sc
      .parallelize([0, 1, 2, 3], 4)
      .map(
        capture({ centers, model }, (i: number) => {
          const hasDoubles = new Function('x', 'return %HasDoubleElements(x)') as (x: unknown) => boolean;
          return {
            i,
            kinds: [hasDoubles(centers[0]), hasDoubles(centers[1]), hasDoubles(model.layers[0]!.w), hasDoubles(model.layers[0]!.b)],
            centers,
            model,
          };
        }),
      )
      .collect();
    expect(out).toHaveLength(4);
    for (const o of out) {
      expect(o.kinds).toEqual([true, true, true, true]);
      expect(o.centers).toStrictEqual(centers);
      expect(Object.is(o.centers[1]![0], -0)).toBe(true);
      expect(o.model).toStrictEqual(model);
    }
  });

  it('reads a broadcast array of numbers unboxed, equal to the driver value', async () => {
    const weights = [0.25, -0.5, 1e-300, 2 ** 53];
    const b = sc.broadcast(weights);
    const out = await sc
      .parallelize([0, 1, 2, 3], 4)
      .map(
        capture({ b }, (i: number) => {
          const hasDoubles = new Function('x', 'return %HasDoubleElements(x)') as (x: unknown) => boolean;
          return [i, hasDoubles(b.value), b.value] as const;
        }),
      )
      .collect();
    for (const [, unboxed, value] of out) {
      expect(unboxed).toBe(true);
      expect(value).toStrictEqual(weights);
    }
  });

  it('leaves what a program captures in other containers, and arrays that are not all numbers, as they are', async () => {
    const mixed = [1.5, 'a'];
    const lookup = new Map([['k', [0.5, 1.5]]]);
    const typed = new Float64Array([0.5, 2.5]);
    const out = await sc
      .parallelize([0], 1)
      .map(capture({ mixed, lookup, typed }, () => [mixed, lookup.get('k'), [...typed]]))
      .collect();
    expect(out[0]).toStrictEqual([mixed, [0.5, 1.5], [0.5, 2.5]]);
  });

  it('keeps one array one array in a task: two captured variables sharing it, a Map holding it beside a plain path', async () => {
    const shared = [0.5, 1.5];
    const other = { again: shared };
    const lookup = new Map([['k', shared]]);
    const out = await sc
      .parallelize([0, 1], 2)
      .map(
        capture({ shared, other, lookup }, (i: number) => {
          // A write through one path must show through the others, as on the driver.
          shared[0] = i + 0.25;
          return [other.again === shared, lookup.get('k') === shared, other.again[0], lookup.get('k')![0]];
        }),
      )
      .collect();
    expect(out).toEqual([
      [true, true, 0.25, 0.25],
      [true, true, 1.25, 1.25],
    ]);
  });
});
