/**
 * An inner join reads its two inputs straight into columns by key index (CoGroupedRDD.pushInnerJoin) instead of
 * building the cogroup and flattening it. It must give exactly what flattening the cogroup gives, in the same
 * order, for keys of every kind (int32 and other numbers, -0, NaN, strings short and long, arrays and objects
 * compared structurally, mixed), duplicate keys on either side, and inputs that are shuffled, co-partitioned
 * (narrow) or cached as columns; and its `values()`, pushed without the key pairs, what the join's pairs hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashPartitioner, type RDD } from 'kindling';
import { MODES, useContext } from './helpers.js';

type P = [unknown, unknown];

const key = fc.oneof(
  fc.integer({ min: -3, max: 8 }),
  fc.constantFrom(-0, NaN, 0.5, 2 ** 31, 'a', 'b', 'a long string key', [1, 2], [1, 2, 3], { x: 1 }, { x: [2] }, [[1], 'a']),
);
const value = fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 3 }), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
const side = fc.array(fc.tuple(key, value), { maxLength: 40, size: 'max' });
/** Only int32 keys and number values: the shape that caches as columns. */
const numberSide = fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.double({ noNaN: true })), { maxLength: 60, size: 'max' });

describe.each(MODES)('inner join without building the cogroup (%s)', (master) => {
  const ctx = useContext(master);
  /** The definition: flattening the cogroup, as a user would write it. */
  const flattened = (a: RDD<P>, b: RDD<P>, parts?: number): Promise<unknown[]> =>
    a
      .cogroup(b, parts)
      .flatMap(([k, [vs, ws]]) => {
        const out: unknown[] = [];
        for (const v of vs) for (const w of ws) out.push([k, [v, w]]);
        return out;
      })
      .collect();

  it('gives what flattening the cogroup gives, in the same order, shuffled inputs', async () => {
    await fc.assert(
      fc.asyncProperty(side, side, fc.integer({ min: 1, max: 3 }), async (l, r, parts) => {
        const a = ctx().parallelize<P>(l, 2);
        const b = ctx().parallelize<P>(r, 3);
        const want = await flattened(a, b, parts);
        expect(await a.join(b, parts).collect()).toEqual(want);
        expect(await a.join(b, parts).values().collect()).toEqual(want.map((kv) => (kv as P)[1]));
      }),
      { numRuns: 12 },
    );
  });

  it('gives what flattening the cogroup gives when both inputs are co-partitioned and one is cached as columns', async () => {
    await fc.assert(
      fc.asyncProperty(numberSide, side, async (l, r) => {
        const hp = new HashPartitioner(2);
        const a = ctx().parallelize<P>(l, 2).partitionBy(hp).cache();
        const b = ctx()
          .parallelize<P>(
            r.map(([k, v]) => [typeof k === 'number' ? k : 1, v]),
            2,
          )
          .partitionBy(hp);
        await a.count();
        const joined = a.join(b);
        // Narrow: the two partitionBy shuffles are the only ones.
        expect(joined.toDebugString().match(/\+-/g)?.length).toBe(2);
        const want = await flattened(a, b);
        expect(await joined.collect()).toEqual(want);
        expect(await joined.values().collect()).toEqual(want.map((kv) => (kv as P)[1]));
        a.unpersist();
      }),
      { numRuns: 8 },
    );
  });

  it('gives what flattening the cogroup gives when only the left input is cached as columns and the right is read as pairs', async () => {
    // PageRank's first iteration: links (int32 keys, lists of numbers, empty partitions possible) cached as CSR
    // columns, joined with ranks computed from them and not cached; and a co-partitioned right side with keys and
    // values of every kind, uncached or cached as an array.
    const lists = fc.array(fc.tuple(fc.integer({ min: -3, max: 30 }), fc.array(fc.integer({ min: -5, max: 40 }), { maxLength: 4 })), {
      maxLength: 50,
    });
    await fc.assert(
      fc.asyncProperty(lists, side, fc.boolean(), async (l, r, cacheRight) => {
        const hp = new HashPartitioner(3);
        const links = ctx().parallelize<P>(l, 2).partitionBy(hp).cache();
        await links.count();
        const ranks = links.mapValues((urls) => (urls as number[]).length + 0.5);
        const other = ctx().parallelize<P>(r, 3).partitionBy(hp);
        if (cacheRight) other.cache();
        for (const right of [ranks, other]) {
          const joined = links.join(right);
          // Narrow: the partitionBy shuffles (links' one on both sides for ranks) are the only ones.
          expect(joined.toDebugString().match(/\+-/g)?.length).toBe(2);
          const want = await flattened(links, right);
          const got = await joined.collect();
          expect(got).toEqual(want);
          expect(got.map((kv) => Object.is((kv as P)[0], -0))).toEqual(want.map((kv) => Object.is((kv as P)[0], -0)));
          expect(await joined.values().collect()).toEqual(want.map((kv) => (kv as P)[1]));
        }
        links.unpersist();
        other.unpersist();
      }),
      { numRuns: 10 },
    );
  });

  it('gives what flattening the cogroup gives when both co-partitioned inputs are cached as columns (joined by row)', async () => {
    // Left keys all int32 (an Int32Array column: the join by row) or with one other number (a Float64Array
    // column: the join by key index); values numbers or lists of numbers on either side; right keys any number.
    const intKeys = fc.integer({ min: -3, max: 30 });
    const anyKeys = fc.oneof(intKeys, fc.constantFrom(-0, NaN, 0.5, 2 ** 31));
    const values = fc.oneof(
      fc.array(fc.double(), { minLength: 1, maxLength: 2 }).map((vs) => vs.map((v) => v as unknown)),
      fc.array(fc.integer(), { minLength: 1, maxLength: 2 }).map((vs) => vs.map((v) => [v, v + 1] as unknown)),
    );
    const columnSide = (keys: fc.Arbitrary<number>): fc.Arbitrary<P[]> =>
      fc.tuple(fc.array(keys, { minLength: 1, maxLength: 50 }), values).map(([ks, vs]) => ks.map((k, i): P => [k, vs[i % vs.length]]));
    await fc.assert(
      fc.asyncProperty(fc.oneof(columnSide(intKeys), columnSide(anyKeys)), columnSide(anyKeys), async (l, r) => {
        const hp = new HashPartitioner(2);
        const a = ctx().parallelize<P>(l, 2).partitionBy(hp).cache();
        const b = ctx().parallelize<P>(r, 3).partitionBy(hp).cache();
        await a.count();
        await b.count();
        const joined = a.join(b);
        expect(joined.toDebugString().match(/\+-/g)?.length).toBe(2);
        const got = await joined.collect();
        const want = await flattened(a, b);
        expect(got).toEqual(want);
        // toEqual takes -0 for 0: the keys must be the very numbers the cogroup gives.
        expect(got.map((kv) => Object.is((kv as P)[0], -0))).toEqual(want.map((kv) => Object.is((kv as P)[0], -0)));
        // Its values() (the join's pairs of values, no key pair built), read on through a flatMap as PageRank does.
        const values = want.map((kv) => (kv as P)[1] as P);
        expect(await joined.values().collect()).toEqual(values);
        expect(
          await joined
            .values()
            .flatMap(([v, w]) => [w, v])
            .collect(),
        ).toEqual(values.flatMap(([v, w]) => [w, v]));
        a.unpersist();
        b.unpersist();
      }),
      { numRuns: 10 },
    );
  });
});
