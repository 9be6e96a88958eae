/**
 * Spark's contract for aggregateByKey and foldByKey: the seqOp / combOp (foldByKey's op) may modify and return their
 * first argument, to avoid allocating a new accumulator per record, and the zero value is copied for each key. A
 * program written so (k-means summing vectors in place) must get what a program that allocates gets, and its
 * mutation must never reach the zero value, another key's accumulator, a record the seqOp reads (a cached one
 * included), or a stored map output that a later job reads again.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capture } from 'kindling';
import { MODES, canonical, sorted, useContext } from './helpers.js';
import { cloneZero } from '../../src/shuffle/aggregator.js';
import { v8Natives } from '../fixtures/v8-natives.js';

/** Keys of every kind a shuffle takes: small and large ints, doubles, strings, structural keys. */
const key: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 0, max: 4 }),
  fc.integer(),
  fc.constantFrom(0.5, -2.25, 1e300),
  fc.constantFrom('a', 'b', ''),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('x', 'y')),
  fc.constantFrom({ p: 1 }, { p: 2, q: 'z' }),
);
/** Multiples of 1/4: sums in any order are exact, so the results compare exactly. */
const coordinate = fc.integer({ min: -400, max: 400 }).map((n) => n / 4);

type Acc = [sum: number[], count: number];

/** Per key (canonical), the vector sum and count of the records, computed without any mutation. */
function reference(records: ReadonlyArray<readonly [unknown, number[]]>, dims: number): Array<[unknown, Acc]> {
  const m = new Map<string, [unknown, Acc]>();
  for (const [k, v] of records) {
    const id = canonical(k);
    const g = m.get(id) ?? [k, [new Array<number>(dims).fill(0), 0]];
    m.set(id, [g[0], [g[1][0].map((s, j) => s + v[j]!), g[1][1] + 1]]);
  }
  return [...m.values()];
}

describe.each(MODES)('aggregateByKey and foldByKey with ops that change their first argument (%s)', (master) => {
  const ctx = useContext(master);

  it('equal the allocating reference, and change neither the zero, nor the records, nor stored map outputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((dims) =>
          fc.record({
            dims: fc.constant(dims),
            records: fc.array(fc.tuple(key, fc.array(coordinate, { minLength: dims, maxLength: dims })), { maxLength: 60 }),
            slices: fc.integer({ min: 1, max: 5 }),
            parts: fc.integer({ min: 1, max: 3 }),
          }),
        ),
        async ({ dims, records, slices, parts }) => {
          const sc = ctx();
          const before = structuredClone(records);
          const cached = sc.parallelize(records, slices).cache();
          const zero: Acc = [new Array<number>(dims).fill(0), 0];
          const zeroBefore = structuredClone(zero);
          const summed = cached.aggregateByKey(
            zero,
            (acc: Acc, v: number[]) => {
              const s = acc[0];
              for (let j = 0; j < s.length; j++) s[j]! += v[j]!;
              acc[1] += 1;
              return acc;
            },
            (a: Acc, b: Acc) => {
              for (let j = 0; j < a[0].length; j++) a[0][j]! += b[0][j]!;
              a[1] += b[1];
              return a;
            },
            parts,
          );
          const expected = sorted(reference(records, dims));
          expect(sorted(await summed.collect())).toEqual(expected);
          // Computed again from the stored map outputs: the reduce side's in-place merge changed none of them.
          expect(sorted(await summed.collect())).toEqual(expected);
          const folded = cached
            .mapValues((v) => v)
            .foldByKey(
              new Array<number>(dims).fill(0),
              capture({ dims }, (a: number[], b: number[]) => {
                for (let j = 0; j < dims; j++) a[j]! += b[j]!;
                return a;
              }),
              parts,
            );
          const sums = sorted(expected.map(([k, [s]]) => [k, s]));
          expect(sorted(await folded.collect())).toEqual(sums);
          expect(sorted(await folded.collect())).toEqual(sums);
          // The records the ops read (cached) and the driver's zero are as they were.
          expect(await cached.collect()).toEqual(before);
          expect(zero).toEqual(zeroBefore);
          await cached.unpersist();
        },
      ),
      { numRuns: master === 'local-cluster[2]' ? 8 : 25 },
    );
  });

  it("gives k-means' sums when the accumulator is a plain object updated in place", async () => {
    const sc = ctx();
    const points = Array.from({ length: 400 }, (_, i) => [((i * 37) % 101) / 4, ((i * 53) % 97) / 8]);
    const cached = sc.parallelize(points, 4).cache();
    type Stats = { sum: number[]; n: number };
    const stats = await cached
      .map((p): [number, number[]] => [(p[0]! > 12 ? 1 : 0) + (p[1]! > 6 ? 2 : 0), p])
      .aggregateByKey(
        { sum: [0, 0], n: 0 } as Stats,
        (acc: Stats, p: number[]) => {
          acc.sum[0]! += p[0]!;
          acc.sum[1]! += p[1]!;
          acc.n++;
          return acc;
        },
        (a: Stats, b: Stats) => {
          a.sum[0]! += b.sum[0]!;
          a.sum[1]! += b.sum[1]!;
          a.n += b.n;
          return a;
        },
        2,
      )
      .collectAsMap();
    for (let c = 0; c < 4; c++) {
      const mine = points.filter((p) => (p[0]! > 12 ? 1 : 0) + (p[1]! > 6 ? 2 : 0) === c);
      expect(stats.get(c)).toEqual({ sum: [mine.reduce((s, p) => s + p[0]!, 0), mine.reduce((s, p) => s + p[1]!, 0)], n: mine.length });
    }
    expect(await cached.collect()).toEqual(points);
  });
});

describe("each key's copy of the zero", () => {
  it('is a new value equal to the zero, its arrays of numbers unboxed so that adding into them in place allocates nothing', () => {
    const natives = v8Natives();
    // As a worker receives the zero: through a structured clone (boxed).
    const shipped = structuredClone([[0.5, 0, 0], 0, { sum: [0, 1.5] }]);
    const a = cloneZero(shipped);
    const b = cloneZero(shipped);
    expect(a).toStrictEqual(shipped);
    expect(a).not.toBe(b);
    expect(a[0]).not.toBe(b[0]);
    expect(natives.hasDoubles(a[0])).toBe(true);
    expect(natives.hasDoubles((a[2] as { sum: number[] }).sum)).toBe(true);
    expect(cloneZero(3)).toBe(3);
  });
});
