/**
 * The pairing rule of RDD authors (see `RDD.compute`): pulling a partition (`compute`, what zip and cartesian
 * use) and pushing it (`pushCompute`, what the shuffle writer and most actions use) give the same elements in
 * the same order, for chains of every element-wise operation, on random data.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MappedRDD, RangeRDD, MapPartitionsRDD, type RDD } from '../../src/rdd/index.js';
import { WORKER_RDD_CONTEXT } from '../../src/rdd/rdd-context.js';
import type { ElementOp } from '../../src/rdd/mapped-rdd.js';
import { stubTaskContext } from '../fixtures/task-context.js';

const tc = stubTaskContext();

/** Worker-side RDDs take their ids from the driver's description; here, from a counter. */
let nextId = 1;
const id = () => ({ id: nextId++, label: 'step' });
const element = (p: RDD<unknown>, op: ElementOp, fn: Function | undefined) => new MappedRDD(p, op, fn, id());

/** Element-wise steps over numbers, as a worker rebuilds them (compiled functions). */
const STEPS: Array<(parent: RDD<unknown>) => RDD<unknown>> = [
  (p) => element(p, 'map', (x: number) => x * 3 - 1),
  (p) => element(p, 'filter', (x: number) => x % 2 === 0),
  (p) => element(p, 'flatMap', (x: number) => [x, -x]),
  (p) => element(p, 'keyBy', (x: number) => x % 5),
  (p) =>
    element(
      element(p, 'keyBy', (x: number) => x % 3),
      'mapValues',
      (v: number) => v + 1,
    ),
  (p) =>
    element(
      element(p, 'keyBy', (x: number) => x % 3),
      'values',
      undefined,
    ),
  (p) => new MapPartitionsRDD(p, { mode: 'glom', op: 'glom' }, id()),
];

describe('compute and pushCompute agree', () => {
  it('for random chains of element-wise steps over random ranges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 200 }),
        fc.array(fc.integer({ min: 0, max: STEPS.length - 1 }), { maxLength: 5 }),
        (start, count, chain) => {
          let rdd: RDD<unknown> = new RangeRDD(WORKER_RDD_CONTEXT, { start, step: 1, count, numSlices: 1 }, { id: 0, label: 'range' });
          for (const i of chain) rdd = STEPS[i]!(rdd);
          const pulled = [...rdd.iterator(0, tc)];
          const pushed: unknown[] = [];
          rdd.forEach(0, tc, (x) => pushed.push(x));
          expect(pushed).toEqual(pulled);
        },
      ),
      { numRuns: 200 },
    );
  });
});
