/**
 * What a reduce task is told to read (`MapOutputTracker.reads`): only the map outputs whose bucket for its partition
 * holds records, each with the worker holding it (Spark's reducers skip zero-size blocks), so a shuffle of many map
 * tasks into many reducers neither sends each task every location nor asks any worker for an empty bucket. A status
 * that gives no sizes is read by every reducer.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MapOutputTracker } from '../../src/scheduler/map-output-tracker.js';
import { sparseBuckets } from '../../src/shuffle/sparse-buckets.js';

describe('MapOutputTracker.reads', () => {
  it('lists the map outputs with records for the reducer, in map order, with the worker holding each', () => {
    const t = new MapOutputTracker();
    t.registerShuffle(4, 3);
    t.registerOutput(4, 0, 1, 0, { sizes: [2, 0, 0] });
    t.registerOutput(4, 1, 0, 0, { sizes: [0, 0, 5] });
    t.registerOutput(4, 2, 1, 0, { sizes: [1, 0, 3] });
    expect(t.reads(4, 0)).toEqual({ shuffleId: 4, reduceId: 0, mapIds: [0, 2], locations: [1, 1] });
    expect(t.reads(4, 1)).toEqual({ shuffleId: 4, reduceId: 1, mapIds: [], locations: [] });
    expect(t.reads(4, 2)).toEqual({ shuffleId: 4, reduceId: 2, mapIds: [1, 2], locations: [0, 1] });
  });

  it('a status without sizes is read by every reducer; an output written again is read as its new sizes say', () => {
    const t = new MapOutputTracker();
    t.registerShuffle(1, 2);
    t.registerOutput(1, 0, 0, 0, { sizes: [] });
    t.registerOutput(1, 1, 1, 0, { sizes: [0, 1] });
    expect(t.reads(1, 0).mapIds).toEqual([0]);
    expect(t.reads(1, 1).mapIds).toEqual([0, 1]);
    // Recomputed on another worker (a lost output), now with records for reducer 0.
    t.unregisterOutput(1, 1, 1);
    expect(() => t.reads(1, 0)).toThrow(/map output 1 of shuffle 1 is missing/);
    t.registerOutput(1, 1, 0, 1, { sizes: [3, 0] });
    expect(t.reads(1, 0)).toEqual({ shuffleId: 1, reduceId: 0, mapIds: [0, 1], locations: [0, 0] });
    expect(t.reads(1, 1).mapIds).toEqual([0]);
  });

  it('for any sizes, each reducer reads exactly the outputs with records for it (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((reducers) =>
          fc.array(fc.tuple(fc.nat(3), fc.array(fc.oneof(fc.constant(0), fc.nat(5)), { minLength: reducers, maxLength: reducers })), {
            minLength: 1,
            maxLength: 30,
          }),
        ),
        (maps) => {
          const t = new MapOutputTracker();
          t.registerShuffle(0, maps.length);
          maps.forEach(([w, sizes], m) => t.registerOutput(0, m, w, 0, { sizes }));
          for (let r = 0; r < maps[0]![1].length; r++) {
            const expected = maps.flatMap(([w, sizes], m) => (sizes[r]! > 0 ? [[m, w]] : []));
            const read = t.reads(0, r);
            expect(read.mapIds!.map((m, i) => [m, read.locations[i]])).toEqual(expected);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reads sparse sizes (the reducers written to) as their dense form, across losses and outputs written again (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((reducers) =>
          fc.array(
            fc.tuple(
              fc.nat(3),
              fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.nat(5)), { minLength: reducers, maxLength: reducers }),
              fc.boolean(),
            ),
            {
              minLength: 1,
              maxLength: 30,
            },
          ),
        ),
        fc.nat(),
        (maps, lose) => {
          const t = new MapOutputTracker();
          t.registerShuffle(0, maps.length);
          const register = (): void =>
            maps.forEach(([w, sizes, sparse], m) => t.registerOutput(0, m, w, 0, { sizes: sparse ? sparseBuckets(sizes, (n) => n === 0) : sizes }));
          register();
          const check = (): void => {
            for (let r = 0; r < maps[0]![1].length; r++) {
              const expected = maps.flatMap(([w, sizes], m) => (sizes[r]! > 0 ? [[m, w]] : []));
              const read = t.reads(0, r);
              expect(read.mapIds!.map((m, i) => [m, read.locations[i]])).toEqual(expected);
            }
          };
          check();
          // A lost worker's outputs are missing until written again: reads then see the new ones.
          t.removeWorker(lose % 4, 'lost');
          if (maps.some(([w]) => w === lose % 4)) expect(() => t.reads(0, 0)).toThrow(/missing/);
          register();
          check();
        },
      ),
      { numRuns: 50 },
    );
  });
});
